/**
 * HTTP plumbing shared by the admin routes: bounded JSON bodies, `If-Match` / `If-None-Match` as
 * preconditions, ETags, and the one mapping of authority refusals to status codes and bodies.
 */
import type { Context, Env as HonoEnv, Hono, MiddlewareHandler } from 'hono'
import type { AdminEnv } from './admin-auth'
import type { Expect, ReadResult, Refusal, TenantRecord } from './authority-types'
import type { FieldIssue } from './issues'
import { checkTargetUrl } from '../proxy/origin-url'
import { readCappedText } from '../proxy/ingress'
import { firewallHostnames, urlPolicy } from '../proxy/url-policy-env'
import type { PolicyConfig, TenantConfig } from './config'

/** Largest admin request body (a config with many custom rules fits comfortably). */
export const MAX_BODY_BYTES = 256 * 1024

/** Largest body of the small admin requests (kill switch, tool decisions): a few fields. */
export const SMALL_BODY_BYTES = 16 * 1024

export type JsonBody = { ok: true; value: unknown } | { ok: false; response: Response }

/**
 * Reads a JSON body of at most `max` bytes (default: a config's limit); a larger one is 413 with
 * `tooLarge` (default `config_too_large`). An empty body is `{}` when `allowEmpty`, otherwise 400
 * `invalid_json`, as is a body that does not parse, each with a `message` saying which.
 */
export async function readJson(c: Context, opts: { allowEmpty?: boolean; max?: number; tooLarge?: 'config_too_large' | 'body_too_large' } = {}): Promise<JsonBody> {
  const max = opts.max ?? MAX_BODY_BYTES
  const tooLarge = (): JsonBody => ({ ok: false, response: c.json({ error: opts.tooLarge ?? 'config_too_large' }, 413) })
  // Read with the cap: a chunked body (no Content-Length) is refused at the cap, not buffered whole first.
  const over = new Error('body too large')
  let text: string
  try {
    text = await readCappedText(c.req.raw, max, () => over)
  } catch (err) {
    if (err === over) return tooLarge()
    throw err
  }
  const empty = text.trim() === ''
  if (empty && opts.allowEmpty) return { ok: true, value: {} }
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    // Clients match on the code; the message is for the person reading the answer.
    const message = empty ? 'the body is empty: this request takes a JSON object' : 'the body is not valid JSON'
    return { ok: false, response: c.json({ error: 'invalid_json', message }, 400) }
  }
}

/** 400 with one `{ path, message }` per bad field of a config. */
export function invalidConfig(c: Context, issues: FieldIssue[]): Response {
  return c.json({ error: 'invalid_config', issues }, 400)
}

/** 400 with one `{ path, message }` per bad field of any other body. */
export function invalidRequest(c: Context, issues: FieldIssue[]): Response {
  return c.json({ error: 'invalid_request', issues }, 400)
}

const IF_MATCH = /^(?:W\/)?"?(\d{1,15})"?$/

/**
 * The write precondition from the request headers: `If-Match: <version>` (a bare number or an ETag
 * `"<version>"`), `If-Match: *` (exists), `If-None-Match: *` (create only); none means unconditional.
 * Anything else is refused, so a typo never turns a guarded write into a blind one.
 */
export function preconditionOf(c: Context): Expect | Response {
  const ifMatch = c.req.header('If-Match')?.trim()
  const ifNoneMatch = c.req.header('If-None-Match')?.trim()
  if (ifMatch !== undefined && ifNoneMatch !== undefined) return c.json({ error: 'invalid_precondition' }, 400)
  if (ifNoneMatch !== undefined) return ifNoneMatch === '*' ? { kind: 'absent' } : c.json({ error: 'invalid_precondition' }, 400)
  if (ifMatch === undefined) return { kind: 'any' }
  if (ifMatch === '*') return { kind: 'exists' }
  const m = IF_MATCH.exec(ifMatch)
  return m?.[1] ? { kind: 'version', version: Number(m[1]) } : c.json({ error: 'invalid_precondition' }, 400)
}

/** The ETag of a config version. */
export const etag = (version: number): string => `"${version}"`

