/**
 * The firewall's own auth routes inside workerd: protected-resource metadata (shared and tenant
 * hostnames), the identity JWKS, the secrets and client-key admin API, and the 401 challenges. The
 * origin is unreachable on purpose: every request here is answered by the firewall.
 */
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { admin, ADMIN_TOKEN, MCP_HEADERS, workerFetch } from '../support/worker/fetch'
import { authAdminRoutes } from '../../src/auth/admin-routes'
import { clearTenantCache } from '../../src/tenant/store'

const origin = { url: 'https://origin.invalid/mcp' }
const jwt = { mode: 'jwt', issuer: 'https://issuer.example', jwksUrl: 'https://issuer.example/jwks.json', requiredScopes: ['mcp'] }
const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })

beforeAll(async () => {
  clearTenantCache()
  for (const [id, config] of [
    ['oauth', { origin, auth: jwt, hosts: ['mcp.oauth.example'] }],
    ['keyed', { origin, auth: { mode: 'apiKey' }, hosts: ['mcp.keyed.example'] }],
    ['open', { origin }],
    ['browser', { origin, auth: { mode: 'apiKey' }, allowedOrigins: ['https://app.example'] }],
  ] as const) {
    const res = await admin('PUT', `/tenants/${id}`, config)
    expect([200, 201], await res.clone().text()).toContain(res.status)
  }
  // A passthrough config lending an origin credential is refused when written (below); one stored before
  // that check, as KV would still hold it, is refused at traffic time too.
  await env.CONFIG.put('tenant:lender', JSON.stringify({ schema: 1, version: 1, updatedAt: 'x', config: { origin: { ...origin, credential: { secret: 'origin-token', header: 'authorization' } } } }))
})

