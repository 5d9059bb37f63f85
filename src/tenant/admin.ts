/**
 * The admin API under `/admin/v1` (OpenAPI at `/admin/v1/openapi.json`). Config lives in each tenant's
 * `TenantConfigAuthority` Durable Object, which versions every write and publishes to KV; these routes
 * authenticate, validate strictly (one `{ path, message }` per bad field), check the origin rules, refuse
 * a config that needs tenant secrets when the Worker has no master key, and map the object's answers to
 * HTTP. Writes take `If-Match: <version>` for compare-and-swap (412 on a mismatch) and answer with
 * `ETag: "<version>"`.
 *
 * The operator token may do everything. A tenant key may read and write its own tenant only, never
 * create or delete a tenant, and never change `origin`, `hosts`, the alert webhooks, the classifier's
 * second-stage URL or Workers AI model or a secret reference (403, nothing changes; `operatorOnlyView`
 * in keys.ts).
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { PolicyConfigWrite, rulesFieldIssues, TenantConfigWrite, TenantId } from './config'
import { clearTenantCache } from './store'
import { adminAuth, forbidden, mayAccessTenant } from './admin-auth'
import type { AdminEnv } from './admin-auth'
import { answerFailures, answerUnrouted, authorityRecord, etag, existingTenant, invalidConfig, invalidRequest, addressIssue, policySecretsNeeded, preconditionOf, readJson, refusal, secondStageIssue, secretsDisabled, secretsNeeded } from './admin-http'
import { EventsQuery, RollbackRequest } from './admin-schemas'
import type { TenantRecord, WriteResult } from './authority-types'
import { DryRunRequest, dryRun } from './dry-run'
import { fieldIssues } from './issues'
import { touchesSecretReferences } from './keys'
import { mountKeyRoutes } from './admin-keys'
import { openApiDocument } from './openapi'
import { readEvents } from '../audit/sink'
import { unseenJson } from '../tools/unseen'
import { configChangedAlert, sendAlert } from '../alerts/send'
import { webhookUrlIssues } from '../alerts/url'
import { keyring } from '../auth/master-key'

export { fieldIssues } from './issues'
export type { FieldIssue } from './issues'

type Ctx = Context<AdminEnv>

/** Dry-run bodies carry a whole message, so they may be larger than a config. */
const MAX_TEST_BYTES = 1024 * 1024

const authority = (c: Ctx, id: string) => c.env.TENANT_CONFIG.getByName(id)

const tenantBody = (id: string, r: TenantRecord) => ({ id, schema: 1 as const, version: r.version, updatedAt: r.updatedAt, updatedBy: r.updatedBy, config: r.config })
const policyBody = (id: string, r: TenantRecord) => ({ id, version: r.version, updatedAt: r.updatedAt, updatedBy: r.updatedBy, policy: r.config.policy })

/**
 * A read's `warnings`: what the stored config would no longer pass if written on this deploy (custom-rule
 * examples the engine does not confirm since it changed, custom-rule ids a release gave a shipped rule or
 * the firewall's own checks). The config keeps serving; a write must fix them.
 */
const warnings = (r: TenantRecord, prefix: readonly string[]) => {
  const issues = rulesFieldIssues(r.config.policy.rules, prefix)
  return issues.length > 0 ? { warnings: issues } : {}
}

