/**
 * Sessions belong to the verified client that created them. In apiKey and jwt mode the origin sees the
 * firewall's own credential for every client, so it cannot tell two clients of one tenant apart: the
 * firewall must refuse a session id to any client other than the one it was issued to (mcp-protocol.md
 * §2.1, "Session IDs MUST NOT be used for authentication"; §2.3, bind state to the user). A refused id is
 * answered as an unknown session (404) and never reaches the origin. Two API-key clients of one tenant
 * against a real SDK origin that keeps an event store, so streams can be resumed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startOrigin } from '../support/origin.js'
import type { Origin } from '../support/origin.js'
import { mcpClient, startFirewall } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'
import { startModernOrigin } from '../support/modern-origin.js'
import type { ModernOrigin } from '../support/modern-origin.js'
import { ACCEPT_BOTH, initializeRequest, postRaw, readSse, startRawOrigin } from '../support/raw.js'
import type { RawOrigin } from '../support/raw.js'

const VERSION = '2025-11-25'

let fw: Firewall
let origin: Origin
let modern: ModernOrigin
/** A 2026-07-28 origin that sets `Mcp-Session-Id` on its answers anyway, as that revision says it must not. */
let minting: RawOrigin
let alice: string // Authorization of the first client
let mallory: string // Authorization of the second client, of the same tenant
let modernKey: string
let confirmingKey: string
let mintingKey: string

beforeAll(async () => {
  ;[fw, origin, modern, minting] = await Promise.all([
    startFirewall(),
    startOrigin({ mode: 'sse', stateful: true }),
    startModernOrigin(),
    startRawOrigin((_req, res, body) => {
      const { id } = JSON.parse(body) as { id: number }
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'origin-minted-id' })
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { resultType: 'complete', tools: [] } }))
    }),
  ])
  await fw.admin.putTenant('bound', { origin: { url: origin.url }, auth: { mode: 'apiKey' } })
  await fw.admin.putTenant('bound-modern', { origin: { url: modern.url }, auth: { mode: 'apiKey' } })
  await fw.admin.putTenant('bound-confirming', { origin: { url: origin.url }, auth: { mode: 'apiKey' }, policy: { tools: { requireApproval: ['add'] } } })
  await fw.admin.putTenant('open', { origin: { url: origin.url } })
  await fw.admin.putTenant('open-modern', { origin: { url: modern.url } })
  await fw.admin.putTenant('open-minting', { origin: { url: minting.url } })
  await fw.admin.putTenant('bound-minting', { origin: { url: minting.url }, auth: { mode: 'apiKey' } })
  const issue = async (tenant: string, name: string): Promise<string> => `Bearer ${(await fw.admin.issueClientKey(tenant, name)).key}`
  alice = await issue('bound', 'alice')
  mallory = await issue('bound', 'mallory')
  modernKey = await issue('bound-modern', 'modern')
  mintingKey = await issue('bound-minting', 'minting')
  confirmingKey = await issue('bound-confirming', 'confirming')
})

afterAll(async () => {
  await Promise.all([fw?.stop(), origin?.close(), modern?.close(), minting?.close()])
})

beforeEach(() => origin.reset())

const modernToolsList = {
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/list',
  params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } },
}

/** A session opened by hand: the id the client got, and the id the origin minted. */
interface Session {
  id: string
  originId: string
}

async function open(url: string, authorization?: string): Promise<Session> {
  const headers: Record<string, string> = authorization ? { authorization } : {}
  const init = await postRaw(url, initializeRequest(1, VERSION), { headers })
  await init.text()
  const id = init.headers.get('mcp-session-id')
  const originId = origin.calls.at(-1)?.responseHeaders?.['mcp-session-id']
  if (!init.ok || !id || !originId) throw new Error(`initialize failed: HTTP ${init.status}`)
  const ack = await postRaw(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { sessionId: id, protocolVersion: VERSION, headers })
  expect(ack.status).toBe(202)
  return { id, originId }
}

function echo(id: number, message: string): Record<string, unknown> {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message } } }
}

