/**
 * Client authentication end to end: the official SDK client through the firewall to a recording SDK
 * origin, for each auth mode. Refused credentials get 401 with a `WWW-Authenticate` challenge and the
 * origin is never called; accepted ones reach the origin with the tenant's stored credential and a
 * signed identity assertion instead of the client's own credential. JWTs are signed here with keys
 * made for this run and served from a real local JWKS server.
 */
import { createServer } from 'node:http'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { CryptoKey, JWK } from 'jose'
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js'
import { checkResourceAllowed } from '@modelcontextprotocol/sdk/shared/auth-utils.js'
import { startOrigin } from '../support/origin.js'
import type { ExtraTool, Origin, RecordedCall } from '../support/origin.js'
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { mcpClient, startFirewall } from '../support/firewall.js'
import type { Firewall, LegacyClient } from '../support/firewall.js'
import { closeServer, listenLoopback } from '../support/http-bridge.js'
import { IDENTITY_HEADER, verifyIdentityAssertion } from '../../src/auth/assertion-verify.js'

const ISSUER = 'https://issuer.test'
const ORIGIN_SECRET = `origin-secret-${randomUUID()}`

let fw: Firewall
let origin: Origin
let jwks: { url: string; hits: number; close: () => Promise<void> }
let signer: { privateKey: CryptoKey; kid: string }
let stranger: CryptoKey
let apiKey: { id: string; key: string }

/** A real HTTP server for the issuer's JWKS. */
async function serveJwks(keys: JWK[]): Promise<typeof jwks> {
  const state = { hits: 0 }
  const server = createServer((req, res) => {
    state.hits += 1
    if (req.url !== '/jwks.json') return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }))
  })
  const port = await listenLoopback(server)
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get hits() {
      return state.hits
    },
    close: () => closeServer(server),
  }
}

interface TokenOptions {
  aud?: string
  iat?: number
  iss?: string
  exp?: number
  key?: CryptoKey
  sub?: string
}

function token(o: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ scope: 'mcp' })
    .setProtectedHeader({ alg: 'ES256', kid: signer.kid })
    .setIssuer(o.iss ?? ISSUER)
    .setAudience(o.aud ?? fw.tenantUrl('oauth'))
    .setSubject(o.sub ?? 'user-42')
    .setIssuedAt(o.iat ?? now)
    .setExpirationTime(o.exp ?? now + 300)
    .sign(o.key ?? signer.privateKey)
}

beforeAll(async () => {
  const pair = await generateKeyPair('ES256')
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' }
  signer = { privateKey: pair.privateKey, kid: 'test-key' }
  stranger = (await generateKeyPair('ES256')).privateKey
  ;[fw, origin, jwks] = await Promise.all([startFirewall(), startOrigin({ mode: 'sse', stateful: true }), serveJwks([publicJwk])])

  const credential = { secret: 'origin-token', header: 'authorization', scheme: 'Bearer' }
  await fw.admin.putTenant('keyed', { origin: { url: origin.url, credential }, auth: { mode: 'apiKey' } })
  await fw.admin.putTenant('oauth', { origin: { url: origin.url, credential }, auth: { mode: 'jwt', issuer: ISSUER, jwksUrl: jwks.url, algorithms: ['ES256'], requiredScopes: ['mcp'] } })
  await fw.admin.putTenant('other', { origin: { url: origin.url }, auth: { mode: 'apiKey' } })
  await fw.admin.putTenant('open', { origin: { url: origin.url } })
  for (const tenant of ['keyed', 'oauth']) {
    const put = await fw.admin.request('PUT', `/admin/v1/tenants/${tenant}/secrets/origin-token`, { body: { value: ORIGIN_SECRET } })
    expect(put.status).toBe(204)
  }
  apiKey = await fw.admin.issueClientKey('keyed', 'e2e')
})

afterAll(async () => {
  await Promise.all([fw?.stop(), origin?.close(), jwks?.close()])
})

beforeEach(() => origin.reset())

/** Connects the SDK client with `authorization` and keeps every response it got. */
async function connectRecording(url: string, authorization?: string): Promise<{ error: unknown; responses: Response[] }> {
  const responses: Response[] = []
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init)
    responses.push(res.clone())
    return res
  }
  const error = await mcpClient(url, { fetch: recording, ...(authorization ? { headers: { authorization } } : {}) }).then(
    async (c) => {
      await c.close()
      return undefined
    },
    (err: unknown) => err,
  )
  return { error, responses }
}

/** The assertion on an origin call, verified as an origin would (keys fetched from the firewall). */
async function identityAt(call: RecordedCall, tenantId: string): Promise<string> {
  const assertion = call.headers[IDENTITY_HEADER]
  expect(assertion).toBeTypeOf('string')
  const who = await verifyIdentityAssertion(assertion ?? '', { keys: new URL(`t/${tenantId}/jwks.json`, fw.url), tenantId, audience: origin.url })
  return who.subject
}

