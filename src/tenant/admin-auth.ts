/**
 * Operator authentication for the admin API: `Authorization: Bearer <ADMIN_TOKEN>`, compared in
 * constant time. Answers 401 with no detail; an unset ADMIN_TOKEN disables the admin API (503).
 */
import type { MiddlewareHandler } from 'hono'

export function adminAuth(): MiddlewareHandler<{ Bindings: Env }> {
  return async function adminAuthMiddleware(c, next) {
    const expected = c.env.ADMIN_TOKEN
    if (!expected) return c.json({ error: 'admin_api_disabled' }, 503)
    const header = c.req.header('Authorization') ?? ''
    const presented = header.startsWith('Bearer ') ? header.slice(7) : ''
    if (!(await constantTimeEqual(presented, expected))) {
      return c.json({ error: 'unauthorized' }, 401, { 'WWW-Authenticate': 'Bearer realm="admin"' })
    }
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
