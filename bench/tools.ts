/**
 * `npm run bench:tools`: what tool integrity costs (docs/tool-integrity.md).
 *
 * 1. In Node, the edge's own work per message with every pin approved and cached (the steady state):
 *    a 200-tool `tools/list` page checked against its pins, a `tools/call` checked (pin + access lists +
 *    `inputSchema`) and its result's `structuredContent` checked against `outputSchema`; and the scan
 *    of 200 first-seen definitions (paid once per change, before the object records them).
 * 2. Over HTTP (skip with `--no-http`), the firewall with everything on — default detectors, pinning
 *    enforce, access lists, volatile fields, call approvals for other tools, both schema checks —
 *    against the bare pass-through Worker, 16 KB results in JSON and SSE mode, as bench/run.ts does.
 *
 *   tsx bench/tools.ts [--no-http] [--duration 4] [--rounds 3] [--quick]
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { EventSink } from '../src/audit/sink.js'
import { compilePolicy } from '../src/inspect/policy.js'
import { clearDefinitionMemo } from '../src/inspect/memo.js'
import type { JsonObject, JsonRpcMessage, JsonRpcRequest } from '../src/mcp/jsonrpc.js'
import { TenantConfig } from '../src/tenant/config.js'
import { definitionJson } from '../src/tools/canonical.js'
import { ToolGate } from '../src/tools/gate.js'
import type { PinSet } from '../src/tools/pin-types.js'
import { scanDefinition } from '../src/tools/scan.js'
import { runCase } from './case.js'
import { workerdCpuClock } from './cpu.js'
import { measure } from './measure.js'
import { startPassthrough } from './passthrough/start.js'
import { BENCH_TOOL, toolsCallRequest } from './payloads.js'
import { markdownTable, writeJson } from './report.js'
import type { CaseResult } from './report.js'
import { takeSnapshot } from './snapshot.js'
import { startBenchFirewall } from './firewall.js'
import { benchTools, startToolsOrigin, structuredResult } from './tools-origin.js'
import { assertAnswer } from './verify.js'

process.env.WRANGLER_SEND_METRICS = 'false'
const { values: args } = parseArgs({
  options: { 'no-http': { type: 'boolean', default: false }, duration: { type: 'string', default: '4' }, rounds: { type: 'string', default: '3' }, quick: { type: 'boolean', default: false } },
})

const ORIGIN = 'https://origin.example/mcp'
/** Everything on: what the HTTP part configures too. */
export const EVERYTHING_ON = {
  deny: ['admin_*'],
  prompts: { deny: ['internal-*'] },
  resources: { deny: ['file:///etc/*'] },
  byIdentity: { 'ci-*': { tools: { deny: ['report_tool_1*'] } } },
  pinning: 'enforce',
  volatile: ['annotations.title'],
  requireApproval: ['delete_*'],
  schema: { arguments: 'block', results: 'isError' },
} as const

// ── 1. In Node ───────────────────────────────────────────────────────────────────────────────────
const tools = benchTools(200) as JsonObject[]
const config = TenantConfig.parse({ origin: { url: ORIGIN }, policy: { tools: EVERYTHING_ON } })
const policy = compilePolicy('bench', 1, config)
const set: PinSet = { origin: ORIGIN, version: 1, entries: tools.map((t) => ({ kind: 'tool', name: String(t['name']), state: 'approved', approved: definitionJson('tool', t), candidate: null, rejected: [] })) }
const memory = new Map<string, Response>()
const cache = {
  match: async (k: string) => memory.get(k)?.clone(),
  put: async (k: string, r: Response) => void memory.set(k, r),
  delete: async (k: string) => memory.delete(k),
} as unknown as Cache
// No object and no event log in Node: the pins come from `read` and a clean message records nothing.
const env = {} as Env
const gate = new ToolGate({
  env,
  tenantId: 'bench',
  configVersion: 1,
  origin: ORIGIN,
  tools: config.policy.tools,
  policy,
  era: 'legacy',
  requestId: 'bench',
  sink: new EventSink(env, 'bench', () => undefined),
  pinDeps: { cache, read: async () => set },
})
const listMessage: JsonRpcMessage = { jsonrpc: '2.0', id: 1, result: { tools } }
const call: JsonRpcRequest = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: BENCH_TOOL, arguments: { size: 16384, mode: 'json' } } }
const result: JsonRpcMessage = { jsonrpc: '2.0', id: 2, result: structuredResult(16 * 1024) }

const listed = await gate.beforeEmit(listMessage, 'tools/list')
if (!('result' in listed) || (listed.result['tools'] as unknown[]).length !== tools.length) throw new Error('bench: the list lost tools')
if ((await gate.beforeForward(call)) !== null) throw new Error('bench: the call was refused')