/**
 * Ends a session once its standalone GET stream has reached the origin, so no late request from it
 * lands in the next test's recording.
 */
async function settle(c: LegacyClient): Promise<void> {
  await origin.waitForResponse((call) => call.method === 'GET')
  await c.terminate()
}

function expectNoClientCredential(calls: RecordedCall[], credential: string): void {
  for (const call of calls) {
    expect(call.headers['authorization']).toBe(`Bearer ${ORIGIN_SECRET}`)
    expect(JSON.stringify(call.headers)).not.toContain(credential)
  }
}

describe('apiKey mode', () => {
  it.each([
    ['a missing key', () => undefined, 'Bearer realm="%URL%"'],
    ['an unknown key', () => `Bearer mfk_0123456789abcdef_${'x'.repeat(43)}`, 'Bearer error="invalid_token", realm="%URL%"'],
    ['a malformed key', () => 'Bearer not-a-key', 'Bearer error="invalid_token", realm="%URL%"'],
    ["another tenant's key", () => `Bearer ${apiKey.key}`, 'Bearer error="invalid_token", realm="%URL%"', 'other'],
  ])('refuses %s with 401 and a challenge; the origin is never called', async (_name, authorization, challenge, tenant = 'keyed') => {
    const url = fw.tenantUrl(tenant)
    const { error, responses } = await connectRecording(url, authorization())
    expect(error).toBeDefined()
    expect(responses.map((r) => r.status)).toEqual([401])
    expect(responses[0]?.headers.get('www-authenticate')).toBe(challenge.replace('%URL%', url))
    expect(await responses[0]?.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -31004, message: 'Unauthorized' } })
    expect(origin.calls).toEqual([])
  })

  it('lets a valid key through: the origin gets the stored credential and an assertion naming the key id, never the key', async () => {
    const c = await mcpClient(fw.tenantUrl('keyed'), { headers: { authorization: `Bearer ${apiKey.key}` } })
    const result = await c.client.callTool({ name: 'echo', arguments: { message: 'hi' } })
    expect(result.content).toEqual([{ type: 'text', text: 'hi' }])
    await settle(c)
    const methods = origin.calls.map((call) => call.method)
    expect(methods).toContain('GET')
    expect(methods).toContain('DELETE')
    expectNoClientCredential(origin.calls, apiKey.key)
    for (const call of origin.calls) expect(await identityAt(call, 'keyed')).toBe(apiKey.id)
  })

  it('never shows the client what it lent the origin: the credential and assertion an origin echoes arrive redacted', async () => {
    const dump: ExtraTool = {
      definition: {
        name: 'request-headers',
        description: 'Returns the HTTP request headers this server received.',
        inputSchema: { type: 'object', properties: {} },
        outputSchema: { type: 'object', properties: { headers: { type: 'object', additionalProperties: { type: 'string' } } }, required: ['headers'] },
      },
      result: async (_args, ctx) => {
        const headers = JSON.stringify(ctx.extra.requestInfo?.headers ?? {})
        await ctx.extra.sendNotification({ method: 'notifications/message', params: { level: 'debug', data: { headers } } })
        return { content: [{ type: 'text', text: headers }], structuredContent: { headers: ctx.extra.requestInfo?.headers ?? {} } }
      },
    }
    await origin.setTools([dump], { notify: false })
    try {
      const c = await mcpClient(fw.tenantUrl('keyed'), { headers: { authorization: `Bearer ${apiKey.key}` } })
      const logged: unknown[] = []
      c.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logged.push(n.params))
      const result = await c.client.callTool({ name: 'request-headers', arguments: {} })
      const call = origin.calls.find((x) => x.body !== undefined && JSON.stringify(x.body).includes('request-headers') && JSON.stringify(x.body).includes('tools/call'))
      const assertion = call?.headers[IDENTITY_HEADER] ?? ''
      expect(assertion.length).toBeGreaterThan(20)
      await settle(c)
      // The origin did get both, and echoed both: in the text, in structuredContent and in a log notification.
      expect(call?.headers['authorization']).toBe(`Bearer ${ORIGIN_SECRET}`)
      expect(logged).toHaveLength(1)
      for (const seen of [JSON.stringify(result), JSON.stringify(logged)]) {
        expect(seen).not.toContain(ORIGIN_SECRET)
        expect(seen).not.toContain(assertion)
        expect(seen).toContain('Bearer [REDACTED:secret]')
        expect(seen).toContain(IDENTITY_HEADER)
      }
      expect((result.structuredContent as { headers: Record<string, string> }).headers[IDENTITY_HEADER]).toBe('[REDACTED:secret]')
    } finally {
      await origin.setTools([], { notify: false })
    }
  })

  it.each([
    ['a list the client asked for', 'headers-listed', true],
    ['the list the firewall asks for itself, before a call', 'headers-self-listed', false],
  ])('keeps what it lent the origin out of the tool pins too: %s', async (_name, toolName, listFirst) => {
    // An origin that writes the request headers it received into a definition (a debug server's
    // self-description): the pin records the definition, and its reviewers read it through the admin API.
    const tool: ExtraTool = {
      definition: { name: toolName, description: `Called with authorization: Bearer ${ORIGIN_SECRET}`, inputSchema: { type: 'object', properties: {} } },
      result: { content: [{ type: 'text', text: 'ok' }] },
    }
    await origin.setTools([tool], { notify: false })
    try {
      const c = await mcpClient(fw.tenantUrl('keyed'), { headers: { authorization: `Bearer ${apiKey.key}` } })
      if (listFirst) expect(JSON.stringify(await c.client.listTools())).not.toContain(ORIGIN_SECRET)
      else await c.client.callTool({ name: toolName, arguments: {} }).catch(() => undefined)
      await settle(c)
      const pins = await fw.admin.request('GET', '/admin/v1/tenants/keyed/tools')
      expect(pins.status).toBe(200)
      const pin = (pins.body as { pins: Array<{ name: string }> }).pins.find((p) => p.name === toolName)
      expect(pin).toBeDefined()
      const shown = JSON.stringify(pin)
      expect(shown).not.toContain(ORIGIN_SECRET)
      expect(shown).toContain('Bearer [REDACTED:secret]')
    } finally {
      await origin.setTools([], { notify: false })
    }
  })

  it('refuses a revoked key', async () => {
    const issued = await fw.admin.request('POST', '/admin/v1/tenants/keyed/client-keys', { body: {} })
    const { id, key } = issued.body as { id: string; key: string }
    await settle(await mcpClient(fw.tenantUrl('keyed'), { headers: { authorization: `Bearer ${key}` } }))
    expect((await fw.admin.request('DELETE', `/admin/v1/tenants/keyed/client-keys/${id}`)).status).toBe(204)
    origin.reset()
    const { responses } = await connectRecording(fw.tenantUrl('keyed'), `Bearer ${key}`)
    expect(responses.map((r) => r.status)).toEqual([401])
    expect(origin.calls).toEqual([])
  })
})

