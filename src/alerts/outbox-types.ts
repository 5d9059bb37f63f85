/**
 * The RPC contract of `AlertOutbox`: argument schemas (validated inside the object, a trust boundary)
 * and result types.
 */
import { z } from 'zod'
import { TenantId } from '../tenant/config'
import { AlertInput } from './events'

/** Queue one alert for every webhook of the tenant that subscribes to its type. */
export const EnqueueInput = z.object({ tenant: TenantId, alert: AlertInput }).strict()
export type EnqueueInput = z.infer<typeof EnqueueInput>

/** `eventId` is null when no webhook subscribes (nothing was queued). */
export interface EnqueueResult {
  eventId: string | null
  /** Deliveries created, or merged into a pending summary. */
  deliveries: number
}

export const ListInput = z
  .object({
    tenant: TenantId,
    limit: z.number().int().min(1).max(500),
    status: z.enum(['pending', 'delivered', 'failed', 'cancelled']).optional(),
  })
  .strict()
export type ListInput = z.infer<typeof ListInput>
