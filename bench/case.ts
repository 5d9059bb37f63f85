/**
 * One benchmark case (a result size in one response mode): both targets, interleaved rounds, medians.
 */
import type { CpuClock } from './cpu.js'
import { runLoad } from './load.js'
import type { LoadResult } from './load.js'
import { toolsCallRequest } from './payloads.js'
import type { ResponseMode } from './payloads.js'
import type { CaseResult, Summary } from './report.js'
import { median } from './stats.js'

/** The two Workers under test, by role. */
export interface Targets {
  readonly passthrough: string
  readonly firewall: string
}

/** How long and how hard each run loads a target. */
export interface RunSettings {
  readonly durationMs: number
  readonly warmupMs: number
  readonly concurrency: number
  readonly rounds: number
}

/** Everything a case needs besides its size and mode. */
export interface CaseContext {
  readonly targets: Targets
  readonly settings: RunSettings
  readonly headers: Record<string, string>
  readonly cpu: CpuClock
  readonly log: (line: string) => void
}

function summarise(rounds: LoadResult[]): Summary {
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    cpuMicrosPerRequest: median(rounds.flatMap((r) => (r.cpuMicrosPerRequest === undefined ? [] : [r.cpuMicrosPerRequest]))),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    rounds,
  }
}

/**
 * One run of one target. If a Worker restarted meanwhile (wrangler rebuilt it after a change under
 * node_modules, see snapshot.ts), the run measured a mix of processes: it is run once more.
 */
async function run(ctx: CaseContext, key: keyof Targets, size: number, mode: ResponseMode, tag: string): Promise<LoadResult> {
  for (let attempt = 1; ; attempt++) {
    const changes = ctx.cpu.changes
    const r = await runLoad({ ...ctx.settings, url: ctx.targets[key], headers: ctx.headers, body: (id) => toolsCallRequest(id, size, mode), cpuMs: ctx.cpu })
    const restarted = ctx.cpu.changes !== changes
    const cpu = r.cpuMicrosPerRequest?.toFixed(0) ?? '?'
    ctx.log(`${tag} ${key}: ${r.rps.toFixed(0)} req/s p50 ${r.p50Ms.toFixed(2)} ms p99 ${r.p99Ms.toFixed(2)} ms cpu ${cpu} µs/req${r.errors ? ` errors ${r.errors} (${r.firstError})` : ''}${restarted ? ' — a Worker restarted' : ''}`)
    if (!restarted || attempt === 2) return r
  }
}

/**
 * Runs both targets `rounds` times, interleaved (AB BA AB …: neither always goes first) to cancel
 * drift in machine load. The ratio is the median of the per-round firewall/pass-through ratios:
 * a round's two runs are adjacent in time, so their ratio is the least disturbed figure.
 */
export async function runCase(ctx: CaseContext, name: string, size: number, mode: ResponseMode): Promise<CaseResult> {
  const rounds: Record<keyof Targets, LoadResult[]> = { passthrough: [], firewall: [] }
  for (let round = 0; round < ctx.settings.rounds; round++) {
    const order = round % 2 === 0 ? (['passthrough', 'firewall'] as const) : (['firewall', 'passthrough'] as const)
    for (const key of order) rounds[key].push(await run(ctx, key, size, mode, `${name} #${round + 1}`))
  }
  const roundRatios = rounds.firewall.map((r, i) => r.rps / (rounds.passthrough[i]?.rps ?? Number.NaN))
  return { name, size, mode, passthrough: summarise(rounds.passthrough), firewall: summarise(rounds.firewall), ratio: median(roundRatios), roundRatios }
}