describe('jwt mode', () => {
  const prmUrl = () => `${fw.url}.well-known/oauth-protected-resource/t/oauth/mcp`

  it.each([
    ['a missing token', () => Promise.resolve(undefined), false],
    ['a token for another audience', () => token({ aud: 'https://elsewhere.example/mcp' }), true],
    ["a token for another tenant's endpoint", () => token({ aud: fw.tenantUrl('other') }), true],
    ["a token for the origin (passthrough attempt)", () => token({ aud: origin.url }), true],
    ['an expired token', () => token({ exp: Math.floor(Date.now() / 1000) - 600 }), true],
    ['a token issued in the future (beyond the 30 s clock tolerance)', () => token({ iat: Math.floor(Date.now() / 1000) + 600 }), true],
    ['a token from another issuer', () => token({ iss: 'https://evil.test' }), true],
    ['a token signed with a key not in the JWKS', () => token({ key: stranger }), true],
  ])('refuses %s with 401 and a challenge pointing at the PRM; the origin is never called', async (_name, make, hasError) => {
    const jwt = await make()
    const { error, responses } = await connectRecording(fw.tenantUrl('oauth'), jwt ? `Bearer ${jwt}` : undefined)
    expect(error).toBeDefined()
    expect(responses.map((r) => r.status)).toEqual([401])
    const res = responses[0] as Response
    const error_ = hasError ? 'error="invalid_token", ' : ''
    expect(res.headers.get('www-authenticate')).toBe(`Bearer ${error_}resource_metadata="${prmUrl()}", scope="mcp"`)
    expect(await res.json()).toMatchObject({ error: { code: -31004 } })
    expect(origin.calls).toEqual([])
  })

  it('lets a valid token through: stored credential and an assertion naming the subject, never the token', async () => {
    const jwt = await token()
    const c = await mcpClient(fw.tenantUrl('oauth'), { headers: { authorization: `Bearer ${jwt}` } })
    expect((await c.client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })).content).toEqual([{ type: 'text', text: '5' }])
    await settle(c)
    expect(origin.calls.length).toBeGreaterThanOrEqual(4)
    expectNoClientCredential(origin.calls, jwt)
    for (const call of origin.calls) expect(await identityAt(call, 'oauth')).toBe('user-42')
    expect(jwks.hits).toBeGreaterThan(0)
  })

  it('an assertion is bound to its tenant and origin URL', async () => {
    await settle(await mcpClient(fw.tenantUrl('oauth'), { headers: { authorization: `Bearer ${await token({ sub: 'user-7' })}` } }))
    const assertion = origin.calls[0]?.headers[IDENTITY_HEADER] ?? ''
    const keys = new URL('t/oauth/jwks.json', fw.url)
    await expect(verifyIdentityAssertion(assertion, { keys, tenantId: 'oauth', audience: 'https://other-origin.example/mcp' })).rejects.toThrow(/aud/)
    await expect(verifyIdentityAssertion(assertion, { keys: new URL('t/keyed/jwks.json', fw.url), tenantId: 'oauth', audience: origin.url })).rejects.toThrow()
  })

  it('serves PRM the SDK accepts: found from the challenge and by path, resource = the endpoint, issuer as AS', async () => {
    const res = await fetch(fw.tenantUrl('oauth'), { method: 'POST', headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' }, body: '{}' })
    const challenge = extractWWWAuthenticateParams(res)
    expect(challenge).toEqual({ resourceMetadataUrl: new URL(prmUrl()), scope: 'mcp' })
    const fromChallenge = await discoverOAuthProtectedResourceMetadata(fw.tenantUrl('oauth'), { resourceMetadataUrl: challenge.resourceMetadataUrl ?? '' })
    const byPath = await discoverOAuthProtectedResourceMetadata(fw.tenantUrl('oauth'))
    expect(byPath).toEqual(fromChallenge)
    expect(fromChallenge).toMatchObject({ resource: fw.tenantUrl('oauth'), authorization_servers: [ISSUER], scopes_supported: ['mcp'] })
    expect(checkResourceAllowed({ requestedResource: fw.tenantUrl('oauth'), configuredResource: fromChallenge.resource })).toBe(true)
    expect(origin.calls).toEqual([])
  })
})

