/**
 * jwt-mode client authentication inside workerd, through the Worker's fetch handler: the issuer's JWKS
 * and the origin are stubbed `fetch` targets, and the signing keys are generated per run.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { admin, MCP_HEADERS, workerFetch } from '../support/worker/fetch'
import { clearTenantCache } from '../../src/tenant/store'
import { clearJwksCache } from '../../src/auth/jwt'

const ISSUER = 'https://issuer.example'
const ENDPOINT = 'https://fw.example/t/jwt-unit/mcp'
const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })

let keys: CryptoKeyPair
/** What the stubbed issuer answers: its key set, or a refused connection. */
let issuer: 'up' | 'down' = 'up'
let jwksFetches = 0
let spy: { mockRestore(): void }

beforeAll(async () => {
  clearTenantCache()
  keys = (await generateKeyPair('ES256')) as CryptoKeyPair
  const jwks = { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'unit-key', alg: 'ES256' }] }
  const real = globalThis.fetch.bind(globalThis)
  spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = new URL(new Request(input, init).url)
    if (url.hostname === 'issuer.example') {
      jwksFetches++
      if (issuer === 'down') throw new Error('connection refused')
      return Response.json(jwks)
    }
    if (url.hostname === 'origin.example' && url.pathname === '/refuses') {
      return Response.json({ error: 'invalid_token' }, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } })
    }
    if (url.hostname === 'origin.example') return Response.json({ jsonrpc: '2.0', id: 1, result: {} })
    return real(input, init)
  })
  const res = await admin('PUT', '/tenants/jwt-unit', {
    origin: { url: 'https://origin.example/mcp' },
    auth: { mode: 'jwt', issuer: ISSUER, jwksUrl: `${ISSUER}/jwks.json`, algorithms: ['ES256'] },
  })
  expect([200, 201], await res.clone().text()).toContain(res.status)
  const refusing = await admin('PUT', '/tenants/jwt-refused', {
    origin: { url: 'https://origin.example/refuses' },
    auth: { mode: 'jwt', issuer: ISSUER, jwksUrl: `${ISSUER}/jwks.json`, algorithms: ['ES256'] },
  })
  expect([200, 201], await refusing.clone().text()).toContain(refusing.status)
})

/** A call to a tool the firewall has not seen listed: it lists the origin's tools itself first. */
const toolCall = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'never-listed', arguments: {} } })

afterAll(() => spy.mockRestore())

beforeEach(() => {
  clearJwksCache()
  issuer = 'up'
  jwksFetches = 0
})

function token(audience = ENDPOINT, subject = 'alice'): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'unit-key' }).setIssuer(ISSUER).setAudience(audience).setSubject(subject).setIssuedAt(now).setExpirationTime(now + 60).sign(keys.privateKey)
}

const call = (bearer: string) => workerFetch(ENDPOINT, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${bearer}` }, body: ping })

describe('the issuer JWKS', () => {
  it('is fetched once and reused', async () => {
    const bearer = await token()
    for (let i = 0; i < 3; i++) expect((await call(bearer)).status).toBe(200)
    expect(jwksFetches).toBe(1)
  })

  it('is not fetched again for every request while it is unreachable: each answers 502, one fetch is tried', async () => {
    issuer = 'down'
    const bearer = await token()
    for (let i = 0; i < 5; i++) {
      const res = await call(bearer)
      expect(res.status).toBe(502)
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-31006)
    }
    expect(jwksFetches).toBe(1)
  })

  it('is tried again once the pause after a failure is over, and a malformed token stays a 401 meanwhile', async () => {
    issuer = 'down'
    const bearer = await token()
    expect((await call(bearer)).status).toBe(502)
    expect((await call('not.a.jwt')).status).toBe(401)
    issuer = 'up'
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 11_000 })
    try {
      expect((await call(await token())).status).toBe(200)
    } finally {
      vi.useRealTimers()
    }
    expect(jwksFetches).toBe(2)
  })
})

describe('an origin that refuses the firewall', () => {
  it('is a 502 for the client, not a 401 without a challenge that would send its OAuth client to sign in again', async () => {
    const endpoint = 'https://fw.example/t/jwt-refused/mcp'
    const res = await workerFetch(endpoint, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${await token(endpoint)}` }, body: ping })
    expect(res.status).toBe(502)
    expect(res.headers.get('www-authenticate')).toBeNull()
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-31006)
  })

  it('is the same 502 when the refusal answers the firewall listing the tools itself, never the origin’s challenge', async () => {
    const endpoint = 'https://fw.example/t/jwt-refused/mcp'
    const res = await workerFetch(endpoint, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${await token(endpoint)}` }, body: toolCall })
    expect(res.status).toBe(502)
    expect(res.headers.get('www-authenticate')).toBeNull()
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-31006)
  })
})

describe('the token subject', () => {
  it('becomes the identity only when it is printable text: control characters and broken UTF-16 are a 401', async () => {
    expect((await call(await token(ENDPOINT, 'user:42@example.com'))).status).toBe(200)
    expect((await call(await token(ENDPOINT, 'Zoë Müller'))).status).toBe(200)
    for (const subject of [' ', 'alice\nadmin', 'alice\u0000', 'a\u0085b', 'x\ud800y', 'a'.repeat(1025)]) {
      expect((await call(await token(ENDPOINT, subject))).status, JSON.stringify(subject)).toBe(401)
    }
  })
})
