/**
 * Tool review routes (operator, or an admin key of the same tenant), docs/tool-integrity.md:
 *
 * - `GET  /admin/v1/tenants/:id/tools[?origin=<url>&state=pending|approved|rejected]` → `{ origin, pinning,
 *   pins: [...], pending: n }`: every pin with its approved definition, the one under review and a diff
 * - `POST /admin/v1/tenants/:id/tools/:name/approve` and `…/reject`, body `{ kind?, hash?, origin? }`
 *   (`hash`: decide only if the definition under review still has it)
 * - `POST /admin/v1/tenants/:id/tools/approve-all`, body `{ kind?, origin? }`: the deploy pipeline's step
 * - `GET  /admin/v1/tenants/:id/tools/calls` → sensitive calls waiting for an approval
 * - `POST /admin/v1/tenants/:id/tools/calls/:approvalId/approve` → the call may run once within the window
 * - `POST /admin/v1/tenants/:id/tools/calls/:approvalId/reject` → drops the request, or revokes an unused grant
 *
 * Every answer that shows origin or caller text (definitions, their diffs and findings, tool names,
 * identities, call arguments) writes the characters a person would not see as `\u` escapes in its own
 * JSON (unseen.ts): it decodes to the same value, but a reviewer cannot be shown `daily\u200bquote` as
 * `dailyquote`, or a description whose bidi override hides an instruction. A call's arguments text holds
 * such escapes itself too (still the JSON of the same value), so they stay visible once decoded.
 *
 * `origin` defaults to the tenant's configured origin URL (as its authority holds it). Decisions drop this location's cached pins at
 * once; elsewhere they apply within PINS_MAX_AGE_MS.
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { z } from 'zod'
import { adminAuth, forbidden, mayAccessTenant } from '../tenant/admin-auth'
import type { AdminEnv } from '../tenant/admin-auth'
import { TenantId } from '../tenant/config'
import type { TenantConfig } from '../tenant/config'
import { actorLabel } from '../tenant/keys'
import { definitionDiff } from './diff'
import { forgetPins } from './pin-cache'
import { answerFailures, answerUnrouted, authorityRecord, existingTenant, invalidRequest, readJson, SMALL_BODY_BYTES } from '../tenant/admin-http'
import { fieldIssues } from '../tenant/issues'
import { ApprovalId, OriginKey, PinKind, PinName, type PinView } from './pin-types'
import { unseenJson } from './unseen'

const TOOLS_PATH = /^\/admin\/v1\/tenants\/[^/]+\/tools(?:\/.*)?$/

/** True for the paths these routes serve (app.ts routes them here before the tenant admin API). */
export function isToolsPath(pathname: string): boolean {
  return TOOLS_PATH.test(pathname)
}

const ListQuery = z.object({ origin: OriginKey.optional(), state: z.enum(['pending', 'approved', 'rejected']).optional() }).strict()
/** `…/tools/calls` takes no filter: a query parameter there would be one the caller believes applied. */
const CallsQuery = z.object({}).strict()
const DecideBody = z.object({ kind: PinKind.default('tool'), hash: z.string().regex(/^[0-9a-f]{64}$/).optional(), origin: OriginKey.optional() }).strict()
const ApproveAllBody = z.object({ kind: PinKind.optional(), origin: OriginKey.optional() }).strict()

type ToolsEnv = AdminEnv & { Variables: { tenant: string } }