describe('passthrough mode (default)', () => {
  it("forwards the client's Authorization unchanged and sends no assertion", async () => {
    const c = await mcpClient(fw.tenantUrl('open'), { headers: { authorization: 'Bearer client-own-token' } })
    await c.client.listTools()
    await settle(c)
    expect(origin.calls.length).toBeGreaterThan(0)
    for (const call of origin.calls) {
      expect(call.headers['authorization']).toBe('Bearer client-own-token')
      expect(call.headers[IDENTITY_HEADER]).toBeUndefined()
    }
  })

  it("keeps the client's own token, which it forwards, out of what it stores and shows: an origin that echoes it is scrubbed", async () => {
    const own = ['client', 'own', 'token', 'for', 'echo', 'test'].join('-')
    const tool: ExtraTool = {
      definition: { name: 'headers-open', description: `Called with authorization: Bearer ${own}`, inputSchema: { type: 'object', properties: {} } },
      result: { content: [{ type: 'text', text: `you sent Bearer ${own}` }] },
    }
    await origin.setTools([tool], { notify: false })
    try {
      const c = await mcpClient(fw.tenantUrl('open'), { headers: { authorization: `Bearer ${own}` } })
      const listed = JSON.stringify(await c.client.listTools())
      const called = JSON.stringify(await c.client.callTool({ name: 'headers-open', arguments: {} }))
      await settle(c)
      expect(origin.calls.some((call) => call.headers['authorization'] === `Bearer ${own}`)).toBe(true)
      for (const seen of [listed, called]) {
        expect(seen).not.toContain(own)
        expect(seen).toContain('Bearer [REDACTED:secret]')
      }
      const pins = await fw.admin.request('GET', '/admin/v1/tenants/open/tools')
      const pin = (pins.body as { pins: Array<{ name: string }> }).pins.find((p) => p.name === 'headers-open')
      expect(pin).toBeDefined()
      expect(JSON.stringify(pin)).not.toContain(own)
    } finally {
      await origin.setTools([], { notify: false })
    }
  })
})

describe('secrets are never returned by the API', () => {
  it('lists names only, and the tenant config holds a reference, not the value', async () => {
    const list = await fw.admin.request('GET', '/admin/v1/tenants/keyed/secrets')
    expect(list.status).toBe(200)
    expect(list.body).toEqual({ secrets: [{ name: 'origin-token', updatedAt: expect.any(String) }] })
    const tenant = await fw.admin.getTenant('keyed')
    const keys = await fw.admin.request('GET', '/admin/v1/tenants/keyed/client-keys')
    for (const answer of [list, tenant, keys]) {
      expect(JSON.stringify(answer.body)).not.toContain(ORIGIN_SECRET)
      expect(JSON.stringify(answer.body)).not.toContain(apiKey.key)
    }
  })
})
