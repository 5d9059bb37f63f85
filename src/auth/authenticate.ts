/**
 * Client authentication at a tenant's MCP endpoint, per the tenant's `auth` mode (mcp-protocol.md §2.3):
 *
 * - `passthrough` (Mode A): nothing is checked; `Authorization` goes to the origin unchanged.
 * - `apiKey`, `jwt` (Mode B): the firewall is the resource server. A missing or refused credential is
 *   answered 401 (403 for missing scopes) with a `WWW-Authenticate: Bearer` challenge and the origin is
 *   never called. A verified client's credential is stripped (token passthrough is forbidden); the
 *   origin gets the tenant's stored credential (`origin.credential`) and a signed identity assertion
 *   (`Mcp-Firewall-Identity`, ./assertion-verify.ts) naming the key id or token subject.
 */
import { FirewallError } from '../errors'
import { originRequestHeaders } from '../proxy/headers'
import { checkTargetUrl } from '../proxy/origin-url'
import { urlPolicy } from '../proxy/url-policy-env'
import { loadTenant } from '../tenant/store'
import type { LoadedTenant } from '../tenant/store'
import { clientKeyRecord } from './api-keys'
import { CLIENT_KEY_RECHECK_MS } from './bounds'
import { signIdentityAssertion } from './assertion'
import type { AssertedIdentity } from './assertion'
import { IDENTITY_HEADER } from './assertion-verify'
import { authRefusal, challengeFor } from './challenge'
import type { AuthFailure } from './challenge'
import type { AuthConfig, JwtAuth } from './config'
import { verifyAccessToken } from './jwt'
import { keyring } from './master-key'
import type { Keyring } from './master-key'
import { originCredentialHeader, type OriginCredentialHeader } from './origin-credential'
import { jwtChallengeParams, resourceUrl } from './prm'
import { kvAuthStore } from './storage'

/** What `authenticate` needs to know about the request (an `EndpointRequest` fits). */
export interface AuthRequest {
  request: Request
  tenant: LoadedTenant
  env: Env
  requestId: string
}

/** An authenticated (or, in passthrough mode, unauthenticated-by-design) client. */
export interface ClientAuth {
  readonly mode: AuthConfig['mode']
  /** The verified identity (API key id or token subject); absent in passthrough mode. */
  readonly identity?: string
  /**
   * The headers for one origin request: the allow-listed client headers, with the client's
   * `Authorization` kept (passthrough) or replaced by the origin credential and a fresh assertion.
   * Call it per origin request: assertions expire after two minutes, streams may last longer.
   */
  originHeaders(incoming: Headers): Promise<Headers>
  /**
   * What the firewall has lent the origin for this client so far (the origin credential's secret, each
   * identity assertion `originHeaders` signed): never to be shown to the client (src/proxy/lent-secrets.ts).
   * In passthrough mode, the credential of the client's own `Authorization`, which is forwarded: the client
   * knows it, but an origin that echoes it must not have it pinned, sent to the second stage or logged.
   */
  readonly lent: readonly string[]
  /**
   * Whether this client would still be admitted, asked while its stream is open (a stream outlives the
   * request that authenticated it): false once the tenant's `auth` is no longer the one it was admitted
   * under (authentication turned on, another mode or issuer; the isolate's copy of the config, reloaded
   * every CONFIG_TTL_MS), a JWT is past `exp` (plus the clock tolerance), an API key past its
   * `expiresAt`, or a key revoked (read again every {@link CLIENT_KEY_RECHECK_MS}).
   */
  stillAdmitted(): Promise<boolean>
}

export type AuthOutcome = { ok: true; auth: ClientAuth } | { ok: false; response: Response }

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

/** The credential of a forwarded `Authorization` (what follows its scheme, or the whole value without one). */
function forwardedCredential(header: string | null): string[] {
  const value = header?.trim()
  if (!value) return []
  const credential = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ +(.+)$/.exec(value)?.[1] ?? value
  return [credential.trim()]
}

/**
 * Authenticates the client of one endpoint request, before its body is read. Refusals come back as a
 * response (`ok: false`); configuration problems throw `FirewallError` (fail closed).
 *
 * @example
 * const outcome = await authenticate(r, originUrl)
 * if (!outcome.ok) return outcome.response
 * const headers = await outcome.auth.originHeaders(request.headers)
 */
