/**
 * The producer-facing API: `sendAlert(env, tenantId, { type, data })` queues an alert in the tenant's
 * `AlertOutbox`, which signs, delivers and retries it (docs/webhooks.md). Producers call it from
 * `ctx.waitUntil`, never on the request's critical path, and it never throws.
 *
 * @example
 * c.executionCtx.waitUntil(sendAlert(c.env, tenantId, { type: 'budget.threshold',
 *   data: { budget: 'tokens/day', threshold: 0.8, used: 80_000, limit: 100_000 } }))
 */
import type { Actor } from '../tenant/keys'
import { actorLabel } from '../tenant/keys'
import type { WriteResult } from '../tenant/authority-types'
import type { AlertInput } from './events'
import { EnqueueInput } from './outbox-types'
import type { EnqueueResult } from './outbox-types'

export type { AlertInput } from './events'

/**
 * Queues an alert for every webhook of the tenant subscribed to its type. Resolves with what was
 * queued, or null when the outbox could not be reached or refused the alert (logged, never thrown).
 */
export async function sendAlert(env: Env, tenantId: string, alert: AlertInput): Promise<EnqueueResult | null> {
  // Checked here too (the object checks again), so a producer bug costs a log line, not an RPC.
  const input = EnqueueInput.safeParse({ tenant: tenantId, alert })
  if (!input.success) {
    console.error(JSON.stringify({ event: 'alert_invalid', tenant: tenantId, type: alert.type, issues: input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }))
    return null
  }
  try {
    return await env.ALERTS.getByName(tenantId).enqueue(input.data)
  } catch (err) {
    console.error(JSON.stringify({ event: 'alert_enqueue_failed', tenant: tenantId, type: alert.type, error: String(err) }))
    return null
  }
}

/** The alert for a kill switch change: the whole tenant, or one tool. */
export function killAlert(change: 'killed' | 'restored', tool: string | undefined, actor: Actor): AlertInput {
  const by = actorLabel(actor)
  if (tool) return change === 'killed' ? { type: 'tool.killed', data: { tool, by } } : { type: 'tool.restored', data: { tool, by } }
  return change === 'killed' ? { type: 'tenant.killed', data: { by } } : { type: 'tenant.restored', data: { by } }
}

/**
 * The `config.changed` alert for a committed admin write, or null for a refused one. The action comes
 * from the route (`…/policy`, `…/rollback`, else create or update), as the version history records it.
 */
export function configChangedAlert(pathname: string, result: WriteResult): AlertInput | null {
  if (!result.ok) return null
  const action = pathname.endsWith('/policy') ? 'policy' : pathname.endsWith('/rollback') ? 'rollback' : result.created ? 'create' : 'update'
  return { type: 'config.changed', data: { version: result.record.version, action, by: result.record.updatedBy } }
}
