/**
 * Alert routes (operator, or an admin key of the same tenant):
 *
 * - `GET  /admin/v1/tenants/:id/alerts[?limit=N&status=pending|delivered|failed|cancelled]` →
 *   `{ deliveries: DeliveryInfo[] }`, newest first (default 100, at most 500)
 * - `POST /admin/v1/tenants/:id/alerts/test` → 202 `{ eventId, deliveries }`: an `alert.test` to every
 *   webhook subscribed to it (or to `*`), to check a receiver end to end
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { adminAuth, tenantAccess } from '../tenant/admin-auth'
import { answerFailures, answerUnrouted, existingTenant, invalidRequest } from '../tenant/admin-http'
import { fieldIssues } from '../tenant/issues'
import type { AdminEnv } from '../tenant/admin-auth'
import { actorLabel } from '../tenant/keys'
import { sendAlert } from './send'

const ALERTS_PATH = /^\/admin\/v1\/tenants\/[^/]+\/alerts(\/test)?$/

const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    status: z.enum(['pending', 'delivered', 'failed', 'cancelled']).optional(),
  })
  .strict()

/** True for the paths these routes serve (app.ts routes them here before the tenant admin API). */
export function isAlertsPath(pathname: string): boolean {
  return ALERTS_PATH.test(pathname)
}

/** The alert routes, with their own admin authentication. */
export function alertRoutes(): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>().basePath('/admin/v1/tenants/:id')
  app.use('*', adminAuth())
  app.use('*', tenantAccess())
  app.use('*', existingTenant()) // a deleted tenant's outbox was purged with it
  answerUnrouted(app)
  answerFailures(app)

  app.get('/alerts', async (c) => {
    const query = ListQuery.safeParse(c.req.query())
    if (!query.success) {
      return invalidRequest(c, fieldIssues(query.error))
    }
    const id = c.req.param('id')
    const deliveries = await c.env.ALERTS.getByName(id).list({ tenant: id, limit: query.data.limit, ...(query.data.status ? { status: query.data.status } : {}) })
    return c.json({ deliveries })
  })

  app.post('/alerts/test', async (c) => {
    const id = c.req.param('id')
    const queued = await sendAlert(c.env, id, { type: 'alert.test', data: { by: actorLabel(c.var.actor) } })
    if (!queued) return c.json({ error: 'internal' }, 500)
    return c.json(queued, 202)
  })

  return app
}