/** Maps an authority refusal to the wire, in one place. */
export function refusal(c: Context, r: Refusal): Response {
  switch (r.error) {
    case 'not_found':
      return c.json({ error: 'not_found' }, 404)
    case 'version_not_found':
      return c.json({ error: 'version_not_found' }, 404)
    case 'tenant_deleted':
      // Gone for good: a deleted tenant's id is never reused.
      return c.json({ error: 'tenant_deleted' }, 410)
    case 'forbidden':
      return c.json({ error: 'forbidden' }, 403)
    case 'origin_loop':
      return invalidConfig(c, [{ path: 'origin.url', message: 'must not point at a hostname routed to this firewall' }])
    case 'version_mismatch':
      return c.json({ error: 'version_mismatch', currentVersion: r.current }, 412, r.current > 0 ? { ETag: etag(r.current) } : {})
    case 'host_conflict':
      return c.json({ error: 'host_conflict', issues: r.issues }, 409)
    case 'invalid_config':
      return invalidConfig(c, r.issues)
  }
}

/**
 * Checks the addresses a config names: the origin URL, the JWT mode's JWKS URL and the classifier's
 * second-stage URL against the origin rules (https, no credentials, not private, not the firewall's own
 * hostnames or the tenant's), and the tenant's hostnames for their spelling and against the firewall's
 * own (claiming one would take the admin API and every path-mapped tenant off it).
 * Whether either is another tenant's hostname is decided race-free by the host registry.
 */
export function addressIssue(env: Env, requestUrl: string, config: TenantConfig): FieldIssue | null {
  for (const [i, host] of config.hosts.entries()) {
    const message = hostSpellingIssue(host)
    if (message !== null) return { path: `hosts.${i}`, message }
  }
  const requestHost = new URL(requestUrl).hostname
  const own = firewallHostnames(env, requestHost)
  const claimed = config.hosts.findIndex((h) => own.has(h))
  if (claimed >= 0) return { path: `hosts.${claimed}`, message: "must not be one of the firewall's own hostnames" }
  const policy = urlPolicy(env, requestHost, config.hosts)
  const target = checkTargetUrl(config.origin.url, policy)
  if (!target.ok) return { path: 'origin.url', message: target.reason }
  // The JWKS URL is fetched by the firewall like an origin, under the same rules (checked again per fetch).
  const jwks = config.auth.mode === 'jwt' ? checkTargetUrl(config.auth.jwksUrl, policy) : null
  if (jwks && !jwks.ok) return { path: 'auth.jwksUrl', message: jwks.reason }
  return secondStageIssue(env, requestUrl, config.hosts, config.policy, 'policy.')
}

/**
 * Routing looks a request up by the hostname the URL parser makes of its Host, so a tenant hostname must
 * be spelt that way: `01.2.3.4` or `0x7f000001` (an IPv4 address the parser rewrites), `mcp.vendor.1` or
 * punycode that does not decode (names it refuses) would be stored, never served, and would let a second
 * tenant hold another spelling of a hostname the first one serves, past the registry's exact match.
 */
function hostSpellingIssue(host: string): string | null {
  const parsed = URL.parse(`https://${host}/`)?.hostname
  if (parsed === undefined) return 'is not a hostname a URL can name'
  return parsed === host ? null : `no request carries this spelling; requests name it ${parsed}`
}

/**
 * Checks the classifier's second-stage URL against the origin rules. It is checked again before every
 * call, but a URL refused there fails each call in the band, which `failMode: closed` (the default)
 * turns into blocked messages with no word of why: so it is refused when written. `prefix` is where the
 * policy sits in the body (`policy.` in a whole config, nothing in `PUT …/policy`).
 */
export function secondStageIssue(env: Env, requestUrl: string, hosts: readonly string[], policy: PolicyConfig, prefix = ''): FieldIssue | null {
  const url = policy.classifier.secondStage?.url
  if (url === undefined) return null
  const stage = checkTargetUrl(url, urlPolicy(env, new URL(requestUrl).hostname, hosts))
  return stage.ok ? null : { path: `${prefix}classifier.secondStage.url`, message: stage.reason }
}

/**
 * The fields of a config that need tenant secrets, and so the `SECRETS_MASTER_KEY` ring: client
 * authentication (apiKey or jwt: identity assertions are signed with a key derived from it), the origin
 * credential, webhook signing secrets and a second stage's bearer secret.
 */
export function secretsNeeded(config: TenantConfig): string[] {
  const fields = config.auth.mode === 'passthrough' ? [] : ['auth.mode']
  if (config.origin.credential) fields.push('origin.credential.secret')
  config.alerts.webhooks.forEach((_, i) => fields.push(`alerts.webhooks.${i}.secret`))
  return [...fields, ...policySecretsNeeded(config.policy, 'policy.')]
}

