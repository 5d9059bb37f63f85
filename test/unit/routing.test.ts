import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { admin, ADMIN_TOKEN, MCP_HEADERS, workerFetch } from '../support/worker/fetch'
import { clearTenantCache } from '../../src/tenant/store'
import { createApp } from '../../src/app'

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

  it('keeps refusing a malformed stored config from memory, and serves the config an admin write replaces it with', async () => {
    const id = `broken-${crypto.randomUUID().slice(0, 8)}`
    await env.CONFIG.put(`tenant:${id}`, JSON.stringify({ schema: 1, version: 1, updatedAt: 'x', config: { origin, extra: true } }))
    const url = `https://fw.example/t/${id}/mcp`
    for (let i = 0; i < 3; i++) {
      const res = await workerFetch(url, { method: 'POST', headers: MCP_HEADERS, body: ping })
      expect(res.status).toBe(503)
      expect(await errorOf(res)).toEqual({ code: -31003, message: 'Endpoint unavailable: configuration error' })
    }
    // The write publishes a good record and drops this isolate's copy: the next request reads it.
    expect((await admin('PUT', `/tenants/${id}`, { origin, enabled: false })).status).toBe(201)
    const res = await workerFetch(url, { method: 'POST', headers: MCP_HEADERS, body: ping })
    expect(res.status).toBe(503)
    expect(await errorOf(res)).toEqual({ code: -31003, message: 'Endpoint disabled' })
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

// A hostname routed to the Worker (a tenant's, or one left behind) that KV has no host record for: a new
// claim still propagating, a publish waiting for its retry, a released hostname whose Workers route stays.
describe('routing with FIREWALL_HOSTNAMES set', () => {
  const app = createApp()
  const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext
  const fetchAs = (url: string, init: RequestInit = {}, hostnames = 'FW.Example:8443, admin.fw.example'): Promise<Response> =>
    Promise.resolve(app.fetch(new Request(url, init), { ...env, FIREWALL_HOSTNAMES: hostnames }, ctx))
  const operator = { authorization: `Bearer ${ADMIN_TOKEN}` }
  const post = { method: 'POST', headers: { ...MCP_HEADERS, ...operator }, body: ping }

  beforeEach(async () => {
    clearTenantCache()
    // Disabled: an MCP request that reaches the tenant answers 503 without any origin.
    expect([200, 201]).toContain((await admin('PUT', '/tenants/acme', { origin, hosts: ['mcp.acme.example'], enabled: false })).status)
  })

  it('serves the admin API and path-mapped tenants on the listed hostnames, however they were written there', async () => {
    for (const host of ['fw.example', 'admin.fw.example', 'fw.example.']) {
      expect((await fetchAs(`https://${host}/admin/v1/tenants`, { headers: operator })).status).toBe(200)
      expect((await fetchAs(`https://${host}/t/acme/mcp`, post)).status).toBe(503)
    }
  })

  it.each([
    ['GET', '/admin/v1/tenants'],
    ['GET', '/admin/v1/tenants/acme'],
    ['GET', '/admin/v1/openapi.json'],
    ['POST', '/admin/v1/tenants/acme/kill'],
    ['GET', '/admin/v1/tenants/acme/events'],
    ['POST', '/t/acme/mcp'],
    ['GET', '/t/acme/jwks.json'],
    ['GET', '/.well-known/oauth-protected-resource/t/acme/mcp'],
    ['GET', '/'],
  ] as const)('answers %s %s on a hostname that is neither listed nor a tenant\'s with 404 / -31005', async (method, path) => {
    const res = await fetchAs(`https://stray.example${path}`, method === 'POST' ? post : { headers: operator })
    expect(res.status).toBe(404)
    expect(await errorOf(res)).toEqual({ code: -31005, message: 'Unknown MCP endpoint' })
  })

  it("serves a new tenant's hostname nothing else while its host record propagates", async () => {
    expect((await admin('PUT', '/tenants/acme', { origin, hosts: ['mcp.acme.example', 'new.acme.example'], enabled: false })).status).toBe(200)
    // This location has not seen host:new.acme.example yet.
    await env.CONFIG.delete('host:new.acme.example')
    clearTenantCache()
    try {
      for (const path of ['/admin/v1/tenants', '/t/acme/mcp', '/mcp']) {
        const res = await fetchAs(`https://new.acme.example${path}`, post)
        expect(res.status).toBe(404)
        expect((await errorOf(res)).code).toBe(-31005)
      }
      // A tenant hostname KV knows is served as before: its endpoint, and nothing shared.
      expect((await fetchAs('https://mcp.acme.example/mcp', post)).status).toBe(503)
      expect((await fetchAs('https://mcp.acme.example/admin/v1/tenants', { headers: operator })).status).toBe(404)
    } finally {
      expect((await admin('PUT', '/tenants/acme', { origin, hosts: ['mcp.acme.example'], enabled: false })).status).toBe(200)
    }
  })

  it('serves a hostname given up by its tenant nothing, though its route to the Worker stays', async () => {
    expect((await admin('PUT', '/tenants/acme', { origin, enabled: false })).status).toBe(200)
    clearTenantCache()
    const adminThere = await fetchAs('https://mcp.acme.example/admin/v1/tenants', { headers: operator })
    expect(adminThere.status).toBe(404)
    expect((await fetchAs('https://mcp.acme.example/t/acme/mcp', post)).status).toBe(404)
  })
})

describe('routing with FIREWALL_HOSTNAMES unset', () => {
  it('serves the shared routes on any hostname, and a deployment says once that it should be set', async () => {
    const app = createApp()
    const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext
    const deployed = { ...env, FIREWALL_HOSTNAMES: '', ALLOW_PRIVATE_ORIGINS: '' }
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    try {
      for (const host of ['fw.example', 'other.example']) {
        const res = await app.fetch(new Request(`https://${host}/admin/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }), deployed, ctx)
        expect(res.status).toBe(200)
      }
      const logged = warn.mock.calls.map(([line]) => JSON.parse(String(line)) as { event: string })
      expect(logged).toEqual([{ event: 'firewall_hostnames_unset', host: 'fw.example' }])
    } finally {
      warn.mockRestore()
    }
  })
})
