/**
 * The tenant configuration: what a tenant stores (through the admin API) and what the edge reads.
 * Every object is `.strict()` so a misspelt option is an error, never silently ignored.
 */
import { z } from 'zod'
import { RulesPolicy, rulesWriteIssues, writeChecks } from '../detectors/rules/policy'
import type { FieldIssue } from './issues'
import { ClassifierPolicy } from '../detectors/classifier/config'
import { AuthConfig, OriginCredential } from '../auth/config'
import { ToolsPolicy } from '../tools/policy'
import { AlertsConfig } from '../alerts/config'
import { BudgetConfig } from '../budget/config'

/** Tenant ids appear in paths and storage keys: lower-case, digits and dashes, 1–63 characters. */
export const TenantId = z.string().regex(/^[a-z0-9-]{1,63}$/, 'must match [a-z0-9-]{1,63}')
export type TenantId = z.infer<typeof TenantId>

/** A bare DNS hostname (no port, no scheme), lower-case. */
export const Hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'must be a lower-case DNS hostname')

/** A browser origin as sent in the `Origin` header: scheme://host[:port], no path. */
export const WebOrigin = z
  .string()
  .regex(/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/, 'must be scheme://host[:port] in lower case, no path')

export const OriginConfig = z
  .object({
    /** The tenant's MCP endpoint, e.g. https://mcp.vendor.example/mcp. https only in production. */
    url: z.string().url().max(2048),
    /** Whole-exchange timeout for the origin's response headers, in milliseconds. */
    timeoutMs: z.number().int().min(100).max(300_000).default(30_000),
    /** Longest silence allowed on an SSE stream from the origin before it is closed, in milliseconds. */
    idleTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(300_000),
    /** The firewall's own credential for the origin (apiKey/jwt auth modes), a stored secret's name. */
    credential: OriginCredential.optional(),
  })
  .strict()
export type OriginConfig = z.infer<typeof OriginConfig>

/** Size caps. The Worker's 128 MB is shared by every request in an isolate, so every buffer is capped. */
export const LimitsConfig = z
  .object({
    maxRequestBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(4 * 1024 * 1024),
    maxResponseBytes: z.number().int().min(1024).max(32 * 1024 * 1024).default(8 * 1024 * 1024),
    maxSseEventBytes: z.number().int().min(1024).max(32 * 1024 * 1024).default(4 * 1024 * 1024),
    maxSseLineBytes: z.number().int().min(1024).max(32 * 1024 * 1024).default(4 * 1024 * 1024),
  })
  .strict()
export type LimitsConfig = z.infer<typeof LimitsConfig>

export const UnicodeAction = z.enum(['strip', 'block', 'flag', 'off'])

export const PolicyConfig = z
  .object({
    /** Log what would happen; forward everything unchanged. */
    monitor: z.boolean().default(false),
    /** Combined injection score (0..1) at or above which a message is blocked. */
    injectionThreshold: z.number().min(0).max(1).default(0.8),
    /** Put the ids of the rules that fired into error `data` sent to clients. Off: only a request id. */
    revealRuleIds: z.boolean().default(false),
    /** Hidden Unicode (tag characters, bidi controls, zero-width runs): strip it, block, flag or ignore. */
    unicode: UnicodeAction.default('strip'),
    /** Tool integrity (src/tools): deny/allow globs per tenant and identity, pinning, schema checks, call approvals. */
    tools: ToolsPolicy.prefault({}),
    /** Rule packs (injection, secrets, PII, …): per pack and per rule actions, custom rules, allow-lists. */
    rules: RulesPolicy.prefault({}),
    /** The in-Worker injection classifier (src/detectors/classifier): threshold, action, roles, second stage. */
    classifier: ClassifierPolicy.prefault({}),
  })
  .strict()
export type PolicyConfig = z.infer<typeof PolicyConfig>

/** `PolicyConfig` as a write must pass it (`PUT …/policy`): see `TenantConfigWrite`. */
export const PolicyConfigWrite = PolicyConfig.superRefine(writeChecks<PolicyConfig>((p) => p.rules, ['rules']))

export const TenantConfig = z
  .object({
    origin: OriginConfig,
    /** Hostnames (the vendor's own domains) that route to this tenant. */
    hosts: z.array(Hostname).max(50).default([]),
    /** Browser origins allowed to call the endpoint (`Origin` header). Requests without Origin are allowed. */
    allowedOrigins: z.array(WebOrigin).max(100).default([]),
    /** Disabled tenants answer every request with -31003. */
    enabled: z.boolean().default(true),
    /** How clients authenticate (src/auth/config.ts): passthrough (default), apiKey or jwt. */
    auth: AuthConfig.prefault({ mode: 'passthrough' }),
    limits: LimitsConfig.prefault({}),
    policy: PolicyConfig.prefault({}),
    /** Signed webhooks for kill switch changes, config changes, blocks, budgets, tool changes (src/alerts). */
    alerts: AlertsConfig.prefault({}),
    /** Token and request limits (src/budget/config.ts). Absent: unmetered, at no cost. */
    budget: BudgetConfig.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Refused when written, not only when traffic finds it (503): nobody authenticates to a passthrough
    // endpoint, so the firewall's own origin credential would be lent to every caller.
    if (c.auth.mode === 'passthrough' && c.origin.credential !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['origin', 'credential'], message: 'needs client authentication (auth.mode apiKey or jwt)' })
    }
  })
export type TenantConfig = z.infer<typeof TenantConfig>
/** The shape a tenant writes (defaults not yet applied). */
export type TenantConfigInput = z.input<typeof TenantConfig>

/**
 * `TenantConfig` as a write must pass it (a save, a rollback, a dry run's proposed config): also what
 * depends on this deploy's engine (custom rules' examples, `rulesWriteIssues`). Stored configs (KV, the
 * authority's versions) are read with `TenantConfig` alone, so a deploy never makes an accepted config
 * fail its tenant's traffic closed, nor spends that check's CPU on live requests.
 */
export const TenantConfigWrite = TenantConfig.superRefine(writeChecks<TenantConfig>((c) => c.policy.rules, ['policy', 'rules']))

/**
 * `rulesWriteIssues` of a config already read, as field issues under `prefix` (where `rules` is mounted in
 * what the caller sees): what a rollback to it must not have, and what the admin API's reads report as
 * `warnings` of a stored config.
 */
export function rulesFieldIssues(rules: RulesPolicy, prefix: readonly string[]): FieldIssue[] {
  return rulesWriteIssues(rules).map((w) => ({ path: [...prefix, ...w.path].map(String).join('.'), message: w.message }))
}