/** Per-op time of an async function (awaited one at a time: the gate's cost, not a queue's). */
async function measureAsync(fn: () => Promise<unknown>, ops = 2_000): Promise<number> {
  for (let i = 0; i < ops / 4; i++) await fn()
  const samples: number[] = []
  for (let s = 0; s < 7; s++) {
    const t = performance.now()
    for (let i = 0; i < ops / 7; i++) await fn()
    samples.push(((performance.now() - t) * 1000) / (ops / 7))
  }
  return samples.sort((a, b) => a - b)[3] ?? Number.NaN
}

const listMicros = await measureAsync(() => gate.beforeEmit(listMessage, 'tools/list'), 700)
const callMicros = await measureAsync(async () => {
  await gate.beforeForward(call)
  await gate.beforeEmit(result, 'tools/call')
})
const scanCtx = { policy, tenantId: 'bench', requestId: 'bench', era: 'legacy' as const, knownNames: new Set<string>() }
// The memo emptied each time: a definition the pipeline has not scanned yet (the worst case; on the
// first tools/list the pipeline's inspection usually scans the same strings just before).
const firstSight = measure(
  () => {
    clearDefinitionMemo()
    return tools.map((t) => scanDefinition('tool', t, scanCtx))
  },
  { samples: 3, sampleMs: 300 },
)
const node = {
  listOf200Micros: listMicros,
  callAndResultMicros: callMicros,
  firstSightScanOf200Ms: firstSight.microsPerOp / 1000,
  detectors: policy.detectors.map((d) => d.id),
}
console.log('| tool integrity, in Node (pins approved and cached) | µs |')
console.log('|---|---:|')
console.log(`| tools/list page of ${tools.length} tools: access lists + pin comparison | ${listMicros.toFixed(1)} |`)
console.log(`| tools/call (pin, access, inputSchema) + its 16 KB result (outputSchema, re2js pattern) | ${callMicros.toFixed(1)} |`)
console.log(`| first sight: definition scan of ${tools.length} tools (${node.detectors.join(', ')}) | ${(firstSight.microsPerOp).toFixed(0)} |`)

// ── 2. Over HTTP ─────────────────────────────────────────────────────────────────────────────────
const out = fileURLToPath(new URL('../.bench/tools.json', import.meta.url))
if (args['no-http']) {
  await writeJson(out, { date: new Date().toISOString(), node })
  process.exit(0)
}
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'accept-encoding': 'identity', 'mcp-protocol-version': '2025-11-25' }
const SIZE = 16 * 1024
const settings = { durationMs: args.quick ? 1500 : Number(args.duration) * 1000, warmupMs: args.quick ? 500 : 1000, concurrency: 16, rounds: args.quick ? 1 : Number(args.rounds) }
const log = (line: string): void => void process.stderr.write(`${line}\n`)
const snapshot = await takeSnapshot()
const origin = await startToolsOrigin([SIZE], 200)
const stops: Array<() => Promise<void>> = [() => snapshot.remove(), () => origin.close()]
try {
  // The same firewall twice: with everything on, and with tool integrity off (the rest of the default
  // policy unchanged), so the table shows both ratios and the CPU difference is tool integrity's own.
  const [on, off, passthrough] = await Promise.all([
    startBenchFirewall(snapshot.firewallConfig, 'bench', origin.url, { tools: EVERYTHING_ON }),
    startBenchFirewall(snapshot.firewallConfig, 'bench', origin.url, { tools: { pinning: 'off', schema: { arguments: 'off', results: 'off' } } }),
    startPassthrough(origin.url, snapshot.passthroughConfig),
  ])
  stops.push(() => on.stop(), () => off.stop(), () => passthrough.stop())
  const want = (mode: 'json' | 'sse') => ({ contentType: mode === 'json' ? 'application/json' : 'text/event-stream', text: structuredResult(SIZE).content[0]?.text ?? '' })
  const cpu = workerdCpuClock()
  const cases: CaseResult[] = []
  for (const mode of ['json', 'sse'] as const) {
    for (const [label, firewall] of [['on', on], ['off', off]] as const) {
      const ctx = { targets: { passthrough: passthrough.url, firewall: firewall.url }, settings, headers: HEADERS, cpu, log }
      // The first call pins the origin's 200 tools (the firewall lists them itself); then every call is checked.
      for (const url of Object.values(ctx.targets)) await assertAnswer(url, { headers: HEADERS, body: toolsCallRequest(1, SIZE, mode) }, want(mode))
      cases.push(await runCase(ctx, `16 KB ${mode}, tool integrity ${label}`, SIZE, mode))
    }
  }
  console.log(`\n${markdownTable(cases)}`)
  const onCases = cases.filter((c) => c.name.endsWith(' on'))
  console.log(`\nTarget ≥ 0.8 of pass-through throughput at 16 KB with everything on: ${onCases.map((c) => `${c.mode} ${c.ratio.toFixed(2)} ${c.ratio >= 0.8 ? 'met' : 'MISSED'}`).join(', ')}.`)
  await writeJson(out, { date: new Date().toISOString(), node, settings, config: EVERYTHING_ON, cases })
  log(`wrote ${out}`)
} finally {
  for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`stop failed: ${String(err)}`))
}