/** The admin routes, as a Hono app mounted by `app.ts` for paths under `/admin/v1/`. */
export function adminRoutes(): Hono<AdminEnv> {
  const admin = new Hono<AdminEnv>().basePath('/admin/v1')

  // The API's description is public: it holds no data, and tools fetch it before they hold a token.
  admin.get('/openapi.json', (c) => c.json(openApiDocument()))
  admin.use('*', adminAuth())
  admin.use('/tenants/:id', tenantScope())
  admin.use('/tenants/:id/*', tenantScope())
  // A deleted tenant's security events are kept (the audit trail); an id never created has none.
  admin.use('/tenants/:id/events', existingTenant({ deleted: 'keep' }))
  answerUnrouted(admin)

  admin.get('/tenants', async (c) => {
    if (c.var.actor.kind !== 'operator') return forbidden(c)
    const includeDeleted = c.req.query('deleted') === 'true'
    const tenants = await c.env.HOST_REGISTRY.getByName('global').list({ includeDeleted })
    return c.json({ tenants })
  })

  admin.get('/tenants/:id', async (c) => {
    const id = c.req.param('id')
    const read = await authority(c, id).read({ tenant: id })
    if (read.status !== 'active') return notActive(c, read.status)
    return c.json({ ...tenantBody(id, read.record), ...warnings(read.record, ['policy', 'rules']) }, 200, { ETag: etag(read.record.version) })
  })

  admin.put('/tenants/:id', async (c) => {
    const id = c.req.param('id')
    const body = await readJson(c)
    if (!body.ok) return body.response
    const expect = preconditionOf(c)
    if (expect instanceof Response) return expect
    const actor = c.var.actor
    if (actor.kind === 'key') {
      // Refused as forbidden even when the field is unknown to the schema: a tenant key names no secret.
      const read = await authority(c, id).read({ tenant: id })
      if (read.status !== 'active' || touchesSecretReferences(read.record.config, body.value)) return forbidden(c)
    }
    const parsed = TenantConfigWrite.safeParse(body.value)
    if (!parsed.success) return invalidConfig(c, fieldIssues(parsed.error))
    const issue = addressIssue(c.env, c.req.url, parsed.data)
    if (issue) return invalidConfig(c, [issue])
    const hookIssues = webhookUrlIssues(c.env, c.req.url, parsed.data) // same rules as origin.url
    if (hookIssues.length > 0) return invalidConfig(c, hookIssues)
    const needs = await secretsMissing(c, secretsNeeded(parsed.data))
    if (needs) return needs
    const result = await authority(c, id).write({ tenant: id, actor, expect, change: { kind: 'config', config: body.value } })
    return written(c, id, result, tenantBody)
  })

  admin.delete('/tenants/:id', async (c) => {
    const id = c.req.param('id')
    if (c.var.actor.kind !== 'operator') return forbidden(c)
    const expect = preconditionOf(c)
    if (expect instanceof Response) return expect
    const result = await authority(c, id).remove({ tenant: id, actor: c.var.actor, expect })
    clearTenantCache(id)
    return result.ok ? c.body(null, 204) : refusal(c, result)
  })

  admin.get('/tenants/:id/policy', async (c) => {
    const id = c.req.param('id')
    const read = await authority(c, id).read({ tenant: id })
    if (read.status !== 'active') return notActive(c, read.status)
    return c.json({ ...policyBody(id, read.record), ...warnings(read.record, ['rules']) }, 200, { ETag: etag(read.record.version) })
  })

  admin.put('/tenants/:id/policy', async (c) => {
    const id = c.req.param('id')
    const body = await readJson(c)
    if (!body.ok) return body.response
    const expect = preconditionOf(c)
    if (expect instanceof Response) return expect
    const parsed = PolicyConfigWrite.safeParse(body.value)
    if (!parsed.success) return invalidConfig(c, fieldIssues(parsed.error))
    if (parsed.data.classifier.secondStage?.url !== undefined) {
      // The tenant's own hostnames are refused as targets too: read them from the current config.
      const hosts = (await authorityRecord(c, id))?.config.hosts ?? []
      const issue = secondStageIssue(c.env, c.req.url, hosts, parsed.data)
      if (issue) return invalidConfig(c, [issue])
    }
    const needs = await secretsMissing(c, policySecretsNeeded(parsed.data))
    if (needs) return needs
    const result = await authority(c, id).write({ tenant: id, actor: c.var.actor, expect, change: { kind: 'policy', policy: body.value } })
    return written(c, id, result, policyBody)
  })

  admin.get('/tenants/:id/versions', async (c) => {
    const id = c.req.param('id')
    const versions = await authority(c, id).versions({ tenant: id })
    if (!versions?.[0]) return c.json({ error: 'not_found' }, 404)
    return c.json({ id, current: versions[0].version, versions })
  })

  admin.get('/tenants/:id/versions/:version', async (c) => {
    const id = c.req.param('id')
    const n = Number(c.req.param('version'))
    if (!Number.isSafeInteger(n) || n < 1) return c.json({ error: 'version_not_found' }, 404)
    const v = await authority(c, id).version({ tenant: id, version: n })
    return v ? c.json({ id, ...v }) : c.json({ error: 'version_not_found' }, 404)
  })

  admin.post('/tenants/:id/rollback', async (c) => {
    const id = c.req.param('id')
    const body = await readJson(c)
    if (!body.ok) return body.response
    const expect = preconditionOf(c)
    if (expect instanceof Response) return expect
    const parsed = RollbackRequest.safeParse(body.value)
    if (!parsed.success) return invalidRequest(c, fieldIssues(parsed.error))
    const target = await authority(c, id).version({ tenant: id, version: parsed.data.version })
    if (!target) return c.json({ error: 'version_not_found' }, 404)
    // The origin rules may have changed since that version was written (e.g. FIREWALL_HOSTNAMES).
    const issue = addressIssue(c.env, c.req.url, target.config)
    if (issue) return invalidConfig(c, [issue])
    const hookIssues = webhookUrlIssues(c.env, c.req.url, target.config)
    if (hookIssues.length > 0) return invalidConfig(c, hookIssues)
    const needs = await secretsMissing(c, secretsNeeded(target.config))
    if (needs) return needs
    const result = await authority(c, id).rollback({ tenant: id, actor: c.var.actor, expect, version: parsed.data.version })
    return written(c, id, result, tenantBody)
  })

  admin.post('/tenants/:id/test', async (c) => {
    const id = c.req.param('id')
    const body = await readJson(c, { max: MAX_TEST_BYTES, tooLarge: 'body_too_large' })
    if (!body.ok) return body.response
    const parsed = DryRunRequest.safeParse(body.value)
    if (!parsed.success) return invalidRequest(c, fieldIssues(parsed.error))
    const req = parsed.data
    let subject
    if (req.config !== undefined) {
      const proposed = TenantConfigWrite.safeParse(req.config)
      if (!proposed.success) return invalidConfig(c, fieldIssues(proposed.error, ['config']))
      subject = { tenantId: id, config: proposed.data, version: null }
    } else {
      const read = await authority(c, id).read({ tenant: id })
      if (read.status !== 'active') return notActive(c, read.status)
      subject = { tenantId: id, config: read.record.config, version: read.record.version }
    }
    const outcome = await dryRun(subject, req)
    if (!outcome.ok) return invalidRequest(c, [{ path: 'message', message: outcome.reason }])
    return c.json(outcome.result)
  })

  admin.get('/tenants/:id/events', async (c) => {
    const query = EventsQuery.safeParse(c.req.query())
    if (!query.success) return invalidRequest(c, fieldIssues(query.error))
    const id = c.req.param('id')
    const { kind, limit } = query.data
    // `?kind=admin`: the admin writes made to this tenant and who made them; otherwise security events.
    // Events name tools as callers and origins chose them: invisible characters go out as `\u` escapes.
    const events = kind === 'admin' ? await c.env.EVENTS.getByName(id).listAdminWrites(limit) : await readEvents(c.env, id, limit)
    return c.body(unseenJson({ events }), 200, { 'content-type': 'application/json' })
  })

  mountKeyRoutes(admin)

  answerFailures(admin)
  return admin
}