/** The tool review routes, with their own admin authentication. */
export function toolRoutes(): Hono<ToolsEnv> {
  const app = new Hono<ToolsEnv>().basePath('/admin/v1/tenants/:id/tools')
  app.use('*', adminAuth())
  app.use('*', async function sameTenant(c, next) {
    const id = TenantId.safeParse(c.req.param('id'))
    if (!id.success) return c.json({ error: 'invalid_tenant_id' }, 400)
    if (!mayAccessTenant(c.var.actor, id.data)) return forbidden(c)
    c.set('tenant', id.data)
    await next()
  })
  // A tenant its authority does not hold has no pins or calls; its object is not created to say so.
  app.use('*', existingTenant())
  answerUnrouted(app)
  answerFailures(app)

  app.get('/', async (c) => {
    const q = ListQuery.safeParse(c.req.query())
    if (!q.success) return invalidRequest(c, fieldIssues(q.error))
    const config = await currentConfig(c)
    const origin = q.data.origin ?? config?.origin.url
    if (origin === undefined) return c.json({ error: 'tenant_not_found' }, 404)
    const pins = (await c.env.TOOL_PINS.getByName(c.var.tenant).list(origin)).filter((p) => !q.data.state || p.state === q.data.state)
    return shownJson(c, {
      origin,
      pinning: config?.policy.tools.pinning ?? null,
      pending: pins.filter((p) => p.state === 'pending').length,
      pins: pins.map(withDiff),
    })
  })

  app.get('/calls', async (c) => {
    const q = CallsQuery.safeParse(c.req.query())
    if (!q.success) return invalidRequest(c, fieldIssues(q.error))
    return shownJson(c, { calls: await c.env.TOOL_PINS.getByName(c.var.tenant).listCalls() })
  })

  app.post('/calls/:approvalId/approve', async (c) => {
    const id = ApprovalId.safeParse(c.req.param('approvalId'))
    if (!id.success) return c.json({ error: 'not_found' }, 404)
    const granted = await c.env.TOOL_PINS.getByName(c.var.tenant).grantCall({ id: id.data, by: actorLabel(c.var.actor) })
    return granted ? shownJson(c, granted) : c.json({ error: 'not_found' }, 404)
  })

  app.post('/calls/:approvalId/reject', async (c) => {
    const id = ApprovalId.safeParse(c.req.param('approvalId'))
    if (!id.success) return c.json({ error: 'not_found' }, 404)
    const rejected = await c.env.TOOL_PINS.getByName(c.var.tenant).rejectCall({ id: id.data })
    return rejected ? shownJson(c, rejected) : c.json({ error: 'not_found' }, 404)
  })

  app.post('/approve-all', async (c) => {
    const read = await readJson(c, { allowEmpty: true, max: SMALL_BODY_BYTES, tooLarge: 'body_too_large' })
    if (!read.ok) return read.response
    const body = ApproveAllBody.safeParse(read.value)
    if (!body.success) return invalidRequest(c, fieldIssues(body.error))
    const origin = body.data.origin ?? (await configuredOrigin(c))
    if (origin === null) return c.json({ error: 'tenant_not_found' }, 404)
    const approved = await c.env.TOOL_PINS.getByName(c.var.tenant).approveAll({ origin, by: actorLabel(c.var.actor), ...(body.data.kind ? { kind: body.data.kind } : {}) })
    if (!approved) return c.json({ error: 'invalid_request' }, 400)
    await forgetPins(c.var.tenant, [origin])
    return shownJson(c, { origin, approved: approved.map((p) => ({ kind: p.kind, name: p.name, hash: p.approved?.hash ?? null })) })
  })

  for (const decision of ['approve', 'reject'] as const) {
    app.post(`/:name/${decision}`, async (c) => {
      const name = PinName.safeParse(c.req.param('name'))
      if (!name.success) return c.json({ error: 'not_found' }, 404)
      // An unreadable body is refused, never read as `{}`: that would drop its `hash` guard and its `kind`/`origin`.
      const read = await readJson(c, { allowEmpty: true, max: SMALL_BODY_BYTES, tooLarge: 'body_too_large' })
      if (!read.ok) return read.response
      const body = DecideBody.safeParse(read.value)
      if (!body.success) return invalidRequest(c, fieldIssues(body.error))
      const origin = body.data.origin ?? (await configuredOrigin(c))
      if (origin === null) return c.json({ error: 'tenant_not_found' }, 404)
      const result = await c.env.TOOL_PINS.getByName(c.var.tenant).decide({
        origin,
        kind: body.data.kind,
        name: name.data,
        decision,
        by: actorLabel(c.var.actor),
        ...(body.data.hash ? { expectHash: body.data.hash } : {}),
      })
      if (!result.ok) return c.json({ error: result.error }, result.error === 'not_found' ? 404 : result.error === 'invalid_request' ? 400 : 409)
      await forgetPins(c.var.tenant, [origin])
      return shownJson(c, withDiff(result.pin))
    })
  }

  return app
}

/** A pin as shown: its definitions and, when something is under review, the diff from the approved one. */
function withDiff(p: PinView): PinView & { diff?: string[] } {
  return p.candidate ? { ...p, diff: definitionDiff(p.approved?.definition ?? null, p.candidate.definition) } : p
}

/** A 200 answer of `value` as JSON with the characters a person would not see as `\u` escapes (unseenJson). */
function shownJson(c: Context<ToolsEnv>, value: unknown): Response {
  return c.body(unseenJson(value), 200, { 'content-type': 'application/json' })
}

async function configuredOrigin(c: Context<ToolsEnv>): Promise<string | null> {
  return (await currentConfig(c))?.origin.url ?? null
}

/**
 * The tenant's config as its authority holds it: KV's copy (and this isolate's cache of it) may still
 * name the origin a write at another location just replaced, and a decision would go to that one's pins.
 */
async function currentConfig(c: Context<ToolsEnv>): Promise<TenantConfig | null> {
  return (await authorityRecord(c, c.var.tenant))?.config ?? null
}

