/**
 * Limits on unauthenticated MCP requests, driven with exact stand-in bindings and a recording
 * `authenticate`, so each case can assert whether any credential work happened.
 */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { limitUnauthenticated } from '../../src/abuse/mcp-guard'
import { forgetRefusals } from '../../src/abuse/limiter'
import type { AuthOutcome } from '../../src/auth/authenticate'
import { TenantConfig } from '../../src/tenant/config'
import type { LoadedTenant } from '../../src/tenant/store'
import { ExactLimit, envWith, unreachable } from './abuse-support'

type Mode = 'passthrough' | 'apiKey'

function tenant(mode: Mode, id = 'acme'): LoadedTenant {
  const config = TenantConfig.parse({ origin: { url: 'https://origin.example/mcp' }, auth: { mode } })
  return { id, record: { schema: 1, version: 1, updatedAt: '2026-01-01T00:00:00Z', config } }
}

const GOOD = 'Bearer good'
const refusal = (status: 401 | 403): AuthOutcome => ({ ok: false, response: new Response('{}', { status, headers: { 'www-authenticate': 'Bearer' } }) })
const success: AuthOutcome = { ok: true, auth: { mode: 'apiKey', identity: 'k1', originHeaders: async () => new Headers(), lent: [], stillAdmitted: async () => true } }

/** A client of `t`: sends from `ip` (none when null) with `authorization` (none when undefined). */
function client(e: Env, t: LoadedTenant, authStatus: (authorization: string | null) => AuthOutcome = (a) => (a === GOOD ? success : refusal(401))) {
  const verified: string[] = []
  const send = async (ip: string | null, authorization?: string): Promise<Response | 'authenticated'> => {
    const headers = new Headers({ ...(ip ? { 'cf-connecting-ip': ip } : {}), ...(authorization ? { authorization } : {}) })
    const request = new Request('https://fw.example/t/acme/mcp', { method: 'POST', headers })
    const outcome = await limitUnauthenticated({ request, tenant: t, env: e, requestId: 'req-1' }, async () => {
      verified.push(authorization ?? '(none)')
      return authStatus(headers.get('authorization'))
    })
    return outcome.ok ? 'authenticated' : outcome.response
  }
  return { send, verified }
}

const statusOf = (r: Response | 'authenticated'): number | 'authenticated' => (r === 'authenticated' ? r : r.status)

beforeEach(() => forgetRefusals())

describe('limitUnauthenticated', () => {
  it('does nothing for a passthrough tenant: no limiter is asked, whatever the answer', async () => {
    const e = envWith({ mcp_ip: unreachable, mcp_tenant: unreachable })
    const c = client(e, tenant('passthrough'), () => refusal(401))
    for (let i = 0; i < 5; i++) expect(statusOf(await c.send('203.0.113.1'))).toBe(401)
    expect(c.verified).toHaveLength(5)
  })

  it('never counts authenticated requests, nor 403 (insufficient scope)', async () => {
    const e = envWith({ mcp_ip: unreachable, mcp_tenant: unreachable })
    const ok = client(e, tenant('apiKey'))
    for (let i = 0; i < 5; i++) expect(await ok.send('203.0.113.1', GOOD)).toBe('authenticated')
    const scoped = client(e, tenant('apiKey'), () => refusal(403))
    expect(statusOf(await scoped.send('203.0.113.1', GOOD))).toBe(403)
  })

  it('past the per-IP limit answers 429 / -31008 with Retry-After, then refuses that address before verifying anything', async () => {
    const byIp = new ExactLimit(3)
    const c = client(envWith({ mcp_ip: byIp, mcp_tenant: new ExactLimit(1000) }), tenant('apiKey'))
    for (let i = 0; i < 3; i++) expect(statusOf(await c.send('203.0.113.1', 'Bearer bad'))).toBe(401)
    const limited = await c.send('203.0.113.1', 'Bearer bad')
    expect(limited).not.toBe('authenticated')
    const res = limited as Response
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('60')
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('www-authenticate')).toBeNull()
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -31008, message: 'Too many requests', data: { requestId: 'req-1' } } })
    expect(c.verified).toHaveLength(4)

    // Even a good credential from that address is refused unread, and nothing more is counted.
    const calls = byIp.calls.length
    expect(statusOf(await c.send('203.0.113.1', GOOD))).toBe(429)
    expect(statusOf(await c.send('203.0.113.1'))).toBe(429)
    expect(c.verified).toHaveLength(4)
    expect(byIp.calls).toHaveLength(calls)

    // Other addresses are untouched.
    expect(await c.send('198.51.100.2', GOOD)).toBe('authenticated')
    expect(statusOf(await c.send('198.51.100.2', 'Bearer bad'))).toBe(401)
  })

  it('past the per-tenant limit refuses credential-less requests unread, verifies credentialed ones, and lets valid clients in', async () => {
    const c = client(envWith({ mcp_ip: new ExactLimit(1000), mcp_tenant: new ExactLimit(3) }), tenant('apiKey'))
    for (let i = 1; i <= 3; i++) expect(statusOf(await c.send(`203.0.113.${i}`))).toBe(401)
    expect(statusOf(await c.send('203.0.113.4'))).toBe(429)
    expect(c.verified).toHaveLength(4)

    expect(statusOf(await c.send('203.0.113.5'))).toBe(429)
    expect(c.verified).toHaveLength(4)
    expect(statusOf(await c.send('203.0.113.6', 'Bearer bad'))).toBe(429)
    expect(c.verified).toHaveLength(5)
    expect(await c.send('203.0.113.7', GOOD)).toBe('authenticated')

    // Another tenant of the same firewall is not affected.
    const other = client(envWith({ mcp_ip: new ExactLimit(1000), mcp_tenant: new ExactLimit(3) }), tenant('apiKey', 'other'))
    expect(statusOf(await other.send('203.0.113.5'))).toBe(401)
  })

  it('counts a request without a client address by tenant only', async () => {
    const byTenant = new ExactLimit(1)
    const c = client(envWith({ mcp_ip: unreachable, mcp_tenant: byTenant }), tenant('apiKey'))
    expect(statusOf(await c.send(null))).toBe(401)
    expect(statusOf(await c.send(null))).toBe(429)
    expect(byTenant.calls).toEqual(['acme', 'acme'])
  })

  it('keeps the 401 when the limiter fails (fail open: the client was refused anyway)', async () => {
    const broken: RateLimit = { limit: () => Promise.reject(new Error('down')) }
    const c = client(envWith({ mcp_ip: broken, mcp_tenant: broken }), tenant('apiKey'))
    for (let i = 0; i < 3; i++) expect(statusOf(await c.send('203.0.113.1'))).toBe(401)
  })

  it('uses the real local bindings by default', async () => {
    const c = client(env, tenant('apiKey', `real-${crypto.randomUUID().slice(0, 8)}`))
    expect(statusOf(await c.send('192.0.2.200', 'Bearer bad'))).toBe(401)
  })
})
