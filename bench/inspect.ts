/**
 * `npm run bench:inspect`: the inspection pipeline alone, in Node — `inspect()` under the default
 * policy (whatever `compilePolicy` builds today: rule packs, classifier, unicode) over a 16 KB
 * `tools/call` result, a structured result of 120 rows (short fields) and a 200-tool `tools/list` result (seen before, its definitions answered from the
 * memo of `src/inspect/memo.ts`, and at first sight, with the memo emptied before each call). Reports µs per message, MB/s of serialised
 * message, and the ratio to `JSON.parse` of the same bytes (the floor every proxy pays), then the same
 * 16 KB result through each detector alone. The 16 KB result cycles through the bench origin's
 * `VARIANTS` texts, so no detector's memory of its last input (the classifier keeps one) answers for
 * it. Writes `.bench/inspect.json`.
 */
import { fileURLToPath } from 'node:url'
import { compilePolicy } from '../src/inspect/policy.js'
import { inspect } from '../src/inspect/pipeline.js'
import { clearDefinitionMemo } from '../src/inspect/memo.js'
import type { MessageContext, Verdict } from '../src/inspect/types.js'
import type { JsonRpcMessage } from '../src/mcp/jsonrpc.js'
import { TenantConfig } from '../src/tenant/config.js'
import { loadClassifierKernel } from './kernel.js'
import { measure } from './measure.js'
import { structuredRowsResult, toolsListResult, variantText, BENCH_TOOL, VARIANTS } from './payloads.js'
import type { CompiledPolicy } from '../src/inspect/policy.js'
import { writeJson } from './report.js'

interface Subject {
  readonly name: string
  /** Serialised messages measured in turn (one, or a size's variants). */
  readonly texts: readonly string[]
  readonly ctx: MessageContext
  /** Empty the definition memo before every call (first sight of each definition). */
  readonly fresh?: boolean
}

const base = { tenantId: 'bench', direction: 'server_to_client', requestId: 'bench', era: 'legacy' } as const
const subjects: Subject[] = [
  {
    name: '16 KB tools/call result',
    texts: Array.from({ length: VARIANTS }, (_, v) => JSON.stringify({ jsonrpc: '2.0', id: 100000, result: variantText(16 * 1024, v) })),
    ctx: { ...base, method: 'tools/call', toolName: BENCH_TOOL },
  },
  {
    name: 'structured tools/call result, 120 rows',
    texts: Array.from({ length: VARIANTS }, (_, v) => JSON.stringify({ jsonrpc: '2.0', id: 100000, result: structuredRowsResult(120, v * 1000) })),
    ctx: { ...base, method: 'tools/call', toolName: BENCH_TOOL },
  },
  {
    name: '200-tool tools/list result',
    texts: [JSON.stringify({ jsonrpc: '2.0', id: 100000, result: toolsListResult(200) })],
    ctx: { ...base, method: 'tools/list' },
  },
  {
    name: '200-tool tools/list result, first sight',
    texts: [JSON.stringify({ jsonrpc: '2.0', id: 100000, result: toolsListResult(200) })],
    ctx: { ...base, method: 'tools/list' },
    fresh: true,
  },
]

const compileStart = performance.now()
// BENCH_TENANT_POLICY (JSON) benchmarks another policy, as in the HTTP bench (bench/firewall.ts).
const chosen = process.env['BENCH_TENANT_POLICY']
const classifierScorer = loadClassifierKernel()
const policy = compilePolicy('bench', 1, TenantConfig.parse({ origin: { url: 'https://o.example/mcp' }, ...(chosen ? { policy: JSON.parse(chosen) as unknown } : {}) }))
const compileMs = performance.now() - compileStart

const rows: Array<Record<string, string | number>> = []
for (const s of subjects) rows.push(row(s, s.name, policy))
// Each detector alone on the 16 KB result: where the pipeline's time goes.
const perDetector = policy.detectors.map((d) => row(subjects[0] as Subject, `16 KB, ${d.id} only`, { ...policy, detectors: [d] }))

function row(s: Subject, name: string, p: CompiledPolicy): Record<string, string | number> {
  // The pipeline reads the parsed message only, so one parse per text serves every iteration.
  const messages = s.texts.map((t) => JSON.parse(t) as JsonRpcMessage)
  // A fresh context per call, as the firewall makes one per message: detectors key per-message state
  // (the rules engine's scan budget) on the context object, so reusing one would measure a spent budget.
  const verdict = inspect(messages[0] as JsonRpcMessage, { ...s.ctx }, p)
  let i = 0
  const run = measure(() => {
    if (s.fresh) clearDefinitionMemo()
    return inspect(messages[i++ % messages.length] as JsonRpcMessage, { ...s.ctx }, p)
  })
  let j = 0
  const parse = measure(() => JSON.parse(s.texts[j++ % s.texts.length] as string))
  const bytes = Buffer.byteLength(s.texts[0] as string)
  return {
    message: name,
    bytes,
    inspectMicros: run.microsPerOp,
    inspectMBps: bytes / run.microsPerOp,
    jsonParseMicros: parse.microsPerOp,
    ratioToJsonParse: run.microsPerOp / parse.microsPerOp,
    verdict: describe(verdict),
  }
}

/** `allow`, or the action with each rule id's finding count, e.g. `modify: tool-quarantined×28`. */
function describe(verdict: Verdict): string {
  const counts = new Map<string, number>()
  for (const f of verdict.findings) counts.set(f.ruleId, (counts.get(f.ruleId) ?? 0) + 1)
  const rules = [...counts].map(([id, n]) => `${id}×${n}`).join(', ')
  return rules ? `${verdict.action}: ${rules}` : verdict.action
}

const f = (n: unknown, d: number): string => (typeof n === 'number' ? n.toFixed(d) : String(n))
console.log(`Detectors: ${policy.detectors.map((d) => d.id).join(', ') || 'none'} (policy compiled in ${compileMs.toFixed(1)} ms; classifier scored in ${classifierScorer === 'wasm' ? 'WebAssembly' : 'TypeScript'})\n`)
console.log('| message | bytes | inspect µs/msg | inspect MB/s | JSON.parse µs/msg | inspect ÷ JSON.parse | verdict |')
console.log('|---|---:|---:|---:|---:|---:|---|')
for (const r of [...rows, ...perDetector]) {
  console.log(`| ${r.message} | ${r.bytes} | ${f(r.inspectMicros, 1)} | ${f(r.inspectMBps, 1)} | ${f(r.jsonParseMicros, 1)} | ${f(r.ratioToJsonParse, 1)} | ${r.verdict} |`)
}
console.log('')
await writeJson(fileURLToPath(new URL('../.bench/inspect.json', import.meta.url)), {
  date: new Date().toISOString(),
  node: process.version,
  detectors: policy.detectors.map((d) => d.id),
  compileMs,
  rows,
  perDetector,
})
