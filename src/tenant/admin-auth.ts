/**
 * Who is calling the admin API. `Authorization: Bearer <token>` is either the operator token
 * (`ADMIN_TOKEN`, compared in constant time) or a tenant's admin key (`mcpfw_<tenant>_<keyId>_<secret>`,
 * verified against the SHA-256 hash its tenant's Durable Object stores, also in constant time).
 *
 * Refusals carry no detail: 401 `{ error: 'unauthorized' }` when the credential is missing, wrong,
 * expired or revoked; 403 `{ error: 'forbidden' }` when a valid credential may not do this. An unset
 * ADMIN_TOKEN, or one shorter than 16 characters, disables the whole admin API (503), tenant keys included.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { clipped } from '../clip'
import { TenantId } from './config'
import { actorLabel, parseKey } from './keys'
import type { Actor } from './keys'
import type { ReadResult } from './authority-types'

/** The shortest operator token the admin API accepts being configured with. */
export const MIN_ADMIN_TOKEN_CHARS = 16
const ADMIN_DISABLED = `the admin API is off: set the ADMIN_TOKEN Worker secret to a random value of at least ${MIN_ADMIN_TOKEN_CHARS} characters (openssl rand -hex 32)`

/** The authenticated caller, set by {@link adminAuth} as `c.var.actor`. */
/** `authority`: what the tenant's authority answered this request, once a middleware has asked (`existingTenant`). */
export type AdminEnv = { Bindings: Env; Variables: { actor: Actor; authority?: ReadResult } }

/** Authenticates every admin request; sets `actor` or answers 401 / 503. */
export function adminAuth(): MiddlewareHandler<AdminEnv> {
  return async function adminAuthMiddleware(c, next) {
    const expected = c.env.ADMIN_TOKEN
    // A guessable operator token would open every tenant: one too short to be random keeps the API off.
    if (!expected || expected.length < MIN_ADMIN_TOKEN_CHARS) return c.json({ error: 'admin_api_disabled', message: ADMIN_DISABLED }, 503)
    const header = c.req.header('Authorization') ?? ''
    // The scheme is case-insensitive (RFC 9110 §11.1): `bearer <token>` is the same credential.
    const presented = /^bearer +(.*)$/is.exec(header)?.[1] ?? ''
    const actor = await authenticate(c.env, presented, expected)
    if (!actor) return unauthorized(c)
    c.set('actor', actor)
    await next()
    recordWrite(c, actor)
  }
}

const TENANT_SEGMENT = /^\/admin\/v1\/tenants\/([^/]+)/
const TENANT_ID = /^[a-z0-9-]{1,63}$/

/** The tenant a path names, as the router reads it (percent-decoded: `%74-echo` is `t-echo`). */
function tenantOfPath(pathname: string): string | null {
  const raw = TENANT_SEGMENT.exec(pathname)?.[1]
  if (raw === undefined) return null
  let id: string
  try {
    id = decodeURIComponent(raw)
  } catch {
    return null // the router cannot read it either: nothing was written
  }
  return TENANT_ID.test(id) ? id : null
}

/** Longest path an admin write record keeps (`AdminWrite.path` in src/audit/event-log.ts). */
const ADMIN_WRITE_PATH_MAX = 500

/**
 * Every successful admin write is recorded with who made it, in the tenant's SecurityEventLog
 * (`GET /admin/v1/tenants/:id/events?kind=admin`), whichever sub-app served it.
 */
function recordWrite(c: Context<AdminEnv>, actor: Actor): void {
  const method = c.req.method
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || c.res.status >= 400) return
  const tenant = tenantOfPath(new URL(c.req.url).pathname)
  if (!tenant) return
  const write = {
    ts: new Date().toISOString(),
    actor: actorLabel(actor),
    method,
    // Clipped as the log's schema bounds it: a 200-character tool name, percent-encoded, is far longer.
    path: clipped(new URL(c.req.url).pathname, ADMIN_WRITE_PATH_MAX),
    status: c.res.status,
    requestId: c.req.header('x-request-id') ?? '', // the firewall's own id for this request (app.ts)
  }
  console.log(JSON.stringify({ event: 'admin_write', tenant, ...write }))
  c.executionCtx.waitUntil(
    c.env.EVENTS.getByName(tenant)
      .recordAdminWrite(write)
      .catch((err: unknown) => console.error(JSON.stringify({ event: 'admin_write_record_failed', tenant, error: String(err) }))),
  )
}

async function authenticate(env: Env, presented: string, operatorToken: string): Promise<Actor | null> {
  // Always compared, so a key-shaped token takes as long to refuse as any other.
  if (await constantTimeEqual(presented, operatorToken)) return { kind: 'operator' }
  const claimed = parseKey(presented)
  if (!claimed) return null
  const verified = await env.TENANT_CONFIG.getByName(claimed.tenant).verifyKey({ tenant: claimed.tenant, key: presented })
  return verified ? { kind: 'key', tenant: claimed.tenant, keyId: verified.keyId } : null
}

/** 401 with no detail. */
export function unauthorized(c: Context): Response {
  return c.json({ error: 'unauthorized' }, 401, { 'WWW-Authenticate': 'Bearer realm="admin"' })
}

/** 403 with no detail. */
export function forbidden(c: Context): Response {
  return c.json({ error: 'forbidden' }, 403)
}

/** True for the operator, or a key of `tenant`. */
export function mayAccessTenant(actor: Actor, tenant: string): boolean {
  return actor.kind === 'operator' || actor.tenant === tenant
}

/**
 * For routes under `/tenants/:id`: 400 `invalid_tenant_id` for an id no tenant could have, 403 for a key
 * of another tenant; otherwise on to the route.
 */
export function tenantAccess(): MiddlewareHandler<AdminEnv> {
  return async function tenantAccessMiddleware(c, next) {
    const id = c.req.param('id') ?? ''
    if (!TenantId.safeParse(id).success) return c.json({ error: 'invalid_tenant_id' }, 400)
    if (!mayAccessTenant(c.var.actor, id)) return forbidden(c)
    await next()
  }
}

/** Compares two secrets without leaking their length or content through timing (hashes first). */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder()
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest('SHA-256', enc.encode(a)),
    crypto.subtle.digest('SHA-256', enc.encode(b)),
  ])
  return crypto.subtle.timingSafeEqual(ha, hb) && a.length > 0
}
