/**
 * What each alert carries. An alert is `{ type, data }` from a producer; the outbox wraps it in the
 * delivered payload `{ id, type, tenant, time, data }` (docs/webhooks.md). The schemas are the RPC
 * contract of `AlertOutbox.enqueue`, so they are validated inside the object.
 *
 * Producers own their `data` shape: add or extend a member here when a producer lands (budgets, tool
 * pinning), keeping fields additive so existing receivers keep working.
 */
import { z } from 'zod'
import { TenantId } from '../tenant/config'

const Actor = z.string().min(1).max(200)
const Count = z.number().int().min(0)

const alert = <T extends string, D extends z.ZodType>(type: T, data: D) => z.object({ type: z.literal(type), data }).strict()

/** `security.blocked`: a summary of one flushed batch of block verdicts (never one alert per message). */
export const SecurityBlockedData = z
  .object({
    /** Block verdicts in the batch (monitor-mode blocks included, see `monitor`). */
    count: Count,
    /** Of `count`, blocks that monitor mode let through. */
    monitor: Count,
    /** Blocks per rule id (a block with several rules counts for each). */
    byRule: z.record(z.string().max(200), Count),
    /** Blocks per direction. */
    byDirection: z.object({ client_to_server: Count, server_to_client: Count }).strict(),
    /** Time of the first and last event in the batch (ISO 8601). */
    from: z.string(),
    to: z.string(),
  })
  .strict()
export type SecurityBlockedData = z.infer<typeof SecurityBlockedData>

/** One alert as a producer hands it to {@link sendAlert}, per type. */
export const AlertInput = z.discriminatedUnion('type', [
  alert('tenant.killed', z.object({ by: Actor }).strict()),
  alert('tenant.restored', z.object({ by: Actor }).strict()),
  alert('tool.killed', z.object({ tool: z.string().min(1).max(200), by: Actor }).strict()),
  alert('tool.restored', z.object({ tool: z.string().min(1).max(200), by: Actor }).strict()),
  alert(
    'config.changed',
    z.object({ version: z.number().int().min(1), action: z.enum(['create', 'update', 'policy', 'rollback']), by: Actor }).strict(),
  ),
  alert('security.blocked', SecurityBlockedData),
  alert(
    'budget.threshold',
    z
      .object({
        budget: z.string().min(1).max(200),
        /** Fraction of the limit reached (e.g. 0.8). */
        threshold: z.number().min(0).max(10),
        used: z.number().min(0),
        limit: z.number().min(0),
        client: z.string().max(200).optional(),
      })
      .strict(),
  ),
  alert(
    'tools.pending',
    z.object({ tools: z.array(z.object({ name: z.string().min(1).max(200), change: z.enum(['added', 'changed', 'removed']) }).strict()).max(500) }).strict(),
  ),
  alert('alert.test', z.object({ by: Actor }).strict()),
])
export type AlertInput = z.infer<typeof AlertInput>

/** The JSON body of every webhook delivery. `id` is the event id: the same on every retry and webhook. */
export const AlertPayload = z
  .object({ id: z.string().uuid(), type: z.string(), tenant: TenantId, time: z.string(), data: z.record(z.string(), z.unknown()) })
  .strict()
export type AlertPayload = z.infer<typeof AlertPayload>

/** Merges two `security.blocked` summaries, so a burst becomes one alert per webhook per window. */
export function mergeBlocked(a: SecurityBlockedData, b: SecurityBlockedData): SecurityBlockedData {
  const byRule: Record<string, number> = { ...a.byRule }
  for (const [rule, n] of Object.entries(b.byRule)) byRule[rule] = (byRule[rule] ?? 0) + n
  return {
    count: a.count + b.count,
    monitor: a.monitor + b.monitor,
    byRule,
    byDirection: {
      client_to_server: a.byDirection.client_to_server + b.byDirection.client_to_server,
      server_to_client: a.byDirection.server_to_client + b.byDirection.server_to_client,
    },
    from: a.from < b.from ? a.from : b.from,
    to: a.to > b.to ? a.to : b.to,
  }
}