/** Validates `:id` and keeps tenant keys to their own tenant (403, no detail). */
function tenantScope() {
  return async function tenantScopeMiddleware(c: Ctx, next: () => Promise<void>): Promise<Response | void> {
    const id = c.req.param('id') ?? ''
    if (!TenantId.safeParse(id).success) {
      const isConfigWrite = c.req.method === 'PUT' && new URL(c.req.url).pathname.endsWith(`/tenants/${id}`)
      return isConfigWrite ? invalidConfig(c, [{ path: 'id', message: 'must match [a-z0-9-]{1,63}' }]) : c.json({ error: 'invalid_tenant_id' }, 400)
    }
    if (!mayAccessTenant(c.var.actor, id)) return forbidden(c)
    await next()
  }
}

/** 503 `secrets_disabled` when the config's `fields` need tenant secrets and the Worker has no master key; null otherwise. */
async function secretsMissing(c: Ctx, fields: string[]): Promise<Response | null> {
  return fields.length > 0 && !(await keyring(c.env)) ? secretsDisabled(c, fields) : null
}

/** A tenant that cannot be read: absent or deleted (404), or stored under an older schema (500). */
function notActive(c: Ctx, status: 'absent' | 'deleted' | 'invalid'): Response {
  return status === 'invalid' ? c.json({ error: 'stored_config_invalid' }, 500) : c.json({ error: 'not_found' }, 404)
}

/** A write's answer: 201 when it created the tenant, 200 otherwise, with the new ETag. */
function written<T>(c: Ctx, id: string, result: WriteResult, shape: (id: string, r: TenantRecord) => T): Response {
  if (!result.ok) return refusal(c, result)
  clearTenantCache(id)
  const alert = configChangedAlert(new URL(c.req.url).pathname, result)
  if (alert) c.executionCtx.waitUntil(sendAlert(c.env, id, alert))
  return c.json({ ...shape(id, result.record), published: result.published }, result.created ? 201 : 200, { ETag: etag(result.record.version) })
}
