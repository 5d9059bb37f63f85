/**
 * The budget through HTTP: the firewall with a budgeted tenant against the same firewall's unbudgeted
 * tenant and the bare pass-through Worker (the harness of run.ts: snapshot, origin process, interleaved
 * rounds), at 16 KB in JSON and SSE. Also: budget object calls per 100 metered messages at steady state
 * (the object's own call counter, read through the usage API) and p50 latency at concurrency 1.
 */
import { runCase } from './case.js'
import type { CaseContext, RunSettings } from './case.js'
import { workerdCpuClock } from './cpu.js'
import { startBenchFirewall } from './firewall.js'
import { runLoad } from './load.js'
import { startOriginProcess } from './origin-process.js'
import { startPassthrough } from './passthrough/start.js'
import { toolsCallRequest } from './payloads.js'
import type { ResponseMode } from './payloads.js'
import type { CaseResult } from './report.js'
import { takeSnapshot } from './snapshot.js'
import { median } from './stats.js'

/** The admin token bench/firewall.ts configures (kept in step with it). */
const ADMIN_TOKEN = 'bench-admin-token'
const SIZE = 16 * 1024
const MODES: readonly ResponseMode[] = ['json', 'sse']
/** Large enough never to refuse at bench rates; leases then last their full 10 s. */
const BUDGET = { tokensPerMinute: 10_000_000_000, requestsPerMinute: 100_000_000 }

export const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'accept-encoding': 'identity',
  'mcp-protocol-version': '2025-11-25',
}

export interface HttpReport {
  /** Firewall without a budget vs pass-through, and with one vs pass-through. */
  readonly cases: ReadonlyArray<{ mode: ResponseMode; plain: CaseResult; budgeted: CaseResult }>
  readonly steadyState: { requests: number; messages: number; objectCalls: number; callsPer100Messages: number }
  readonly latencyC1: { plainP50Ms: number; budgetedP50Ms: number; addedP50Ms: number }
}

async function admin(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`)
  return res.json()
}

/** Runs the HTTP measurements; `settings` as run.ts. */
export async function measureHttp(settings: RunSettings, log: (line: string) => void): Promise<HttpReport> {
  const snapshot = await takeSnapshot()
  const origin = await startOriginProcess([SIZE])
  const stops: Array<() => Promise<void>> = [() => snapshot.remove(), () => origin.close()]
  try {
    const [firewall, passthrough] = await Promise.all([startBenchFirewall(snapshot.firewallConfig, 'bench', origin.url), startPassthrough(origin.url, snapshot.passthroughConfig)])
    stops.push(() => firewall.stop(), () => passthrough.stop())
    const base = new URL('/', firewall.url).href
    await admin(base, 'PUT', 'admin/v1/tenants/bench-budget', { origin: { url: origin.url }, budget: BUDGET })
    const budgetedUrl = new URL('/t/bench-budget/mcp', base).href
    const cpu = workerdCpuClock()
    const ctx = (target: string): CaseContext => ({ targets: { passthrough: passthrough.url, firewall: target }, settings, headers: HEADERS, cpu, log })

    const cases: Array<{ mode: ResponseMode; plain: CaseResult; budgeted: CaseResult }> = []
    for (const mode of MODES) {
      const plain = await runCase(ctx(firewall.url), `16 KB ${mode} (no budget)`, SIZE, mode)
      const budgeted = await runCase(ctx(budgetedUrl), `16 KB ${mode} (budget)`, SIZE, mode)
      cases.push({ mode, plain, budgeted })
    }

    // Steady state: leases are already held after the cases above; count object calls over a fresh window.
    const calls = async (): Promise<number> => ((await admin(base, 'GET', 'admin/v1/tenants/bench-budget/usage')) as { calls: number }).calls
    const before = await calls()
    const load = await runLoad({ url: budgetedUrl, headers: HEADERS, body: (id) => toolsCallRequest(id, SIZE, 'json'), concurrency: settings.concurrency, warmupMs: 0, durationMs: settings.durationMs * 2 })
    const objectCalls = (await calls()) - before
    const messages = 2 * load.requests // each exchange meters the request and its result
    log(`steady state: ${load.requests} requests, ${objectCalls} object calls`)

    // Latency at concurrency 1, interleaved, so queueing does not hide a small difference.
    const p50 = { plain: [] as number[], budgeted: [] as number[] }
    for (let round = 0; round < settings.rounds; round++) {
      for (const [key, url] of [['plain', firewall.url], ['budgeted', budgetedUrl]] as const) {
        const r = await runLoad({ url, headers: HEADERS, body: (id) => toolsCallRequest(id, SIZE, 'json'), concurrency: 1, warmupMs: 300, durationMs: 2_000 })
        p50[key].push(r.p50Ms)
      }
    }
    const plainP50Ms = median(p50.plain)
    const budgetedP50Ms = median(p50.budgeted)
    return {
      cases,
      steadyState: { requests: load.requests, messages, objectCalls, callsPer100Messages: (100 * objectCalls) / Math.max(1, messages) },
      latencyC1: { plainP50Ms, budgetedP50Ms, addedP50Ms: budgetedP50Ms - plainP50Ms },
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`stop failed: ${String(err)}`))
  }
}
