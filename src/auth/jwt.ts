/**
 * Access-token checks for `auth.mode: jwt` (mcp-protocol.md §2.1, 2025-06-18+): signature against the
 * issuer's JWKS, `exp`/`nbf`, `iat` not in the future, `iss`, and `aud` = this endpoint's canonical URI
 * (RFC 8707), with `jose`.
 *
 * The JWKS is fetched with the origin URL rules (checked by the caller), redirects refused, a 5 s timeout
 * and a 64 KiB cap, and cached per isolate by `jose` (10 min; refetched at most every 30 s when a token
 * names an unknown `kid`). A JWKS that cannot be fetched is the firewall's problem, not the client's:
 * it is reported as `jwks_unavailable` (502), never as an invalid token, and not tried again for 10 s.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify } from 'jose'
import type { JWTPayload, JWTVerifyGetKey } from 'jose'
import { FirewallError } from '../errors'
import { readCappedText } from '../proxy/ingress'
import type { JwtAuth } from './config'

const MAX_JWKS_BYTES = 64 * 1024
const MAX_SETS = 1_000
/**
 * After a failed JWKS fetch, requests are answered 502 without fetching for this long. `jose` remembers
 * only successes, so without it every request with a well-formed token would start a fetch (and wait
 * up to 5 s) while the issuer is down: a flood of junk tokens would become a flood at the issuer.
 */
const RETRY_AFTER_FAILURE_MS = 10_000

/** A JWKS fetch that failed: network, status, size, or not JSON. */
class JwksUnavailable extends Error {
  override readonly name = 'JwksUnavailable'
}

const sets = new Map<string, JWTVerifyGetKey>()

/** Fetches a JWKS without following redirects, within a size cap; anything but 200 + JSON throws. */
async function fetchJwks(url: string, init: { headers: Headers; signal: AbortSignal }): Promise<Response> {
  let res: Response
  try {
    res = await fetch(url, { method: 'GET', headers: init.headers, signal: init.signal, redirect: 'manual' })
  } catch (err) {
    throw new JwksUnavailable(`fetch failed: ${String(err)}`)
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined)
    throw new JwksUnavailable(`HTTP ${res.status}`)
  }
  const text = await readCappedText(res, MAX_JWKS_BYTES, () => new FirewallError({ kind: 'origin_response_too_large' })).catch(() => {
    throw new JwksUnavailable('JWKS too large or unreadable')
  })
  try {
    JSON.parse(text)
  } catch {
    throw new JwksUnavailable('JWKS is not JSON')
  }
  return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } })
}

/** Whether `err` means the key set could not be obtained (as opposed to a token it has no key for). */
function isUnavailable(err: unknown): boolean {
  return err instanceof JwksUnavailable || err instanceof errors.JWKSInvalid || err instanceof errors.JWKSTimeout
}

function remoteSet(tenantId: string, jwksUrl: URL): JWTVerifyGetKey {
  const id = `${tenantId} ${jwksUrl.href}`
  let set = sets.get(id)
  if (!set) {
    if (sets.size >= MAX_SETS) sets.clear()
    const remote = createRemoteJWKSet(jwksUrl, { timeoutDuration: 5_000, [customFetch]: fetchJwks })
    let failedAt = Number.NEGATIVE_INFINITY
    // Called only once the token's header passed jose's checks, so a malformed token is still a 401.
    set = async (header, token) => {
      if (Date.now() - failedAt < RETRY_AFTER_FAILURE_MS) throw new JwksUnavailable('last fetch failed; not retried yet')
      try {
        return await remote(header, token)
      } catch (err) {
        if (isUnavailable(err)) failedAt = Date.now()
        throw err
      }
    }
    sets.set(id, set)
  }
  return set
}

/** Forget cached key sets (tests). */
export function clearJwksCache(): void {
  sets.clear()
}

export type TokenVerdict =
  | { ok: true; subject: string; scope?: string; claims: JWTPayload }
  | { ok: false; error: 'invalid_token' }
  | { ok: false; error: 'insufficient_scope' }

/** Longest `sub` taken as an identity (issuers' subjects are ids or URIs, far shorter). */
const MAX_SUBJECT_CHARS = 1024
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * Whether a token's `sub` can be the verified identity: it names the caller in tool and budget policy,
 * logs and the signed assertion the origin gets, so it must be printable, well-formed text of at most
 * {@link MAX_SUBJECT_CHARS} units that is not blank. A signed token whose subject is not is refused, not cleaned.
 */
function usableSubject(sub: string): boolean {
  return sub.length <= MAX_SUBJECT_CHARS && sub.trim() !== '' && !UNPRINTABLE.test(sub)
}

/**
 * Verifies a bearer token for the endpoint whose canonical URI is `resource`. Throws `FirewallError`
 * `origin_unreachable` when the JWKS cannot be fetched.
 */
export async function verifyAccessToken(token: string, auth: JwtAuth, resource: string, tenantId: string, jwksUrl: URL, now?: Date): Promise<TokenVerdict> {
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(token, remoteSet(tenantId, jwksUrl), {
      issuer: auth.issuer,
      audience: resource,
      algorithms: auth.algorithms,
      clockTolerance: auth.clockToleranceSec,
      requiredClaims: ['exp', 'sub'],
      ...(now ? { currentDate: now } : {}),
    }))
  } catch (err) {
    if (isUnavailable(err)) {
      console.error(JSON.stringify({ event: 'jwks_unavailable', tenant: tenantId, error: String(err) }))
      throw new FirewallError({ kind: 'origin_unreachable' })
    }
    if (err instanceof errors.JOSEError) return { ok: false, error: 'invalid_token' }
    throw err
  }
  const subject = typeof payload.sub === 'string' && usableSubject(payload.sub) ? payload.sub : null
  if (subject === null) return { ok: false, error: 'invalid_token' }
  // jose checks `iat` is a number, not when it was: a token issued in the future (beyond the clock
  // tolerance) comes from a broken or forged issuer clock, and would outlive any age an issuer intends.
  const nowSec = Math.floor((now?.getTime() ?? Date.now()) / 1000)
  if (typeof payload.iat === 'number' && payload.iat > nowSec + auth.clockToleranceSec) return { ok: false, error: 'invalid_token' }
  const granted = scopesOf(payload)
  if (!auth.requiredScopes.every((s) => granted.includes(s))) return { ok: false, error: 'insufficient_scope' }
  return { ok: true, subject, claims: payload, ...(granted.length > 0 ? { scope: granted.join(' ') } : {}) }
}

/** Scopes from `scope` (RFC 9068, space-separated) or `scp` (a common array form). */
function scopesOf(payload: JWTPayload): string[] {
  const { scope, scp } = payload
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean)
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === 'string')
  return []
}
