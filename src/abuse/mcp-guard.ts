/**
 * Limits on unauthenticated MCP requests (docs/abuse.md). Only apiKey and jwt tenants are involved:
 * a passthrough tenant's requests go straight to `authenticate` with no lookup at all, and an
 * authenticated request costs two in-memory map lookups and is never counted.
 *
 * - Before authentication, with no I/O: a client address this isolate has seen go over its limit is
 *   refused 429 whatever it presents, so no credential is verified for it; while the tenant is over
 *   its limit, requests that carry no credential at all are refused 429 too.
 * - After a 401 from client auth: the refusal is counted per client address and per tenant; when either
 *   is over its limit the 401 becomes a 429.
 *
 * A tenant over its limit does not refuse credentialed requests before verifying them: otherwise anyone
 * could lock a tenant's legitimate clients out with 600 junk requests a minute.
 */
import { errorBody, toWire } from '../errors'
import type { AuthOutcome, AuthRequest } from '../auth/authenticate'
import { clientKey } from './client-ip'
import { count, refusedFor } from './limiter'

/**
 * Runs `authenticate` inside the unauthenticated-request limits and returns its outcome, or a 429
 * refusal (`ok: false`) when a limit applies.
 *
 * @example const outcome = await limitUnauthenticated(r, () => authenticate(r, target.url))
 */
export async function limitUnauthenticated(r: AuthRequest, authenticate: () => Promise<AuthOutcome>): Promise<AuthOutcome> {
  if (r.tenant.record.config.auth.mode === 'passthrough') return authenticate()
  const ip = clientKey(r.request.headers)
  const tenant = r.tenant.id
  const early = (ip !== null ? refusedFor('mcp_ip', ip) : null) ?? (hasCredential(r.request) ? null : refusedFor('mcp_tenant', tenant))
  if (early !== null) return { ok: false, response: tooManyRequests(early, r.requestId) }

  const outcome = await authenticate()
  if (outcome.ok || outcome.response.status !== 401) return outcome
  const ctx = { requestId: r.requestId, tenant }
  const [byIp, byTenant] = await Promise.all([ip !== null ? count(r.env, 'mcp_ip', ip, ctx) : null, count(r.env, 'mcp_tenant', tenant, ctx)])
  const retryAfter = byIp ?? byTenant
  if (retryAfter === null) return outcome
  await outcome.response.body?.cancel()
  return { ok: false, response: tooManyRequests(retryAfter, r.requestId) }
}

/** The 429: JSON-RPC error -31008 (id null: the body was never read) with `Retry-After`. */
export function tooManyRequests(retryAfter: number, requestId: string): Response {
  const wire = toWire({ kind: 'rate_limited', retryAfter })
  return new Response(errorBody(wire, null, requestId), {
    status: wire.status,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...wire.headers },
  })
}

function hasCredential(request: Request): boolean {
  return (request.headers.get('authorization') ?? '').trim() !== ''
}