/** The fields of a policy that need tenant secrets (see `secretsNeeded`); `prefix` as in `secondStageIssue`. */
export function policySecretsNeeded(policy: PolicyConfig, prefix = ''): string[] {
  return policy.classifier.secondStage?.secret === undefined ? [] : [`${prefix}classifier.secondStage.secret`]
}

const SET_MASTER_KEY = 'the operator must set the SECRETS_MASTER_KEY Worker secret (openssl rand -base64 32; wrangler secret put, or .dev.vars locally)'

/**
 * 503 `secrets_disabled`: the Worker has no `SECRETS_MASTER_KEY` ring, and the request needs one (a secret
 * write, or a config whose `fields` need secrets). Refused when written: stored, such a config would fail
 * its traffic (503 "configuration error"), its alerts or its second-stage calls with a cause only the
 * server log shows. The message says what to set.
 */
export function secretsDisabled(c: Context, fields: readonly string[] = []): Response {
  const what = fields.length > 0 ? `the config needs tenant secrets (${fields.join(', ')}), which are off` : 'tenant secrets are off'
  return c.json({ error: 'secrets_disabled', message: `${what}: ${SET_MASTER_KEY}` }, 503)
}

/**
 * Answers 404 `not_found` for a tenant its authority does not hold (the strongly consistent record,
 * not KV's copy, so a tenant created a moment ago elsewhere is found). For routes whose state is
 * created on first use (kill switch, alert outbox), so an unknown id is refused and leaves nothing
 * behind. `deleted: 'keep'` lets a deleted tenant through: its security event log outlives it.
 */
export function existingTenant(opts: { deleted?: 'keep' | 'refuse' } = {}): MiddlewareHandler<AdminEnv> {
  return async function existingTenantMiddleware(c, next) {
    const id = c.req.param('id') ?? ''
    const read = await authorityRead(c, id)
    if (read.status === 'absent' || (read.status === 'deleted' && opts.deleted !== 'keep')) return c.json({ error: 'not_found' }, 404)
    await next()
  }
}

/**
 * The tenant's current record as its authority holds it, or null unless the tenant is active. The
 * authority, not KV's copy (or this isolate's cache of it), which may predate a write made at another
 * location. Asked once per request: `existingTenant` keeps its answer for the route.
 */
export async function authorityRecord<E extends AdminEnv>(c: Context<E>, id: string): Promise<TenantRecord | null> {
  const read = await authorityRead(c, id)
  return read.status === 'active' ? read.record : null
}

async function authorityRead<E extends AdminEnv>(c: Context<E>, id: string): Promise<ReadResult> {
  const kept = c.get('authority')
  if (kept) return kept
  const read = await c.env.TENANT_CONFIG.getByName(id).read({ tenant: id })
  c.set('authority', read)
  return read
}

/**
 * Makes `app` answer a request none of its routes takes in JSON like every other admin answer: 405
 * with `Allow` when the path is served under other methods (`PATCH …/kill`), 404 otherwise. Runs
 * after the app's middleware, so an unauthenticated caller still gets 401 and learns no routes.
 */
export function answerUnrouted<E extends HonoEnv>(app: Hono<E>): void {
  app.notFound((c) => {
    const allow = allowedMethods(app, new URL(c.req.url).pathname)
    if (allow.length === 0) return c.json({ error: 'not_found' }, 404)
    return c.json({ error: 'method_not_allowed', allow }, 405, { Allow: allow.join(', ') })
  })
}

/**
 * Makes `app` answer a failure of its own (a Durable Object or KV call that throws) like every other
 * admin answer: a JSON 500 `{ error: 'internal' }` with no detail, the error logged as `admin_error`.
 * Without it Hono answers a plain-text page and logs the bare error.
 */
export function answerFailures<E extends HonoEnv>(app: Hono<E>): void {
  app.onError((err, c) => {
    console.error(JSON.stringify({ event: 'admin_error', method: c.req.method, path: new URL(c.req.url).pathname, error: String(err), stack: err.stack }))
    return c.json({ error: 'internal' }, 500)
  })
}

/** The methods `app`'s routes (not its middleware) serve at `path`; HEAD wherever GET is. */
function allowedMethods<E extends HonoEnv>(app: Hono<E>, path: string): string[] {
  const methods = new Set<string>()
  for (const route of app.routes) {
    if (route.method !== 'ALL' && routePattern(route.path).test(path)) methods.add(route.method)
  }
  if (methods.has('GET')) methods.add('HEAD')
  return [...methods].sort()
}

/** A Hono route path (`/tenants/:id/kill`) as an anchored regex over a request path. */
function routePattern(path: string): RegExp {
  const body = path
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${body}$`)
}