function send(url: string, method: 'GET' | 'DELETE', authorization: string, sessionId: string, lastEventId?: string): Promise<Response> {
  return fetch(url, {
    method,
    headers: {
      accept: method === 'GET' ? 'text/event-stream' : ACCEPT_BOTH,
      authorization,
      'mcp-session-id': sessionId,
      'mcp-protocol-version': VERSION,
      ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
    },
  })
}

/** The refusal of a session the firewall did not issue to this client: an unknown session, as the SDK server answers it. */
async function expectUnknownSession(res: Response): Promise<void> {
  expect(res.status).toBe(404)
  expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } })
}

/** The origin calls made with the origin's session id since the last reset. */
function originCallsIn(session: Session): string[] {
  return origin.calls.filter((c) => c.headers['mcp-session-id'] === session.originId).map((c) => c.method)
}

describe('a session id in apiKey mode', () => {
  it('is not the origin\'s: the client gets a bound id of visible ASCII, the origin gets its own on every request', async () => {
    const url = fw.tenantUrl('bound')
    const c = await mcpClient(url, { headers: { authorization: alice } })
    try {
      expect((await c.client.callTool({ name: 'echo', arguments: { message: 'hi' } })).content).toEqual([{ type: 'text', text: 'hi' }])
      const clientId = c.transport.sessionId ?? ''
      const [originId] = origin.sessionIds().filter((id) => origin.calls.some((call) => call.headers['mcp-session-id'] === id))
      expect(originId).toBeTypeOf('string')
      expect(clientId).not.toBe(originId)
      expect(clientId).toMatch(/^[\x21-\x7e]+$/)
      await origin.waitForResponse((call) => call.method === 'GET')
      await c.terminate()
      const later = origin.calls.filter((call) => call.headers['mcp-session-id'] !== undefined)
      expect(later.map((call) => call.method)).toEqual(expect.arrayContaining(['POST', 'GET', 'DELETE']))
      for (const call of later) expect(call.headers['mcp-session-id']).toBe(originId)
      for (const call of origin.calls) expect(JSON.stringify(call.headers)).not.toContain(clientId)
    } finally {
      await c.close()
    }
  })

  it("cannot be used by another client of the tenant to post into the session", async () => {
    const url = fw.tenantUrl('bound')
    const victim = await open(url, alice)
    origin.reset()
    await expectUnknownSession(await postRaw(url, echo(2, 'from mallory'), { sessionId: victim.id, protocolVersion: VERSION, headers: { authorization: mallory } }))
    expect(origin.calls).toEqual([])
    // The owner still can.
    const own = await postRaw(url, echo(3, 'from alice'), { sessionId: victim.id, protocolVersion: VERSION, headers: { authorization: alice } })
    expect(own.status).toBe(200)
    expect((await readSse(own)).messages).toContainEqual(expect.objectContaining({ id: 3, result: expect.objectContaining({ content: [{ type: 'text', text: 'from alice' }] }) }))
    expect(originCallsIn(victim)).toEqual(['POST'])
  })

  it("cannot be used by another client to open the session's GET stream", async () => {
    const url = fw.tenantUrl('bound')
    const victim = await open(url, alice)
    origin.reset()
    await expectUnknownSession(await send(url, 'GET', mallory, victim.id))
    expect(origin.calls).toEqual([])
  })

  it("cannot be used by another client to resume the session's stream with its Last-Event-ID", async () => {
    const url = fw.tenantUrl('bound')
    const victim = await open(url, alice)
    const stream = await readSse(await postRaw(url, echo(4, 'alice only'), { sessionId: victim.id, protocolVersion: VERSION, headers: { authorization: alice } }))
    const lastEventId = stream.events[0]?.id ?? ''
    expect(lastEventId).toMatch(/^mcpfw2~/) // the priming event: everything after it is replayed on a resume
    origin.reset()
    const hijack = await send(url, 'GET', mallory, victim.id, lastEventId)
    await expectUnknownSession(hijack)
    expect(origin.calls).toEqual([])
    // With a session of its own, the stream id is not one the firewall issued for it (400, as before).
    const own = await open(url, mallory)
    origin.reset()
    expect((await send(url, 'GET', mallory, own.id, lastEventId)).status).toBe(400)
    expect(origin.calls).toEqual([])
    // The owner resumes it.
    const resumed = await readSse(await send(url, 'GET', alice, victim.id, lastEventId), { until: (m) => (m as { id?: unknown }).id === 4, timeoutMs: 5_000 })
    expect(resumed.messages).toContainEqual(expect.objectContaining({ id: 4 }))
  })

  it('cannot be used by another client to end the session', async () => {
    const url = fw.tenantUrl('bound')
    const victim = await open(url, alice)
    origin.reset()
    await expectUnknownSession(await send(url, 'DELETE', mallory, victim.id))
    expect(origin.calls).toEqual([])
    const still = await postRaw(url, echo(5, 'still here'), { sessionId: victim.id, protocolVersion: VERSION, headers: { authorization: alice } })
    expect(still.status).toBe(200)
    await still.text()
    expect((await send(url, 'DELETE', alice, victim.id)).status).toBe(200)
    expect(originCallsIn(victim)).toEqual(['POST', 'DELETE'])
  })

  it("is refused when it is the origin's own id, edited, or of another form, and none of them reaches the origin", async () => {
    const url = fw.tenantUrl('bound')
    const session = await open(url, alice)
    const last = session.id.at(-1) === 'A' ? 'B' : 'A'
    const edited = [session.originId, `${session.id.slice(0, -1)}${last}`, session.id.replace(session.originId, `${session.originId}x`), 'x', `${session.id}~`]
    origin.reset()
    for (const id of edited) await expectUnknownSession(await postRaw(url, echo(6, 'hi'), { sessionId: id, protocolVersion: VERSION, headers: { authorization: alice } }))
    expect(origin.calls).toEqual([])
  })

  it("carries the user's confirmation of a sensitive call: the session that declared elicitation is the one that answers", async () => {
    const c = await mcpClient(fw.tenantUrl('bound-confirming'), { headers: { authorization: confirmingKey }, onElicitation: () => ({ action: 'accept', content: { confirm: true } }) })
    try {
      expect((await c.client.callTool({ name: 'add', arguments: { a: 20, b: 22 } })).content).toEqual([{ type: 'text', text: '42' }])
      expect(c.elicitationRequests).toHaveLength(1)
    } finally {
      await c.close()
    }
  })

  it('is not sent on by a 2026-07-28 request, which has no sessions', async () => {
    const c = await postRaw(
      fw.tenantUrl('bound-modern'),
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } },
      { protocolVersion: '2026-07-28', sessionId: 'not-a-session', headers: { authorization: modernKey, 'mcp-method': 'tools/list' } },
    )
    expect(c.status).toBe(200)
    expect(c.headers.get('mcp-session-id')).toBeNull()
    await c.text()
    expect(modern.calls.at(-1)?.headers['mcp-session-id']).toBeUndefined()
  })
})

