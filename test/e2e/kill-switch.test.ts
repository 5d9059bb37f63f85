/**
 * The kill switch end to end: from the admin call, new requests are refused with -31003, open streams
 * end within the staleness bound, single tools can be stopped, and restoring brings traffic back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOrigin } from '../support/origin.js'
import type { Origin } from '../support/origin.js'
import { mcpClient, startFirewall } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'
import { postRaw, rawSession, readSse } from '../support/raw.js'
import { MAX_AGE_MS } from '../../src/guard/bounds.js'

let fw: Firewall
let origin: Origin

beforeAll(async () => {
  ;[fw, origin] = await Promise.all([startFirewall(), startOrigin({ mode: 'sse', stateful: true, keepAliveMs: 200 })])
  await fw.admin.putTenant('killable', { origin: { url: origin.url } })
  await fw.admin.putTenant('deletable', { origin: { url: origin.url } })
})
afterAll(async () => {
  await Promise.all([fw?.stop(), origin?.close()])
})

/**
 * A `slow` tool call (30 s unless `ms` says otherwise) answered on an SSE stream of a new session: the
 * stream's messages up to the call's answer, and the session, for what a test sends next.
 */
async function slowCall(url: string, id: number, ms = 30_000): Promise<{ sessionId: string; pending: ReturnType<typeof readSse> }> {
  const sessionId = await rawSession(url)
  const stream = await postRaw(url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'slow', arguments: { ms } } }, { sessionId, protocolVersion: '2025-11-25' })
  expect(stream.status).toBe(200)
  return { sessionId, pending: readSse(stream, { until: (m) => (m as { id?: unknown }).id === id, timeoutMs: 20_000 }) }
}

describe('kill switch', () => {
  it('stops new requests and ends an open stream within the bound, then restores', async () => {
    const url = fw.tenantUrl('killable')
    const { sessionId, pending } = await slowCall(url, 31)

    const killedAt = Date.now()
    const kill = await fw.admin.request('POST', 'admin/v1/tenants/killable/kill', { body: {} })
    expect(kill).toMatchObject({ status: 200, body: { killed: true } })

    const ended = await pending
    expect(Date.now() - killedAt).toBeLessThan(MAX_AGE_MS + 5_000)
    expect(ended.messages.at(-1)).toMatchObject({ id: 31, error: { code: -31003, message: 'Endpoint disabled' } })

    const before = origin.calls.length
    const refused = await postRaw(url, { jsonrpc: '2.0', id: 32, method: 'ping' }, { sessionId, protocolVersion: '2025-11-25' })
    expect(refused.status).toBe(503)
    expect(await refused.json()).toMatchObject({ error: { code: -31003 } })
    expect(origin.calls.length).toBe(before)

    expect(await fw.admin.request('DELETE', 'admin/v1/tenants/killable/kill')).toMatchObject({ status: 200, body: { killed: false } })
    const c = await mcpClient(url)
    expect((await c.client.callTool({ name: 'echo', arguments: { message: 'back' } })).content).toEqual([{ type: 'text', text: 'back' }])
    await c.close()
  })

  it('stops a single tool: its calls get -31003 without reaching the origin, other tools work', async () => {
    await fw.admin.request('POST', 'admin/v1/tenants/killable/kill', { body: { tool: 'add' } })
    const c = await mcpClient(fw.tenantUrl('killable'))
    try {
      const err = await c.client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }).catch((e: unknown) => e)
      expect((err as { code?: number }).code).toBe(-31003)
      expect(origin.invocations.some((i) => i.name === 'add')).toBe(false)
      expect((await c.client.callTool({ name: 'echo', arguments: { message: 'ok' } })).content).toEqual([{ type: 'text', text: 'ok' }])
    } finally {
      await c.close()
      await fw.admin.request('DELETE', 'admin/v1/tenants/killable/kill?tool=add')
    }
  })

  it("ends a deleted tenant's open stream within the bound, as a kill does", async () => {
    const url = fw.tenantUrl('deletable')
    const { pending } = await slowCall(url, 41)

    const deletedAt = Date.now()
    expect((await fw.admin.request('DELETE', 'admin/v1/tenants/deletable')).status).toBe(204)

    // The stream would otherwise go on serving (and writing state for) a tenant that no longer exists.
    const ended = await pending
    expect(Date.now() - deletedAt).toBeLessThan(MAX_AGE_MS + 5_000)
    expect(ended.messages.at(-1)).toMatchObject({ id: 41, error: { code: -31003 } })
  })

  it("refuses the answer to a call of a tool killed while the call's stream is open", async () => {
    const url = fw.tenantUrl('killable')
    const { pending } = await slowCall(url, 61, MAX_AGE_MS + 3_000)
    await fw.admin.request('POST', 'admin/v1/tenants/killable/kill', { body: { tool: 'slow' } })
    try {
      // The origin still answers (the call was running there): the client gets the kill, not the result.
      const ended = await pending
      expect(ended.messages.at(-1)).toMatchObject({ id: 61, error: { code: -31003, message: 'Tool disabled' } })
    } finally {
      await fw.admin.request('DELETE', 'admin/v1/tenants/killable/kill?tool=slow')
    }
  })

  it('ends an open stream when the config disables the tenant, as a kill does', async () => {
    await fw.admin.putTenant('disabled-later', { origin: { url: origin.url } })
    const url = fw.tenantUrl('disabled-later')
    const { pending } = await slowCall(url, 51)

    const disabledAt = Date.now()
    await fw.admin.putTenant('disabled-later', { origin: { url: origin.url }, enabled: false })

    // `enabled: false` answers every request with -31003: a stream opened before it is no exception.
    const ended = await pending
    expect(Date.now() - disabledAt).toBeLessThan(MAX_AGE_MS + 5_000)
    expect(ended.messages.at(-1)).toMatchObject({ id: 51, error: { code: -31003 } })
  })

  it('refuses kill calls without a credential', async () => {
    expect((await fw.admin.request('POST', 'admin/v1/tenants/killable/kill', { body: {}, token: null })).status).toBe(401)
    expect((await fw.admin.request('GET', 'admin/v1/tenants/killable/kill')).body).toMatchObject({ killed: false })
  })
})
