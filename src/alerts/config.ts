/**
 * The `alerts` section of a tenant config: webhooks that receive signed alerts (docs/webhooks.md).
 *
 * ```json
 * "alerts": { "webhooks": [{ "id": "ops", "url": "https://hooks.acme.example/mcp-firewall",
 *                            "secret": "ops-webhook", "events": ["tenant.killed", "security.blocked"] }] }
 * ```
 *
 * `secret` names a tenant secret (`PUT /admin/v1/tenants/:id/secrets/<name>`), never the value; like every
 * secret reference it is operator-only. The URL obeys the origin rules (https, no private targets, not the
 * firewall itself), checked when the config is saved and again before every delivery.
 */
import { z } from 'zod'
import { SecretName } from '../tenant/secret-name'

/** Every alert type the firewall sends. Receivers should ignore types they do not know. */
export const AlertType = z.enum([
  'tenant.killed',
  'tenant.restored',
  'tool.killed',
  'tool.restored',
  'config.changed',
  'security.blocked',
  'budget.threshold',
  'tools.pending',
  'alert.test',
])
export type AlertType = z.infer<typeof AlertType>

/** What a webhook subscribes to: `["*"]` (everything) or a list of alert types. */
export const AlertSubscription = z
  .array(z.union([z.literal('*'), AlertType]))
  .min(1)
  .max(AlertType.options.length)
  .refine((events) => !events.includes('*') || events.length === 1, 'use ["*"] alone, or list alert types')
  .refine((events) => new Set(events).size === events.length, 'must not repeat an alert type')
export type AlertSubscription = z.infer<typeof AlertSubscription>

/** Webhook ids name a delivery target in `GET /admin/v1/tenants/:id/alerts`. */
export const WebhookId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must match [a-z0-9][a-z0-9_-]{0,63}')

export const WebhookConfig = z
  .object({
    id: WebhookId,
    /** Receiver URL: https only (http on loopback in local development), no private targets, never redirected. */
    url: z.string().url().max(2048),
    /** Name of the tenant secret used as the HMAC-SHA256 signing key. */
    secret: SecretName,
    events: AlertSubscription,
  })
  .strict()
export type WebhookConfig = z.infer<typeof WebhookConfig>

/** At most this many webhooks per tenant: every alert costs one delivery per subscribed webhook. */
export const MAX_WEBHOOKS = 10

export const AlertsConfig = z
  .object({
    webhooks: z
      .array(WebhookConfig)
      .max(MAX_WEBHOOKS)
      .default([])
      .superRefine((hooks, ctx) => {
        const seen = new Set<string>()
        hooks.forEach((h, i) => {
          if (seen.has(h.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate webhook id "${h.id}"` })
          seen.add(h.id)
        })
      }),
  })
  .strict()
export type AlertsConfig = z.infer<typeof AlertsConfig>

/** True when `hook` wants alerts of `type`. */
export function subscribes(hook: WebhookConfig, type: AlertType): boolean {
  return hook.events.includes('*') || hook.events.includes(type)
}
