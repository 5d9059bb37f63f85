/**
 * A client's credential is checked again while its stream is open: a stream (here a long `tools/call`
 * answered over SSE; a GET stream is relayed the same way) is cut once the credential it was opened with
 * expires (a JWT's `exp`, an API key's `expiresAt`). Without that, one request made before the cut-off kept
 * a client's access to the origin's messages for as long as the origin kept the stream alive. Revocation
 * and a change of the tenant's `auth` are covered in test/unit/auth-stream-admission.test.ts.
 */
import { createServer } from 'node:http'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { CryptoKey } from 'jose'
import { startOrigin } from '../support/origin.js'
import type { Origin } from '../support/origin.js'
import { startFirewall } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'
import { closeServer, listenLoopback } from '../support/http-bridge.js'
import { initializeRequest, postRaw, readSse } from '../support/raw.js'

const ISSUER = 'https://issuer.test'
const VERSION = '2025-11-25'
/** The relay's recheck interval, plus slack for a loaded machine. */
const SLACK_MS = 2_000 + 4_000

let fw: Firewall
let origin: Origin
let jwks: { url: string; close: () => Promise<void> }
let signer: CryptoKey

beforeAll(async () => {
  const pair = await generateKeyPair('ES256')
  signer = pair.privateKey
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  const server = createServer((req, res) => {
    if (req.url !== '/jwks.json') return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }))
  })
  const port = await listenLoopback(server)
  jwks = { url: `http://127.0.0.1:${port}/jwks.json`, close: () => closeServer(server) }
  ;[fw, origin] = await Promise.all([startFirewall(), startOrigin({ mode: 'sse', stateful: true })])

  const credential = { secret: 'origin-token', header: 'authorization', scheme: 'Bearer' }
  await fw.admin.putTenant('keyed', { origin: { url: origin.url, credential }, auth: { mode: 'apiKey' } })
  await fw.admin.putTenant('oauth', { origin: { url: origin.url, credential }, auth: { mode: 'jwt', issuer: ISSUER, jwksUrl: jwks.url, algorithms: ['ES256'], clockToleranceSec: 0 } })
  for (const tenant of ['keyed', 'oauth']) {
    const put = await fw.admin.request('PUT', `/admin/v1/tenants/${tenant}/secrets/origin-token`, { body: { value: `origin-secret-${randomUUID()}` } })
    expect(put.status).toBe(204)
  }
})

afterAll(async () => {
  await Promise.all([fw?.stop(), origin?.close(), jwks?.close()])
})

function token(exp: number): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setAudience(fw.tenantUrl('oauth')).setSubject('user-1').setIssuedAt().setExpirationTime(exp).sign(signer)
}

async function issueKey(body: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const issued = await fw.admin.request('POST', '/admin/v1/tenants/keyed/client-keys', { body })
  expect(issued.status).toBe(201)
  return issued.body as { id: string; key: string }
}

/** Initializes a session with `authorization` (when any) and returns its id. */
async function session(url: string, authorization?: string): Promise<{ sessionId: string; headers: Record<string, string> }> {
  const headers: Record<string, string> = authorization ? { authorization } : {}
  const init = await postRaw(url, initializeRequest(1, VERSION), { headers })
  await init.text()
  const sessionId = init.headers.get('mcp-session-id')
  expect(init.status).toBe(200)
  expect(sessionId).toBeTruthy()
  const ack = await postRaw(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { sessionId: sessionId ?? '', protocolVersion: VERSION, headers })
  expect(ack.status).toBe(202)
  return { sessionId: sessionId ?? '', headers }
}

/** Opens a `tools/call` that the origin answers only after 30 s, over SSE, and reads it until it ends. */
async function slowCall(url: string, s: { sessionId: string; headers: Record<string, string> }, id: number): Promise<Promise<unknown[]>> {
  const res = await postRaw(url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'slow', arguments: { ms: 30_000 } } }, { sessionId: s.sessionId, protocolVersion: VERSION, headers: s.headers })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/event-stream')
  return readSse(res, { until: (m) => (m as { id?: unknown }).id === id, timeoutMs: 40_000 }).then((r) => r.messages)
}

describe('an open stream ends when its credential expires', () => {
  it('jwt: at the token\'s exp (plus the clock tolerance), pending requests get -31004', async () => {
    const url = fw.tenantUrl('oauth')
    const exp = Math.floor(Date.now() / 1000) + 6
    const s = await session(url, `Bearer ${await token(exp)}`)
    const ended = await slowCall(url, s, 11)
    const messages = await ended
    const at = Date.now()
    expect(messages.at(-1)).toMatchObject({ id: 11, error: { code: -31004, message: 'Unauthorized' } })
    expect(at).toBeGreaterThanOrEqual(exp * 1000)
    expect(at).toBeLessThan(exp * 1000 + SLACK_MS)
  })

  it('apiKey: a key past its expiresAt', async () => {
    const url = fw.tenantUrl('keyed')
    const expiresAt = new Date(Date.now() + 6_000)
    const { key } = await issueKey({ expiresAt: expiresAt.toISOString() })
    const s = await session(url, `Bearer ${key}`)
    const messages = await slowCall(url, s, 21)
    const at = Date.now()
    expect(messages.at(-1)).toMatchObject({ id: 21, error: { code: -31004 } })
    expect(at).toBeGreaterThanOrEqual(expiresAt.getTime())
    expect(at).toBeLessThan(expiresAt.getTime() + SLACK_MS)
  })
})
