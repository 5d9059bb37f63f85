import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { admin, MCP_HEADERS, workerFetch } from '../support/worker/fetch'
import { clearTenantCache } from '../../src/tenant/store'

// The origin is never reached in these tests: every request is refused before forwarding.
const origin = { url: 'https://origin.invalid/mcp' }
const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })

async function errorOf(res: Response): Promise<{ code: number; message: string }> {
  const body = await res.json<{ jsonrpc: string; id: unknown; error: { code: number; message: string; data: { requestId: string } } }>()
  expect(body.jsonrpc).toBe('2.0')
  expect(body.error.data.requestId).toBe(res.headers.get('x-request-id'))
  return { code: body.error.code, message: body.error.message }
}

describe('routing', () => {
  beforeEach(async () => {
    clearTenantCache()
    expect([200, 201]).toContain((await admin('PUT', '/tenants/acme', { origin, hosts: ['mcp.acme.example'] })).status)
  })

  it('answers an unknown tenant with 404 / -31005 and caches the miss briefly', async () => {
    const res = await workerFetch('https://fw.example/t/nobody/mcp', { method: 'POST', headers: MCP_HEADERS, body: ping })
    expect(res.status).toBe(404)
    expect(await errorOf(res)).toEqual({ code: -31005, message: 'Unknown MCP endpoint' })
    // Written after the miss: still unknown within the negative-cache window.
    await env.CONFIG.put('tenant:nobody', JSON.stringify({ schema: 1, version: 1, updatedAt: 'x', config: { origin } }))
    const again = await workerFetch('https://fw.example/t/nobody/mcp', { method: 'POST', headers: MCP_HEADERS, body: ping })
    expect(again.status).toBe(404)
  })

  it('fails closed on a malformed stored config (503 / -31003), forwarding nothing', async () => {
    await env.CONFIG.put('tenant:broken', JSON.stringify({ schema: 1, version: 1, updatedAt: 'x', config: { origin: { url: 'https://o.example/mcp' }, extra: true } }))
    const res = await workerFetch('https://fw.example/t/broken/mcp', { method: 'POST', headers: MCP_HEADERS, body: ping })
    expect(res.status).toBe(503)
    expect(await errorOf(res)).toEqual({ code: -31003, message: 'Endpoint unavailable: configuration error' })
  })

  it.each(['/t/acme/mcp/', '/t/acme/MCP', '/t/ACME/mcp', '/t/acme/%6dcp', '/t/acme//mcp', '/t/acme/mcp/../mcp2', '/t//mcp', '/mcp', '/'])(
    'refuses path variants on the shared hostname: %s',
    async (path) => {
      const res = await workerFetch(`https://fw.example${path}`, { method: 'POST', headers: MCP_HEADERS, body: ping })
      expect(res.status).toBe(404)
    },
  )

  it.each(['/t/acme/mcp', '/t/other/mcp', '/MCP', '/mcp/', '/%6dcp', '/admin/v1/tenants/acme', '/sse', '/message'])(
    'on a tenant hostname serves only the endpoint path, refusing %s',
    async (path) => {
      const res = await workerFetch(`https://mcp.acme.example${path}`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: 'Bearer test-admin-token' },
        body: ping,
      })
      expect(res.status).toBe(404)
    },
  )

  it('treats the fully qualified form of a tenant hostname (trailing dot) as that hostname', async () => {
    const adminThere = await workerFetch('https://mcp.acme.example./admin/v1/tenants', { headers: { authorization: 'Bearer test-admin-token' } })
    expect(adminThere.status).toBe(404)
    const other = await workerFetch('https://mcp.acme.example./t/other/mcp', { method: 'POST', headers: MCP_HEADERS, body: ping })
    expect(other.status).toBe(404)
  })

  it('answers a Host no tenant could claim (longer than a DNS name) as an unknown tenant, not an internal error', async () => {
    // 12 labels of 50: a name DNS cannot hold (over 253), and past the longest key KV takes.
    const long = `${Array.from({ length: 12 }, () => 'a'.repeat(50)).join('.')}.fw.example`
    const res = await workerFetch(`https://${long}/t/no-such-tenant/mcp`, { method: 'POST', headers: MCP_HEADERS, body: ping })
    expect(res.status).toBe(404)
    expect(await errorOf(res)).toEqual({ code: -31005, message: 'Unknown MCP endpoint' })
  })

  it('never serves a hostname with the config of a tenant that no longer lists it', async () => {
    // acme gives up mcp.acme.example and another tenant takes it; this isolate still routes the name to acme.
    expect((await admin('PUT', '/tenants/acme', { origin, hosts: ['mcp.acme.example'], enabled: false })).status).toBe(200)
    clearTenantCache()
    expect((await workerFetch('https://mcp.acme.example/mcp', { method: 'POST', headers: MCP_HEADERS, body: ping })).status).toBe(503)
    expect((await admin('PUT', '/tenants/acme', { origin, enabled: false })).status).toBe(200)
    expect([200, 201]).toContain((await admin('PUT', '/tenants/acme-next', { origin, hosts: ['mcp.acme.example'] })).status)
    try {
      const moved = await workerFetch('https://mcp.acme.example/mcp', { method: 'POST', headers: MCP_HEADERS, body: ping })
      expect(moved.status).toBe(404)
      expect((await errorOf(moved)).code).toBe(-32601)
      // The same when KV's copy of the host record is the stale one: acme's own config decides.
      await env.CONFIG.put('host:stale.acme.example', JSON.stringify({ tenant: 'acme' }))
      const stale = await workerFetch('https://stale.acme.example/mcp', { method: 'POST', headers: MCP_HEADERS, body: ping })
      expect(stale.status).toBe(404)
      const adminThere = await workerFetch('https://stale.acme.example/admin/v1/tenants', { headers: { authorization: 'Bearer test-admin-token' } })
      expect(adminThere.status).toBe(404)
    } finally {
      await env.CONFIG.delete('host:stale.acme.example')
      expect((await admin('PUT', '/tenants/acme-next', { origin })).status).toBe(200)
    }
  })

  // Discovery on a tenant hostname is forwarded to the origin (passthrough): a stopped tenant forwards nothing.
  const discovery = [
    ['POST', '/token'],
    ['POST', '/register'],
    ['GET', '/.well-known/oauth-authorization-server'],
  ] as const

  // Discovery reads metadata (and 2025-03-26 token and registration requests post): any other method is
  // refused here, not sent to the origin as a GET.
  it.each([
    ['PUT', '/.well-known/oauth-protected-resource', 'GET, HEAD, OPTIONS'],
    ['DELETE', '/.well-known/oauth-protected-resource/mcp', 'GET, HEAD, OPTIONS'],
    ['POST', '/.well-known/oauth-authorization-server', 'GET, HEAD, OPTIONS'],
    ['PATCH', '/.well-known/openid-configuration', 'GET, HEAD, OPTIONS'],
    ['POST', '/authorize', 'GET, HEAD, OPTIONS'],
    ['DELETE', '/token', 'GET, HEAD, POST, OPTIONS'],
    ['PUT', '/register', 'GET, HEAD, POST, OPTIONS'],
  ] as const)('answers %s %s on a tenant hostname with 405 and Allow: %s, forwarding nothing', async (method, path, allow) => {
    const res = await workerFetch(`https://mcp.acme.example${path}`, { method, body: 'x' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe(allow)
    expect(await errorOf(res)).toEqual({ code: -32000, message: 'Method not allowed' })
  })

  it.each([
    ['/.well-known/oauth-protected-resource', 'GET, HEAD, OPTIONS'],
    ['/.well-known/oauth-authorization-server', 'GET, HEAD, OPTIONS'],
    ['/authorize', 'GET, HEAD, OPTIONS'],
    ['/token', 'GET, HEAD, POST, OPTIONS'],
    ['/register', 'GET, HEAD, POST, OPTIONS'],
  ] as const)('answers a browser preflight for %s on a tenant hostname with the methods it takes: %s', async (path, allow) => {
    expect((await admin('PUT', '/tenants/acme', { origin, hosts: ['mcp.acme.example'], allowedOrigins: ['https://app.example'] })).status).toBe(200)
    clearTenantCache()
    const res = await workerFetch(`https://mcp.acme.example${path}`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(res.headers.get('access-control-allow-methods')).toBe(allow)
  })

  it.each(discovery)('refuses %s %s on the hostname of a disabled tenant (503 / -31003)', async (method, path) => {
    expect((await admin('PUT', '/tenants/acme', { origin, hosts: ['mcp.acme.example'], enabled: false })).status).toBe(200)
    clearTenantCache()
    const res = await workerFetch(`https://mcp.acme.example${path}`, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password' } : {}) })
    expect(res.status).toBe(503)
    expect((await errorOf(res)).code).toBe(-31003)
  })

  it.each(discovery)('refuses %s %s on the hostname of a killed tenant (503 / -31003)', async (method, path) => {
    expect((await admin('POST', '/tenants/acme/kill', {})).status).toBe(200)
    try {
      const res = await workerFetch(`https://mcp.acme.example${path}`, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password' } : {}) })
      expect(res.status).toBe(503)
      expect((await errorOf(res)).code).toBe(-31003)
    } finally {
      expect((await admin('DELETE', '/tenants/acme/kill')).status).toBe(200)
    }
  })
})
