/**
 * `npm run bench:shapes`: `inspect()` under the default policy over messages made of very many small
 * fields, each about as large as the default body caps let through (4 MiB of request, 8 MiB of
 * response), in both directions: a client's `tools/call` arguments, an origin's `tools/call` result
 * (`structuredContent`) and a `tools/list` of many tools; each shape also just under the pipeline's
 * work cap (`src/inspect/work.ts`), the dearest message that is still inspected, and the ordinary
 * messages of `bench:inspect` for comparison. Per message: bytes, ms (median of `BENCH_RUNS`, default 3,
 * bundled as wrangler bundles the Worker), the items counted (`Verdict.work`) and the verdict. Writes
 * `.bench/shapes.json`.
 */
import { fileURLToPath } from 'node:url'
import { compilePolicy } from '../src/inspect/policy.js'
import { inspect } from '../src/inspect/pipeline.js'
import { clearDefinitionMemo } from '../src/inspect/memo.js'
import type { MessageContext, Verdict } from '../src/inspect/types.js'
import type { JsonRpcMessage, JsonValue } from '../src/mcp/jsonrpc.js'
import { TenantConfig } from '../src/tenant/config.js'
import { loadClassifierKernel } from './kernel.js'
import { writeJson } from './report.js'
import { structuredRowsResult, toolsListResult, variantText } from './payloads.js'
import { MAX_INSPECTION_ITEMS } from '../src/inspect/work.js'

const MiB = 1_048_576


/** `unit(i)` for i below `count`, or until their JSON is about `bytes` long. */
function units(unit: (i: number) => JsonValue, limit: { count: number } | { bytes: number }): JsonValue[] {
  const out: JsonValue[] = []
  for (let size = 2, i = 0; 'count' in limit ? i < limit.count : size < limit.bytes; i++) {
    const v = unit(i)
    out.push(v)
    size += JSON.stringify(v).length + 1
  }
  return out
}

/** Nested one-key objects `depth` deep around a short string. */
function nested(depth: number, i: number): JsonValue {
  let v: JsonValue = `v${i % 10}abc`
  for (let d = 0; d < depth; d++) v = { k: v }
  return v
}

/** A shape: its unit, the items one unit counts (`src/inspect/work.ts`), and how the units are put together. */
interface Shape {
  name: string
  unit: (i: number) => JsonValue
  items: number
  asObject?: boolean
}

const SHAPES: Shape[] = [
  { name: '5-character strings', unit: (i) => `s${String(i % 10000).padStart(4, '0')}`, items: 1 },
  { name: 'tiny objects {"a":1}', unit: () => ({ a: 1 }), items: 3 },
  { name: 'one object of distinct keys', unit: (i) => `k${i}:0`, items: 2, asObject: true },
  { name: 'objects nested 55 deep', unit: (i) => nested(55, i), items: 111 },
  { name: 'small numbers', unit: (i) => i % 1000, items: 1 },
  { name: 'long integers (7 digits)', unit: (i) => 1_000_000 + i, items: 1 },
]

function value(shape: Shape, limit: { count: number } | { bytes: number }): JsonValue {
  const list = units(shape.unit, limit)
  return shape.asObject ? Object.fromEntries(list.map((u) => [(u as string).slice(0, -2), 0])) : list
}

interface Case {
  name: string
  message: JsonRpcMessage
  ctx: MessageContext
}

const base = { tenantId: 'bench', requestId: 'bench', era: 'legacy' } as const
const request = { ...base, direction: 'client_to_server', method: 'tools/call', toolName: 'lookup' } as const
const response = { ...base, direction: 'server_to_client', method: 'tools/call', toolName: 'lookup' } as const
const call = (items: JsonValue): JsonRpcMessage => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'lookup', arguments: { items } } })
const structured = (items: JsonValue): JsonRpcMessage => ({ jsonrpc: '2.0', id: 1, result: { content: [], structuredContent: { items } } })
/** Units that keep a message (7 items of its own) just under the cap. */
const under = (items: number): { count: number } => ({ count: Math.floor((MAX_INSPECTION_ITEMS - 16) / items) })

const cases: Case[] = []
for (const shape of SHAPES) {
  cases.push({ name: `request, ${shape.name}, 4 MiB`, message: call(value(shape, { bytes: 4 * MiB - 200 })), ctx: request })
  cases.push({ name: `request, ${shape.name}, under the cap`, message: call(value(shape, under(shape.items))), ctx: request })
  cases.push({ name: `result, ${shape.name}, 8 MiB`, message: structured(value(shape, { bytes: 8 * MiB - 200 })), ctx: response })
  cases.push({ name: `result, ${shape.name}, under the cap`, message: structured(value(shape, under(shape.items))), ctx: response })
}
// The ordinary messages of `bench:inspect`, for their counted work.
cases.push({ name: '16 KB tools/call result', message: { jsonrpc: '2.0', id: 1, result: variantText(16 * 1024, 0) }, ctx: response })
cases.push({ name: 'structured tools/call result, 120 rows', message: { jsonrpc: '2.0', id: 1, result: structuredRowsResult(120) }, ctx: response })
cases.push({ name: '200-tool tools/list result', message: { jsonrpc: '2.0', id: 1, result: toolsListResult(200) }, ctx: { ...base, direction: 'server_to_client', method: 'tools/list' } })
const tool = (i: number): JsonValue => ({ name: `t${i}`, inputSchema: { type: 'object' } })
for (const limit of [{ bytes: 8 * MiB - 200 }, under(7)]) {
  const tools = units(tool, limit)
  cases.push({ name: `tools/list of ${tools.length} tools`, message: { jsonrpc: '2.0', id: 1, result: { tools } }, ctx: { ...base, direction: 'server_to_client', method: 'tools/list' } })
}

const scorer = loadClassifierKernel()
const policy = compilePolicy('bench', 1, TenantConfig.parse({ origin: { url: 'https://o.example/mcp' } }))
const runs = Number(process.env['BENCH_RUNS'] ?? 3)

const rows = cases.map((c) => {
  const bytes = JSON.stringify(c.message).length
  let verdict: Verdict | undefined
  const times: number[] = []
  for (let r = 0; r < runs; r++) {
    clearDefinitionMemo()
    const t = performance.now()
    verdict = inspect(c.message, { ...c.ctx }, policy)
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  const v = verdict as Verdict
  return { message: c.name, bytes, ms: times[Math.floor(times.length / 2)] as number, verdict: describe(v), work: v.work ?? null }
})

function describe(verdict: Verdict): string {
  const ids = new Set(verdict.findings.map((f) => f.ruleId))
  return ids.size === 0 ? verdict.action : `${verdict.action}: ${[...ids].slice(0, 3).join(', ')}`
}

console.log(`Classifier scored in ${scorer === 'wasm' ? 'WebAssembly' : 'TypeScript'}; median of ${runs} runs\n`)
console.log('| message | bytes | inspect ms | work | verdict |')
console.log('|---|---:|---:|---:|---|')
for (const r of rows) console.log(`| ${r.message} | ${r.bytes} | ${r.ms.toFixed(0)} | ${r.work ?? '–'} | ${r.verdict} |`)
await writeJson(fileURLToPath(new URL('../.bench/shapes.json', import.meta.url)), { date: new Date().toISOString(), node: process.version, rows })
