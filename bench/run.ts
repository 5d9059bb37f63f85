/**
 * `npm run bench` (HTTP part): requests/s and p50/p99 latency through the firewall against a bare
 * pass-through Worker, both started with wrangler's `unstable_startWorker` in the same run (same
 * workerd, same compatibility settings) in front of the same Node origin, for `tools/call` results
 * of 1 KB, 16 KB and 256 KB in JSON and SSE response mode. See case.ts for how runs are interleaved
 * and summarised. Prints a markdown table to stdout, progress to stderr, and writes everything to
 * `.bench/latest.json`.
 *
 *   tsx bench/run.ts [--duration 4] [--warmup 1] [--concurrency 16] [--rounds 3] [--quick] [--sizes 16384] [--modes json]
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runCase } from './case.js'
import type { RunSettings } from './case.js'
import { workerdCpuClock } from './cpu.js'
import { startBenchFirewall } from './firewall.js'
import { startOriginProcess } from './origin-process.js'
import { startPassthrough } from './passthrough/start.js'
import { toolsCallRequest } from './payloads.js'
import type { ResponseMode } from './payloads.js'
import { markdownTable, writeJson } from './report.js'
import type { CaseResult } from './report.js'
import { takeSnapshot } from './snapshot.js'
import { assertAnswer, assertSameCompat } from './verify.js'

process.env.WRANGLER_SEND_METRICS = 'false'

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url))
const SIZES = [1024, 16 * 1024, 256 * 1024] as const
const MODES: readonly ResponseMode[] = ['json', 'sse']
const TARGET_RATIO = 0.85
const TENANT = 'bench'
/**
 * What a Streamable HTTP client sends after initialisation (2025-11-25 transports §"Sending Messages"),
 * plus `accept-encoding: identity`: undici asks for gzip by default and local workerd then gzips every
 * JSON answer (not SSE) in the Worker's process, which would dominate the JSON cases with compression
 * cost. On Cloudflare compression happens in the front line, outside the Worker, so it is left out here.
 */
const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'accept-encoding': 'identity',
  'mcp-protocol-version': '2025-11-25',
}

/** The cases to run: every size and mode unless `--sizes` / `--modes` (comma-separated) pick some. */
function readCases(): { sizes: number[]; modes: ResponseMode[] } {
  const { values: a } = parseArgs({ strict: false, options: { sizes: { type: 'string' }, modes: { type: 'string' } } })
  const pick = <T,>(all: readonly T[], arg: unknown, parse: (s: string) => T): T[] => {
    if (typeof arg !== 'string') return [...all]
    const chosen = arg.split(',').map(parse)
    for (const c of chosen) if (!all.includes(c)) throw new Error(`unknown case ${String(c)}; choose from ${all.join(', ')}`)
    return chosen
  }
  return { sizes: pick(SIZES, a.sizes, Number), modes: pick(MODES, a.modes, (m) => m as ResponseMode) }
}

function readSettings(): RunSettings {
  const { values: a } = parseArgs({
    options: {
      duration: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '3' },
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      modes: { type: 'string' },
    },
  })
  const s = {
    durationMs: Math.round((a.quick ? 1.5 : Number(a.duration)) * 1000),
    warmupMs: Math.round((a.quick ? 0.5 : Number(a.warmup)) * 1000),
    concurrency: Number(a.concurrency),
    rounds: a.quick ? 1 : Number(a.rounds),
  }
  for (const [k, v] of Object.entries(s)) if (!Number.isInteger(v) || v < (k === 'warmupMs' ? 0 : 1)) throw new Error(`bad option ${k}: ${v}`)
  return s
}

function environment(): Record<string, string> {
  const version = (pkg: string): string => (JSON.parse(readFileSync(root(`node_modules/${pkg}/package.json`), 'utf8')) as { version: string }).version
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root('.'), encoding: 'utf8' }).trim()
  } catch {
    // Not a checkout: leave it unknown.
  }
  return { node: process.version, wrangler: version('wrangler'), workerd: version('workerd'), commit, cpus: String(availableParallelism()) }
}

function printTable(cases: CaseResult[], settings: RunSettings, totalS: number): void {
  console.log(markdownTable(cases))
  const at16 = cases.filter((c) => c.size === 16 * 1024)
  const verdicts = at16.map((c) => `${c.mode} ${c.ratio.toFixed(2)} ${c.ratio >= TARGET_RATIO ? 'met' : 'MISSED'}`)
  console.log(`\nTarget ≥ ${TARGET_RATIO} of pass-through throughput at 16 KB: ${verdicts.join(', ')}.`)
  console.log("workerd CPU: all the bench's workerd processes (wrangler's dev proxy + the Worker) per request; firewall − pass-through = the firewall's own CPU.")
  console.log(`Concurrency ${settings.concurrency}, ${settings.durationMs / 1000} s per run after ${settings.warmupMs / 1000} s warm-up, medians of ${settings.rounds} interleaved rounds; total ${totalS.toFixed(0)} s.`)
}

async function main(): Promise<void> {
  const began = performance.now()
  const settings = readSettings()
  const picked = readCases()
  const log = (line: string): void => void process.stderr.write(`${line}\n`)
  await assertSameCompat(root('wrangler.toml'), root('bench/passthrough/wrangler.toml'))
  const snapshot = await takeSnapshot()
  const origin = await startOriginProcess(SIZES)
  const stops: Array<() => Promise<void>> = [() => snapshot.remove(), () => origin.close()]
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`stop failed: ${String(err)}`))
  }
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)))
  try {
    const [firewall, passthrough] = await Promise.all([
      startBenchFirewall(snapshot.firewallConfig, TENANT, origin.url),
      startPassthrough(origin.url, snapshot.passthroughConfig),
    ])
    stops.push(() => firewall.stop(), () => passthrough.stop())
    const ctx = { targets: { passthrough: passthrough.url, firewall: firewall.url }, settings, headers: HEADERS, cpu: workerdCpuClock(), log }
    log(`started in ${Math.round(performance.now() - began)} ms; ${JSON.stringify(settings)}`)

    const cases: CaseResult[] = []
    for (const size of picked.sizes) {
      for (const mode of picked.modes) {
        const want = { contentType: mode === 'json' ? 'application/json' : 'text/event-stream', text: origin.textFor(size, 1) }
        for (const url of Object.values(ctx.targets)) await assertAnswer(url, { headers: HEADERS, body: toolsCallRequest(1, size, mode) }, want)
        cases.push(await runCase(ctx, `${size / 1024} KB ${mode}`, size, mode))
      }
    }
    const totalS = (performance.now() - began) / 1000
    printTable(cases, settings, totalS)
    const out = root('.bench/latest.json')
    const meta = { date: new Date().toISOString(), settings, environment: environment(), targetRatioAt16KB: TARGET_RATIO, totalSeconds: totalS }
    await writeJson(out, { ...meta, workerdProcessChanges: ctx.cpu.changes, cases })
    log(`wrote ${out}`)
  } finally {
    await stopAll()
  }
}

await main()
