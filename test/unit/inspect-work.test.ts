import { describe, expect, it } from 'vitest'
import { inspect } from '../../src/inspect/pipeline'
import { compilePolicy } from '../../src/inspect/policy'
import type { CompiledPolicy } from '../../src/inspect/policy'
import { clearDefinitionMemo } from '../../src/inspect/memo'
import { MAX_INSPECTION_ITEMS } from '../../src/inspect/work'
import { TenantConfig } from '../../src/tenant/config'
import type { Detector, MessageContext, Verdict } from '../../src/inspect/types'
import type { JsonRpcMessage, JsonValue } from '../../src/mcp/jsonrpc'
import { Exchange } from '../../src/proxy/exchange'
import type { EventSink } from '../../src/audit/sink'
import type { VerdictEvent } from '../../src/audit/events'

const MiB = 1_048_576
let version = 1

/** The default policy, each detector counting the fields it is asked about. */
function counted(policy: object = {}): { policy: CompiledPolicy; fields: () => number } {
  const compiled = compilePolicy('unit', version++, TenantConfig.parse({ origin: { url: 'https://o.example/mcp' }, policy }))
  let seen = 0
  const detectors: Detector[] = compiled.detectors.map((d) => ({
    id: d.id,
    detect(field, ctx) {
      seen++
      return d.detect(field, ctx)
    },
  }))
  return { policy: { ...compiled, detectors }, fields: () => seen }
}

const ctx = (over: Partial<MessageContext> = {}): MessageContext => ({ tenantId: 'unit', direction: 'server_to_client', requestId: 'r-work', era: 'legacy', ...over })
const clientCall = ctx({ direction: 'client_to_server', method: 'tools/call', toolName: 'lookup' })
const callResult = ctx({ method: 'tools/call', toolName: 'lookup' })

/** `unit(i)` repeated until their JSON array is about `bytes` long. */
function filled(bytes: number, unit: (i: number) => JsonValue): JsonValue[] {
  const out: JsonValue[] = []
  for (let size = 2, i = 0; size < bytes; i++) {
    const v = unit(i)
    out.push(v)
    size += JSON.stringify(v).length + 1
  }
  return out
}

function nested(depth: number, i: number): JsonValue {
  let v: JsonValue = `leaf${i % 10}`
  for (let d = 0; d < depth; d++) v = { k: v }
  return v
}

const call = (items: JsonValue): JsonRpcMessage => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'lookup', arguments: { items } } })
const structured = (items: JsonValue): JsonRpcMessage => ({ jsonrpc: '2.0', id: 1, result: { content: [], structuredContent: { items } } })

/** Messages of very many small fields, each within the default body caps (4 MiB requests, 8 MiB responses). */
const PATHOLOGICAL: Array<[string, () => JsonRpcMessage, MessageContext]> = [
  ['a request of 5-character strings', () => call(filled(4 * MiB, (i) => `s${String(i % 10_000).padStart(4, '0')}`)), clientCall],
  ['a request of tiny objects', () => call(filled(4 * MiB, () => ({ a: 1 }))), clientCall],
  ['a request of one object with many keys', () => call(Object.fromEntries(filled(4 * MiB, (i) => `k${i}`).map((k) => [k as string, 0]))), clientCall],
  ['a request of 7-digit integers', () => call(filled(4 * MiB, (i) => 1_000_000 + i)), clientCall],
  ['a result of 5-character strings', () => structured(filled(8 * MiB, (i) => `s${String(i % 10_000).padStart(4, '0')}`)), callResult],
  ['a result of objects nested 55 deep', () => structured(filled(8 * MiB, (i) => nested(55, i))), callResult],
  ['a result of small numbers', () => structured(filled(8 * MiB, (i) => i % 1000)), callResult],
  // Content blocks, which are also joined into one field.
  ['a result of tiny text blocks', () => ({ jsonrpc: '2.0', id: 1, result: { content: filled(8 * MiB, (i) => ({ type: 'text', text: `t${i % 10}` })) } }), callResult],
  [
    'a tools/list of many tiny tools',
    () => ({ jsonrpc: '2.0', id: 1, result: { tools: filled(8 * MiB, (i) => ({ name: `t${i}`, inputSchema: { type: 'object' } })) } }),
    ctx({ method: 'tools/list' }),
  ],
]

const refusal = { ruleId: 'inspection-work-exceeded', kind: 'error', path: '', score: 1, action: 'block' }

describe('inspection work per message', () => {
  it.each(PATHOLOGICAL)('refuses %s once it has counted the cap, before any detector reads a field', (_, make, context) => {
    clearDefinitionMemo()
    const { policy, fields } = counted()
    const verdict = inspect(make(), { ...context }, policy)
    expect(verdict).toEqual({ action: 'block', reason: 'inspection-error', findings: [refusal], work: expect.any(Number) })
    // The walk stopped at the first item past the cap.
    expect(verdict.work).toBe(MAX_INSPECTION_ITEMS + 1)
    expect(fields()).toBe(0)
  }, 60_000)

  it('refuses in monitor mode too: what could not be inspected is never forwarded', () => {
    const events: VerdictEvent[] = []
    const sink = { record: (e: VerdictEvent) => void events.push(e), showToolAs: () => undefined } as unknown as EventSink
    const { policy } = counted({ monitor: true, revealRuleIds: true })
    const exchange = new Exchange({ tenantId: 'unit', configVersion: 1, requestId: 'r-work', era: 'legacy', policy, sink })
    const message = call(filled(4 * MiB, (i) => `s${String(i % 10_000).padStart(4, '0')}`))
    expect(exchange.fromClient(message)).toEqual({
      answer: {
        jsonrpc: '2.0',
        id: 1,
        error: { code: -31001, message: 'Blocked by MCP firewall: inspection-error', data: { requestId: 'r-work', reason: 'inspection-error', ruleIds: ['inspection-work-exceeded'] } },
      },
    })
    expect(events).toEqual([expect.objectContaining({ verdict: 'block', monitor: false, ruleIds: ['inspection-work-exceeded'], kinds: ['error'] })])
  }, 60_000)

  it('lets an ordinary large message through, every field read, well within the cap', () => {
    // 4,000 rows of a structured result (about 700 KB, 68,000 items), the shape of the bench's 120-row one.
    const rows = Array.from({ length: 4000 }, (_, i) => ({
      id: 1000 + i,
      name: `Item ${i}`,
      status: i % 2 ? 'active' : 'archived',
      owner: `user${i % 7}`,
      region: 'eu-west',
      tags: ['alpha', 'beta'],
      updated: '2026-11-02T10:00:00Z',
    }))
    const message = { jsonrpc: '2.0' as const, id: 1, result: { content: [{ type: 'text', text: 'Rows as asked.' }], structuredContent: { rows } } }
    const { policy, fields } = counted()
    const verdict: Verdict = inspect(message, callResult, policy)
    expect(verdict).toEqual({ action: 'allow', findings: [], work: expect.any(Number) })
    expect(verdict.work).toBeLessThan(MAX_INSPECTION_ITEMS / 2)
    expect(fields()).toBeGreaterThan(4000 * 14)
  }, 60_000)
})