describe('protected-resource metadata (RFC 9728)', () => {
  const expected = (resource: string) => ({
    resource,
    authorization_servers: ['https://issuer.example'],
    bearer_methods_supported: ['header'],
    // No resource_signing_alg_values_supported: it names algorithms the resource signs its responses with
    // (RFC 9728 §2), and the firewall signs none; the token algorithms are the authorization server's to list.
    scopes_supported: ['mcp'],
  })

  it('is served for a jwt tenant at the path the SDK derives from the shared-host endpoint', async () => {
    const res = await workerFetch('https://fw.example/.well-known/oauth-protected-resource/t/oauth/mcp')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(await res.json()).toEqual(expected('https://fw.example/t/oauth/mcp'))
  })

  it.each(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'])('is served on a jwt tenant hostname at %s', async (path) => {
    const res = await workerFetch(`https://mcp.oauth.example${path}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(expected('https://mcp.oauth.example/mcp'))
  })

  it('answers the browser preflight the SDK triggers with MCP-Protocol-Version', async () => {
    const res = await workerFetch('https://fw.example/.well-known/oauth-protected-resource/t/oauth/mcp', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'mcp-protocol-version' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-headers')).toContain('MCP-Protocol-Version')
  })

  it.each([
    ['a passthrough tenant (shared host)', 'https://fw.example/.well-known/oauth-protected-resource/t/open/mcp'],
    ['an apiKey tenant (shared host)', 'https://fw.example/.well-known/oauth-protected-resource/t/keyed/mcp'],
    ['an apiKey tenant (its hostname)', 'https://mcp.keyed.example/.well-known/oauth-protected-resource'],
    ["a jwt tenant's origin AS metadata (never forwarded in Mode B)", 'https://mcp.oauth.example/.well-known/oauth-authorization-server'],
    ['a jwt tenant hostname, 2025-03-26 fallback endpoint', 'https://mcp.oauth.example/authorize'],
    ['a PRM path for another endpoint', 'https://mcp.oauth.example/.well-known/oauth-protected-resource/other'],
  ])('is 404 for %s', async (_name, url) => {
    expect((await workerFetch(url)).status).toBe(404)
  })
})

describe('401 challenges at the endpoint', () => {
  it.each([
    ['jwt, no token', 'https://fw.example/t/oauth/mcp', undefined, 'Bearer resource_metadata="https://fw.example/.well-known/oauth-protected-resource/t/oauth/mcp", scope="mcp"'],
    ['jwt on its hostname', 'https://mcp.oauth.example/mcp', undefined, 'Bearer resource_metadata="https://mcp.oauth.example/.well-known/oauth-protected-resource/mcp", scope="mcp"'],
    ['apiKey, no key', 'https://fw.example/t/keyed/mcp', undefined, 'Bearer realm="https://fw.example/t/keyed/mcp"'],
    ['apiKey, unknown key', 'https://fw.example/t/keyed/mcp', `mfk_0123456789abcdef_${'A'.repeat(43)}`, 'Bearer error="invalid_token", realm="https://fw.example/t/keyed/mcp"'],
    ['apiKey, not a bearer token', 'https://fw.example/t/keyed/mcp', 'Basic dXNlcjpwdw==', 'Bearer realm="https://fw.example/t/keyed/mcp"'],
  ])('%s → 401 with the challenge and -31004', async (_name, url, credential, challenge) => {
    const headers: Record<string, string> = { ...MCP_HEADERS }
    if (credential !== undefined) headers['authorization'] = credential.startsWith('Basic') ? credential : `Bearer ${credential}`
    const res = await workerFetch(url, { method: 'POST', headers, body: ping })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(challenge)
    const body = await res.json<{ error: { code: number; message: string; data: { requestId: string } } }>()
    expect(body.error).toEqual({ code: -31004, message: 'Unauthorized', data: { requestId: res.headers.get('x-request-id') } })
  })

  it('lets an allowed browser origin read the challenge (CORS exposes WWW-Authenticate)', async () => {
    const res = await workerFetch('https://fw.example/t/browser/mcp', { method: 'POST', headers: { ...MCP_HEADERS, origin: 'https://app.example' }, body: ping })
    expect(res.status).toBe(401)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(res.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate')
  })

  it('refuses GET and DELETE the same way (the stream and session termination are protected too)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await workerFetch('https://fw.example/t/keyed/mcp', { method, headers: { accept: 'text/event-stream', 'mcp-session-id': 's' } })
      expect(res.status).toBe(401)
    }
  })

  it('fails closed when a passthrough tenant references an origin credential (it would be lent to anyone)', async () => {
    const res = await workerFetch('https://fw.example/t/lender/mcp', { method: 'POST', headers: MCP_HEADERS, body: ping })
    expect(res.status).toBe(503)
    const write = await admin('PUT', '/tenants/lender2', { origin: { ...origin, credential: { secret: 'origin-token' } } })
    expect(write.status).toBe(400)
    expect(await write.json()).toEqual({ error: 'invalid_config', issues: [{ path: 'origin.credential', message: 'needs client authentication (auth.mode apiKey or jwt)' }] })
  })
})

describe('secrets admin API', () => {
  it('stores a secret (204), lists names and dates only, never returns or stores the value in clear', async () => {
    const value = `sk-test-${crypto.randomUUID()}`
    expect((await admin('PUT', '/tenants/oauth/secrets/origin-token', { value })).status).toBe(204)
    const list = await admin('GET', '/tenants/oauth/secrets')
    expect(list.status).toBe(200)
    const text = await list.text()
    expect(text).not.toContain(value)
    expect(JSON.parse(text)).toEqual({ secrets: [{ name: 'origin-token', updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }] })
    expect(await env.CONFIG.get('secret:oauth:origin-token')).not.toContain(value)
    // No route reads a value back: a secret's path takes only PUT and DELETE.
    const readBack = await admin('GET', '/tenants/oauth/secrets/origin-token')
    expect([readBack.status, readBack.headers.get('allow')]).toEqual([405, 'DELETE, PUT'])
    expect(await readBack.json()).toEqual({ error: 'method_not_allowed', allow: ['DELETE', 'PUT'] })
    expect((await admin('DELETE', '/tenants/oauth/secrets/origin-token')).status).toBe(204)
    expect((await admin('DELETE', '/tenants/oauth/secrets/origin-token')).status).toBe(404)
    expect(await env.CONFIG.get('secret:oauth:origin-token')).toBeNull()
  })

  it.each([
    ['a bad name', '/tenants/oauth/secrets/Bad%20Name', { value: 'x' }, 400, { error: 'invalid_secret_name', message: 'must match [a-z0-9][a-z0-9_.-]{0,63}' }],
    ['an empty value', '/tenants/oauth/secrets/s', { value: '' }, 400, { error: 'invalid_secret', issues: [{ path: 'value', message: expect.any(String) }] }],
    ['an extra field', '/tenants/oauth/secrets/s', { value: 'x', note: 1 }, 400, { error: 'invalid_secret', issues: [{ path: '(root)', message: expect.stringContaining('note') }] }],
    ['an unknown tenant', '/tenants/nobody/secrets/s', { value: 'x' }, 404, { error: 'not_found' }],
  ])('refuses %s', async (_name, path, body, status, expected) => {
    const res = await admin('PUT', path, body)
    expect(res.status).toBe(status)
    expect(await res.json()).toEqual(expected)
    expect((await env.CONFIG.list({ prefix: 'secret:nobody:' })).keys).toEqual([])
  })

  it('says what to set when the firewall has no SECRETS_MASTER_KEY', async () => {
    const noKey = { ...env, SECRETS_MASTER_KEY: '' }
    const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} }
    for (const [method, path, body] of [['PUT', 'secrets/s', { value: 'x' }], ['POST', 'secrets/reencrypt', undefined]] as const) {
      const req = new Request(`https://fw.example/admin/v1/tenants/oauth/${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      })
      const res = await authAdminRoutes().fetch(req, noKey, ctx as unknown as ExecutionContext)
      expect(res.status).toBe(503)
      expect(await res.json()).toEqual({ error: 'secrets_disabled', message: expect.stringContaining('set the SECRETS_MASTER_KEY Worker secret') })
    }
    expect(await env.CONFIG.get('secret:oauth:s')).toBeNull()
  })

  it('requires the operator token', async () => {
    const res = await admin('PUT', '/tenants/oauth/secrets/s', { value: 'x' }, 'wrong-token')
    expect(res.status).toBe(401)
    expect(await env.CONFIG.get('secret:oauth:s')).toBeNull()
  })
})

