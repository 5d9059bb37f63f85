/**
 * The tool gate's own work on a list answer is bounded: a list of more definitions than the pins can hold
 * for an origin is refused before any definition is compared, scanned or recorded, and the definition scan
 * of one list counts against the inspection work cap. Through the real `ToolPins` object.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { JsonObject, JsonRpcMessage, JsonRpcRequest } from '../../src/mcp/jsonrpc'
import type { ToolGate } from '../../src/tools/gate'
import type { OriginLister } from '../../src/tools/origin-list'
import { MAX_PINS_PER_ORIGIN } from '../../src/tools/pin-types'
import { testGate } from './tools-support'
import { Exchange } from '../../src/proxy/exchange'
import { readEvents } from '../../src/audit/sink'

const ORIGIN = 'https://origin.example/mcp'
const HOSTILE = 20_000

function gateFor(tools: unknown = {}, opts: { lister?: OriginLister; monitor?: boolean } = {}) {
  return testGate(tools, { ...opts, origin: ORIGIN, prefix: 'list-cap', era: 'legacy' })
}

const tiny = (n: number): JsonObject[] => Array.from({ length: n }, (_, i) => ({ name: `t${i}`, inputSchema: { type: 'object' } }))
let id = 0
const listResult = (tools: JsonObject[]): JsonRpcMessage => ({ jsonrpc: '2.0', id: ++id, result: { tools } })
const list = (gate: ToolGate, tools: JsonObject[]) => gate.beforeEmit(listResult(tools), 'tools/list')
const call = (name: string): JsonRpcRequest => ({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name, arguments: {} } })
const pinCount = async (tenantId: string) => (await env.TOOL_PINS.getByName(tenantId).list(ORIGIN)).length
const REFUSED = { error: { code: -31001, data: { reason: 'inspection-error' } } }

describe('the tool gate on a list of more definitions than an origin can have pinned', () => {
  it('refuses the answer whole, having recorded none of it', async () => {
    const { gate, tenantId } = gateFor()
    const message = listResult(tiny(HOSTILE))
    expect(await gate.beforeEmit(message, 'tools/list')).toMatchObject({ jsonrpc: '2.0', id: (message as { id: number }).id, ...REFUSED })
    expect(await pinCount(tenantId)).toBe(0)
  }, 60_000)

  it('refuses it in monitor mode and alert mode too: what cannot be judged is never forwarded', async () => {
    const monitored = gateFor({}, { monitor: true })
    expect(await list(monitored.gate, tiny(HOSTILE))).toMatchObject(REFUSED)
    expect(await pinCount(monitored.tenantId)).toBe(0)
    const alerting = gateFor({ pinning: 'alert' })
    expect(await list(alerting.gate, tiny(HOSTILE))).toMatchObject(REFUSED)
    expect(await pinCount(alerting.tenantId)).toBe(0)
  }, 60_000)

  it('reaches the client through the exchange as -31001 inspection-error, logged as applied even in monitor mode', async () => {
    const { gate, tenantId } = gateFor({}, { monitor: true })
    const i = gate.init
    const exchange = new Exchange({ tenantId, configVersion: 1, requestId: i.requestId, era: 'legacy', policy: i.policy, sink: i.sink, tools: gate })
    expect(await exchange.fromClientChecked({ jsonrpc: '2.0', id: 77, method: 'tools/list', params: {} })).toHaveProperty('forward')
    expect(await exchange.fromServerChecked({ jsonrpc: '2.0', id: 77, result: { tools: tiny(HOSTILE) } })).toEqual({
      emit: { jsonrpc: '2.0', id: 77, error: { code: -31001, message: 'Blocked by MCP firewall: inspection-error', data: { requestId: i.requestId, reason: 'inspection-error' } } },
    })
    i.sink.flush()
    await i.sink.settled()
    expect((await readEvents(env, tenantId, 10)).map((e) => [e.method, e.verdict, e.monitor, e.ruleIds])).toEqual([['tools/list', 'block', false, ['tool-list-too-long']]])
  }, 60_000)

  it('pins a list at the limit as before, and refuses one more', async () => {
    const { gate, tenantId } = gateFor()
    const atLimit = tiny(MAX_PINS_PER_ORIGIN)
    const passed = await list(gate, atLimit)
    expect('result' in passed && (passed.result['tools'] as JsonObject[]).length).toBe(MAX_PINS_PER_ORIGIN)
    expect(await pinCount(tenantId)).toBe(MAX_PINS_PER_ORIGIN)
    expect(await list(gate, tiny(MAX_PINS_PER_ORIGIN + 1))).toMatchObject(REFUSED)
  }, 60_000)

  it('leaves a list alone when nothing is pinned (the access lists only)', async () => {
    const { gate } = gateFor({ pinning: 'off', deny: ['t1'] })
    const passed = await list(gate, tiny(HOSTILE))
    expect('result' in passed && (passed.result['tools'] as JsonObject[]).length).toBe(HOSTILE - 1)
  }, 60_000)

  it("refuses a call when the origin's own list (a call before any list) is that long, recording none of it", async () => {
    const { gate, tenantId } = gateFor({}, { lister: async () => tiny(HOSTILE) })
    expect(await gate.beforeForward(call('t1'))).toMatchObject({ error: { code: -31001, data: { reason: 'tool-list-unavailable' } } })
    expect(await pinCount(tenantId)).toBe(0)
  }, 60_000)

  it('refuses a call after a list_changed when the relisted origin serves that many, and stays stale', async () => {
    let served = tiny(3)
    const { gate, tenantId } = gateFor({}, { lister: async () => served })
    await list(gate, served)
    await gate.beforeNotify('notifications/tools/list_changed')
    served = tiny(HOSTILE)
    expect(await gate.beforeForward(call('t1'))).toMatchObject({ error: { code: -31001, data: { reason: 'tool-list-unavailable' } } })
    expect(await pinCount(tenantId)).toBe(3)
    served = tiny(3)
    expect(await gate.beforeForward(call('t1'))).toBeNull()
  }, 60_000)
})

describe('the definition scan of one list', () => {
  // Ten definitions of 25,000 enum values each: few tools, but every value is a field the scan reads.
  const wide = (n: number): JsonObject[] =>
    Array.from({ length: n }, (_, i) => ({ name: `w${i}`, inputSchema: { type: 'object', properties: { v: { type: 'string', enum: Array.from({ length: 25_000 }, () => 'x') } } } }))

  it('counts against the inspection work cap: a list past it is refused, having recorded none of it', async () => {
    const { gate, tenantId } = gateFor()
    expect(await list(gate, wide(10))).toMatchObject(REFUSED)
    expect(await pinCount(tenantId)).toBe(0)
  }, 60_000)

  it('pins a list within it as before', async () => {
    const { gate, tenantId } = gateFor()
    const passed = await list(gate, wide(2))
    expect('result' in passed && (passed.result['tools'] as JsonObject[]).length).toBe(2)
    expect(await pinCount(tenantId)).toBe(2)
  }, 60_000)
})