describe('a session id in passthrough mode', () => {
  it("is the origin's own, unchanged (no verified identity to bind it to)", async () => {
    const session = await open(fw.tenantUrl('open'))
    expect(session.id).toBe(session.originId)
  })

  it('is not sent on by a 2026-07-28 request, which has no sessions', async () => {
    modern.reset()
    const res = await postRaw(fw.tenantUrl('open-modern'), modernToolsList, {
      protocolVersion: '2026-07-28',
      sessionId: 'not-a-session',
      headers: { 'mcp-method': 'tools/list' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('mcp-session-id')).toBeNull()
    await res.text()
    expect(modern.calls).toHaveLength(1)
    expect(modern.calls[0]?.headers['mcp-session-id']).toBeUndefined()
  })
})

describe("an origin's session id on a 2026-07-28 answer", () => {
  it.each([
    ['passthrough', 'open-minting', () => ({})],
    ['apiKey', 'bound-minting', () => ({ authorization: mintingKey })],
  ])('is not relayed to the client in %s mode', async (_mode, tenant, auth) => {
    const res = await postRaw(fw.tenantUrl(tenant), modernToolsList, { protocolVersion: '2026-07-28', headers: { ...auth(), 'mcp-method': 'tools/list' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('mcp-session-id')).toBeNull()
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: 1, result: { resultType: 'complete', tools: [] } })
  })
})
