/**
 * `npm run bench:budget`: what token budgets cost (docs/budgets.md, "Cost").
 *
 * 1. Tokenizer (Node): lazy-load time, CPU per KB over ../shared/data for gpt-tokenizer's countTokens and
 *    the firewall's counter (and texts they count differently: none expected), bundle bytes it adds.
 * 2. Hot path (Node): count + local lease spend per `tools/call` exchange while an allowance is held.
 * 3. HTTP (workerd, as run.ts): 16 KB throughput with and without a budget vs the pass-through Worker,
 *    budget object calls per 100 messages at steady state, and added p50 latency at concurrency 1.
 *
 * Prints a markdown summary to stdout, progress to stderr, and writes `.bench/budget.json`.
 *
 *   tsx bench/budget.ts [--quick] [--skip-http] [--duration 4] [--rounds 3] [--concurrency 16]
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { measureHotPath } from './budget-hot.js'
import { measureHttp } from './budget-http.js'
import type { HttpReport } from './budget-http.js'
import { measureTokenizer } from './budget-tokens.js'
import { writeJson } from './report.js'

process.env.WRANGLER_SEND_METRICS = 'false'

const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'skip-http': { type: 'boolean', default: false },
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
  },
})
const settings = {
  durationMs: Math.round((a.quick ? 1.5 : Number(a.duration)) * 1000),
  warmupMs: a.quick ? 500 : 1000,
  concurrency: Number(a.concurrency),
  rounds: a.quick ? 1 : Number(a.rounds),
}
const log = (line: string): void => void process.stderr.write(`${line}\n`)
const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')

const tokenizer = await measureTokenizer(log)
const hot = await measureHotPath([1024, 16 * 1024, 256 * 1024])
let http: HttpReport | undefined
if (!a['skip-http']) http = await measureHttp(settings, log)

const out: string[] = []
const mismatches = tokenizer.rows.reduce((n, r) => n + r.mismatches, 0)
out.push(`### Tokenizer (o200k_base; the firewall's counter vs gpt-tokenizer's countTokens: ${mismatches} texts counted differently)`, '')
out.push(`Lazy import + first count: ${f(tokenizer.loadMs)} ms. Bundle: +${f(tokenizer.bundleBytes / 1024)} KiB (${f(tokenizer.bundleGzipBytes / 1024)} KiB gzip).`, '')
out.push('| data set | texts | KB | o200k tokens | bytes/token | cold µs/KB library → firewall | warm µs/KB library → firewall |', '|---|---|---|---|---|---|---|')
const speedup = (before: number, after: number): string => `${f(before)} → ${f(after)} (${f(before / after, 1)}×)`
for (const r of tokenizer.rows) out.push(`| ${r.set} | ${r.texts} | ${r.kb} | ${r.tokens} | ${f(r.bytesPerToken, 2)} | ${speedup(r.library.coldMicrosPerKb, r.firewall.coldMicrosPerKb)} | ${speedup(r.library.warmMicrosPerKb, r.firewall.warmMicrosPerKb)} |`)
out.push('', '### Hot path with an allowance held (count + local spend, request and result)', '')
out.push('| result | o200k tokens | p50 µs | p99 µs | of which counting the result, µs | object calls |', '|---|---|---|---|---|---|')
for (const r of hot) out.push(`| ${r.size / 1024} KB | ${r.tokens} | ${f(r.p50Micros)} | ${f(r.p99Micros)} | ${f(r.countMicros)} | ${r.objectCalls} in ${r.exchanges} |`)
if (http) {
  out.push('', '### HTTP, 16 KB results (ratio = firewall ÷ pass-through req/s, median of rounds)', '')
  out.push('| mode | no budget: ratio | budget: ratio | no budget: p50 / p99 ms | budget: p50 / p99 ms | workerd CPU µs/req no budget → budget |', '|---|---|---|---|---|---|')
  for (const c of http.cases) {
    out.push(`| ${c.mode} | ${f(c.plain.ratio, 2)} | ${f(c.budgeted.ratio, 2)} | ${f(c.plain.firewall.p50Ms, 2)} / ${f(c.plain.firewall.p99Ms, 2)} | ${f(c.budgeted.firewall.p50Ms, 2)} / ${f(c.budgeted.firewall.p99Ms, 2)} | ${f(c.plain.firewall.cpuMicrosPerRequest)} → ${f(c.budgeted.firewall.cpuMicrosPerRequest)} |`)
  }
  const s = http.steadyState
  out.push('', `Budget object calls at steady state: ${s.objectCalls} for ${s.messages} metered messages (${s.requests} requests) = ${f(s.callsPer100Messages, 3)} per 100 messages (target ≤ 5).`)
  out.push(`p50 at concurrency 1: ${f(http.latencyC1.plainP50Ms, 2)} ms without a budget, ${f(http.latencyC1.budgetedP50Ms, 2)} ms with one (${f(http.latencyC1.addedP50Ms, 2)} ms added).`)
}
console.log(out.join('\n'))
const file = fileURLToPath(new URL('../.bench/budget.json', import.meta.url))
await writeJson(file, { date: new Date().toISOString(), settings, tokenizer, hot, http })
log(`wrote ${file}`)
