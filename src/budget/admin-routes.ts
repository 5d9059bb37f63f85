/**
 * `GET /admin/v1/tenants/:id/usage`: tokens and requests used, reserved and remaining per limited window
 * (tenant-wide, per tool, and per client that has used anything in a current window), read from the
 * tenant's `TenantBudget` object. The operator token, or an admin key of the same tenant.
 *
 * `used` counts leases that expired before their isolate reported back in full (`provisional` says how
 * much of it is such an upper bound); `reserved` is what open leases may still spend or give back.
 */
import { Hono } from 'hono'
import { TenantId } from '../tenant/config'
import { adminAuth, forbidden, mayAccessTenant } from '../tenant/admin-auth'
import type { AdminEnv } from '../tenant/admin-auth'
import { answerFailures, answerUnrouted, authorityRecord } from '../tenant/admin-http'

const USAGE_PATH = /^\/admin\/v1\/tenants\/[^/]+\/usage$/

/** True for the paths these routes serve. */
export function isUsagePath(pathname: string): boolean {
  return USAGE_PATH.test(pathname)
}

/** The usage route, behind admin authentication. */
export function usageRoutes(): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>().basePath('/admin/v1')
  app.use('*', adminAuth())
  answerUnrouted(app)
  answerFailures(app)
  app.get('/tenants/:id/usage', async (c) => {
    if (!mayAccessTenant(c.var.actor, c.req.param('id'))) return forbidden(c)
    const id = TenantId.safeParse(c.req.param('id'))
    if (!id.success) return c.json({ error: 'invalid_tenant_id' }, 400)
    const record = await authorityRecord(c, id.data)
    if (!record) return c.json({ error: 'not_found' }, 404)
    const budget = record.config.budget
    if (!budget) return c.json({ tenant: id.data, unit: 'o200k tokens', at: new Date().toISOString(), budget: null, usage: [] })
    const report = await c.env.BUDGET.getByName(id.data).usage({ tenant: id.data, configVersion: record.version, config: budget })
    return c.json({ ...report, budget })
  })
  return app
}
