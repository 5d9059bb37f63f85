/**
 * Limits on the admin API (docs/abuse.md), per client address, applied before the admin routes compare
 * any token: an address this isolate has seen fail authentication too often is refused with no I/O;
 * every other request is counted against the overall admin limit first; a 401 from the routes is then
 * counted as a failed authentication, and past that limit it becomes a 429. Requests without a client
 * address (service bindings, in-process tests) are not limited.
 */
import { clientKey } from './client-ip'
import { count, refusedFor } from './limiter'

/** The admin API answer for a limited client: 429 `{ error: 'rate_limited' }` with `Retry-After`. */
export function adminTooManyRequests(retryAfter: number): Response {
  return Response.json({ error: 'rate_limited' }, { status: 429, headers: { 'Retry-After': String(retryAfter) } })
}

/**
 * Serves one admin request through the per-address limits; `next` runs the admin routes.
 *
 * @example return limitAdmin(c.req.raw, c.env, requestId, () => admin.fetch(c.req.raw, c.env, c.executionCtx))
 */
export async function limitAdmin(request: Request, env: Env, requestId: string, next: () => Promise<Response>): Promise<Response> {
  const ip = clientKey(request.headers)
  if (ip === null) return next()
  const blocked = refusedFor('admin_failed_ip', ip) ?? refusedFor('admin_ip', ip)
  if (blocked !== null) return adminTooManyRequests(blocked)
  const overall = await count(env, 'admin_ip', ip, { requestId })
  if (overall !== null) return adminTooManyRequests(overall)

  const response = await next()
  if (response.status !== 401) return response
  const failed = await count(env, 'admin_failed_ip', ip, { requestId })
  if (failed === null) return response
  await response.body?.cancel()
  return adminTooManyRequests(failed)
}