describe('client keys admin API', () => {
  it('issues a key once (201), lists it without key or hash, and deletes it', async () => {
    const res = await admin('POST', '/tenants/keyed/client-keys', { name: 'ci', expiresAt: new Date(Date.now() + 86_400_000).toISOString() })
    expect(res.status).toBe(201)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const issued = await res.json<{ id: string; key: string; createdAt: string; expiresAt: string; name: string }>()
    expect(issued.key).toMatch(new RegExp(`^mfk_${issued.id}_`))
    const list = await (await admin('GET', '/tenants/keyed/client-keys')).json()
    expect(list).toEqual({ keys: [{ id: issued.id, createdAt: issued.createdAt, expiresAt: issued.expiresAt, name: 'ci' }] })
    expect((await admin('DELETE', `/tenants/keyed/client-keys/${issued.id}`)).status).toBe(204)
    expect((await admin('DELETE', `/tenants/keyed/client-keys/${issued.id}`)).status).toBe(404)
  })

  it('refuses an expiry in the past', async () => {
    const res = await admin('POST', '/tenants/keyed/client-keys', { expiresAt: '2001-01-01T00:00:00Z' })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: 'invalid_client_key', issues: [{ path: 'expiresAt', message: 'must be in the future' }] })
  })
})

describe('identity JWKS', () => {
  it('publishes the public key only', async () => {
    const res = await workerFetch('https://fw.example/t/keyed/jwks.json')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/jwk-set+json')
    const { keys } = await res.json<{ keys: Array<Record<string, string>> }>()
    expect(keys).toEqual([{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: expect.any(String), alg: 'ES256', use: 'sig' }])
  })
})