export async function authenticate(r: AuthRequest, originUrl: URL): Promise<AuthOutcome> {
  const { tenant } = r
  const config = tenant.record.config
  const auth = config.auth
  if (auth.mode === 'passthrough') {
    if (config.origin.credential) {
      // A stored credential on an endpoint nobody authenticates to would be lent to every caller.
      console.error(JSON.stringify({ event: 'origin_credential_without_client_auth', tenant: tenant.id }))
      throw new FirewallError({ kind: 'tenant_config_invalid' })
    }
    return {
      ok: true,
      auth: {
        mode: 'passthrough',
        originHeaders: async (incoming) => originRequestHeaders(incoming, { forwardAuthorization: true }),
        lent: forwardedCredential(r.request.headers.get('authorization')),
        stillAdmitted: sameAuth(r, async () => true),
      },
    }
  }

  const ring = await keyring(r.env)
  if (!ring) {
    console.error(JSON.stringify({ event: 'secrets_master_key_missing', tenant: tenant.id }))
    throw new FirewallError({ kind: 'tenant_config_invalid' })
  }
  const store = kvAuthStore(r.env.CONFIG)
  const url = new URL(r.request.url)
  const token = BEARER.exec(r.request.headers.get('authorization') ?? '')?.[1]

  let who: AssertedIdentity
  let stillAdmitted: () => Promise<boolean>
  if (auth.mode === 'apiKey') {
    const params: Array<[string, string]> = [['realm', `${url.origin}${url.pathname}`]]
    if (!token) return refuse(r, 'missing', params)
    const record = await clientKeyRecord(store, tenant.id, token)
    if (!record) return refuse(r, 'invalid_token', params)
    who = { subject: record.id, authMode: 'apiKey' }
    stillAdmitted = keyStillAdmits(r, token, record.expiresAt)
  } else {
    const verified = await verifyJwt(r, auth, url, token)
    if ('failure' in verified) return refuse(r, verified.failure, verified.params)
    who = verified.who
    const until = verified.until
    stillAdmitted = async () => Date.now() < until
  }

  const credential = config.origin.credential ? await originCredentialHeader(store, ring, tenant.id, config.origin.credential) : null
  const lent: string[] = credential ? [credential.secret] : []
  return {
    ok: true,
    auth: {
      mode: auth.mode,
      identity: who.subject,
      originHeaders: async (incoming) => {
        const headers = await modeBHeaders(incoming, ring, tenant.id, originUrl, who, credential)
        const assertion = headers.get(IDENTITY_HEADER)
        if (assertion !== null && !lent.includes(assertion)) lent.push(assertion)
        return headers
      },
      lent,
      stillAdmitted: sameAuth(r, stillAdmitted),
    },
  }
}

/**
 * `credential`, asked only while the tenant's `auth` is the one the client was admitted under. A tenant
 * gone or unreadable is not a change of auth: the kill switch ends those streams (src/guard).
 */
function sameAuth(r: AuthRequest, credential: () => Promise<boolean>): () => Promise<boolean> {
  const admittedUnder = JSON.stringify(r.tenant.record.config.auth)
  return async () => {
    const current = await loadTenant(r.env.CONFIG, r.tenant.id).catch(() => null)
    if (current !== null && JSON.stringify(current.record.config.auth) !== admittedUnder) return false
    return credential()
  }
}

/**
 * An admitted API key's recheck: its expiry against the clock every time, its record (revocation, a changed
 * expiry) read again at most every {@link CLIENT_KEY_RECHECK_MS}. Once refused, always refused.
 */
function keyStillAdmits(r: AuthRequest, token: string, expiresAt: string | null): () => Promise<boolean> {
  const expiry = (at: string | null): number => (at === null ? Number.POSITIVE_INFINITY : Date.parse(at))
  let until = expiry(expiresAt)
  let readAt = Date.now()
  let admitted = true
  return async () => {
    const now = Date.now()
    if (admitted && now >= until) admitted = false
    if (!admitted || now - readAt < CLIENT_KEY_RECHECK_MS) return admitted
    readAt = now
    try {
      const record = await clientKeyRecord(kvAuthStore(r.env.CONFIG), r.tenant.id, token, now)
      if (record === null) admitted = false
      else until = expiry(record.expiresAt)
    } catch (err) {
      // Unreadable is not proof the key still stands: the stream ends, as a new request would fail.
      console.error(JSON.stringify({ event: 'client_key_recheck_failed', requestId: r.requestId, tenant: r.tenant.id, error: String(err) }))
      admitted = false
    }
    return admitted
  }
}

async function verifyJwt(
  r: AuthRequest,
  auth: JwtAuth,
  url: URL,
  token: string | undefined,
): Promise<{ who: AssertedIdentity; until: number } | { failure: AuthFailure; params: Array<[string, string]> }> {
  const resource = resourceUrl(auth, url, url.pathname)
  const params = jwtChallengeParams(auth, resource)
  if (!token) return { failure: 'missing', params }
  const jwks = checkTargetUrl(auth.jwksUrl, urlPolicy(r.env, url.hostname, r.tenant.record.config.hosts))
  if (!jwks.ok) {
    console.error(JSON.stringify({ event: 'jwks_url_not_allowed', tenant: r.tenant.id, reason: jwks.reason }))
    throw new FirewallError({ kind: 'origin_not_allowed' })
  }
  const verdict = await verifyAccessToken(token, auth, resource, r.tenant.id, jwks.url)
  if (!verdict.ok) return { failure: verdict.error, params }
  // `exp` is required, and jose refuses a token once `exp` is `clockToleranceSec` behind the clock.
  const until = ((verdict.claims.exp ?? 0) + auth.clockToleranceSec) * 1000
  return { who: { subject: verdict.subject, authMode: 'jwt', ...(verdict.scope !== undefined ? { scope: verdict.scope } : {}) }, until }
}

async function modeBHeaders(
  incoming: Headers,
  ring: Keyring,
  tenantId: string,
  originUrl: URL,
  who: AssertedIdentity,
  credential: OriginCredentialHeader | null,
): Promise<Headers> {
  const headers = originRequestHeaders(incoming, { forwardAuthorization: false })
  if (credential) headers.set(credential.header, credential.value)
  headers.set(IDENTITY_HEADER, await signIdentityAssertion(ring, tenantId, originUrl.href, who))
  return headers
}

function refuse(r: AuthRequest, failure: AuthFailure, params: ReadonlyArray<readonly [string, string]>): AuthOutcome {
  console.log(JSON.stringify({ event: 'client_auth_refused', requestId: r.requestId, tenant: r.tenant.id, mode: r.tenant.record.config.auth.mode, failure }))
  return { ok: false, response: authRefusal(failure, challengeFor(failure, params), r.requestId) }
}
