/**
 * Kill switch routes: `POST /admin/v1/tenants/:id/kill` ({} or {"tool":"name"}) stops the tenant or one
 * tool; `DELETE …/kill` ({}, {"tool":"name"} or `?tool=name`) restores it (a kill the operator pulled only by the operator: 403
 * `operator_kill` for a tenant key); `GET …/kill` reads the state. The state lives in the
 * tenant's TenantGuard object; this location's cached copies are dropped at once, others expire within
 * MAX_AGE_MS.
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { z } from 'zod'
import { adminAuth, tenantAccess } from '../tenant/admin-auth'
import type { AdminEnv } from '../tenant/admin-auth'
import { forgetKillState } from './kill-state'
import { answerFailures, answerUnrouted, existingTenant, invalidRequest, readJson, SMALL_BODY_BYTES } from '../tenant/admin-http'
import { fieldIssues } from '../tenant/issues'
import { actorLabel } from '../tenant/keys'
import { killAlert, sendAlert } from '../alerts/send'

export const KillBody = z.object({ tool: z.string().min(1).max(200).optional() }).strict()

const KILL_PATH = /^\/admin\/v1\/tenants\/[^/]+\/kill$/

/** True for the paths these routes serve. */
export function isKillPath(pathname: string): boolean {
  return KILL_PATH.test(pathname)
}

/**
 * The kill switch routes: the operator, or an admin key of the same tenant (an emergency stop is the
 * tenant's to pull too).
 */
export function killRoutes(): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>().basePath('/admin/v1')
  app.use('*', adminAuth())
  app.use('/tenants/:id/kill', tenantAccess())
  // A kill of an id no tenant holds would create switch state for it; it is refused instead.
  app.use('/tenants/:id/kill', existingTenant())
  answerUnrouted(app)
  answerFailures(app)

  app.get('/tenants/:id/kill', async (c) => {
    const id = c.req.param('id')
    return c.json(await c.env.GUARD.getByName(id).state())
  })

  app.post('/tenants/:id/kill', async (c) => {
    const id = c.req.param('id')
    // Only an empty body means the whole tenant: a malformed one (`{"tool": "x"` cut short) is refused,
    // never read as `{}`, which would stop all traffic instead of one tool.
    const read = await readJson(c, { allowEmpty: true, max: SMALL_BODY_BYTES, tooLarge: 'body_too_large' })
    if (!read.ok) return read.response
    const body = KillBody.safeParse(read.value)
    if (!body.success) return invalidRequest(c, fieldIssues(body.error))
    const actor = c.var.actor
    const state = await c.env.GUARD.getByName(id).kill(body.data.tool ? `tool:${body.data.tool}` : '*', actorLabel(actor))
    if (!state) return invalidTool(c)
    await forgetKillState(id)
    c.executionCtx.waitUntil(sendAlert(c.env, id, killAlert('killed', body.data.tool, actor)))
    return c.json(state)
  })

  app.delete('/tenants/:id/kill', async (c) => {
    const id = c.req.param('id')
    // `?tool=` with no name (an unset variable in a script) is refused, not taken as "restore everything".
    const query = c.req.query('tool')
    if (query !== undefined && !KillBody.shape.tool.safeParse(query).success) return invalidTool(c)
    // The tool may be named in a body, as for a kill: read it, never ignored into "restore everything".
    const read = await readJson(c, { allowEmpty: true, max: SMALL_BODY_BYTES, tooLarge: 'body_too_large' })
    if (!read.ok) return read.response
    const body = KillBody.safeParse(read.value)
    if (!body.success) return invalidRequest(c, fieldIssues(body.error))
    if (query !== undefined && body.data.tool !== undefined && query !== body.data.tool) return invalidTool(c)
    const tool = query ?? body.data.tool
    const state = await c.env.GUARD.getByName(id).restore(tool !== undefined ? `tool:${tool}` : '*', actorLabel(c.var.actor))
    if (!state) return invalidTool(c)
    if (state === 'operator-kill') return c.json({ error: 'operator_kill', message: 'the operator pulled this kill switch; only the operator can lift it' }, 403)
    await forgetKillState(id)
    c.executionCtx.waitUntil(sendAlert(c.env, id, killAlert('restored', tool, c.var.actor)))
    return c.json(state)
  })

  return app
}

function invalidTool(c: Context): Response {
  return invalidRequest(c, [{ path: 'tool', message: 'invalid tool name' }])
}
