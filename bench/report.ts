/** Renders the HTTP benchmark's results: a markdown table for people, a JSON file for tools. */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { LoadResult } from './load.js'

/** One case (size × mode) with every round of both targets and their medians. */
export interface CaseResult {
  readonly name: string
  readonly size: number
  readonly mode: 'json' | 'sse'
  readonly passthrough: Summary
  readonly firewall: Summary
  /** Median over rounds of firewall req/s ÷ pass-through req/s of the same round. */
  readonly ratio: number
  readonly roundRatios: readonly number[]
}

/** Medians over rounds, plus the rounds themselves. */
export interface Summary {
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** CPU of all the bench's workerd processes per request, µs (NaN when /proc is unavailable). */
  readonly cpuMicrosPerRequest: number
  readonly errors: number
  readonly rounds: readonly LoadResult[]
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')
const ms = (s: Summary): string => `${fmt(s.p50Ms, 2)} / ${fmt(s.p99Ms, 2)}`

/** The markdown table: one row per case, ratio = firewall / pass-through throughput. */
export function markdownTable(cases: readonly CaseResult[]): string {
  const rows = [
    '| case | pass-through req/s | firewall req/s | ratio (min–max) | pass-through p50 / p99 ms | firewall p50 / p99 ms | workerd CPU µs/req pass-through / firewall |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const c of cases) {
    const errs = c.passthrough.errors + c.firewall.errors
    const note = errs > 0 ? ` (${errs} errors)` : ''
    rows.push(`| ${c.name}${note} | ${fmt(c.passthrough.rps)} | ${fmt(c.firewall.rps)} | ${fmt(c.ratio, 2)} (${fmt(Math.min(...c.roundRatios), 2)}–${fmt(Math.max(...c.roundRatios), 2)}) | ${ms(c.passthrough)} | ${ms(c.firewall)} | ${fmt(c.passthrough.cpuMicrosPerRequest)} / ${fmt(c.firewall.cpuMicrosPerRequest)} |`)
  }
  return rows.join('\n')
}

/** Writes the full results (settings, environment, every round) as pretty JSON. */
export async function writeJson(path: string, data: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, JSON.stringify(data, null, 2) + '\n')
}
