/**
 * A closed-loop load generator on Node's built-in `fetch` (undici): `concurrency` loops each send a
 * request, read the whole body, and send the next, for a warm-up and then a fixed measurement window.
 * Every loop stops by itself when the window ends; each request has its own timeout.
 */
import { percentile } from './stats.js'

/** What to send and for how long. */
export interface LoadOptions {
  readonly url: string
  readonly headers: Record<string, string>
  /** The POST body for a request id (ids are unique within a run). */
  readonly body: (id: number) => string
  readonly concurrency: number
  readonly warmupMs: number
  readonly durationMs: number
  /** Per-request timeout (default 10 s). */
  readonly timeoutMs?: number
  /** A cumulative CPU clock (ms) read at the window's start and end, to report CPU per request. */
  readonly cpuMs?: () => number | undefined
}

/** One run's figures; only requests that completed inside the measurement window count. */
export interface LoadResult {
  readonly requests: number
  readonly errors: number
  readonly firstError?: string
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Mean response body size in bytes. */
  readonly meanBytes: number
  /** CPU of `cpuMs` per request in the window, in µs (absent without `cpuMs`). */
  readonly cpuMicrosPerRequest?: number
}

/** Runs one closed-loop load test and summarises the measurement window. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const t0 = performance.now()
  const measureFrom = t0 + opts.warmupMs
  const measureTo = measureFrom + opts.durationMs
  const latencies: number[] = []
  let errors = 0
  let firstError: string | undefined
  let bytes = 0
  let nextId = 1
  /** CPU clock readings when the first request completes inside the window and the first after it. */
  const cpu: Array<number | undefined> = []

  const loop = async (): Promise<void> => {
    while (performance.now() < measureTo) {
      const id = nextId++
      const start = performance.now()
      let ok = false
      let size = 0
      try {
        const res = await fetch(opts.url, { method: 'POST', headers: opts.headers, body: opts.body(id), signal: AbortSignal.timeout(timeoutMs) })
        size = (await res.arrayBuffer()).byteLength
        ok = res.status === 200
        if (!ok) firstError ??= `HTTP ${res.status}`
      } catch (err) {
        firstError ??= String(err)
      }
      const end = performance.now()
      if (end >= measureFrom && cpu.length === 0) cpu.push(opts.cpuMs?.())
      if (end >= measureTo && cpu.length === 1) cpu.push(opts.cpuMs?.())
      if (end < measureFrom || end >= measureTo) continue
      if (!ok) {
        errors++
        continue
      }
      latencies.push(end - start)
      bytes += size
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, loop))
  if (cpu.length === 1) cpu.push(opts.cpuMs?.())
  const [cpuStart, cpuEnd] = cpu

  const sorted = Float64Array.from(latencies).sort()
  return {
    requests: latencies.length,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    rps: latencies.length / (opts.durationMs / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanBytes: latencies.length > 0 ? bytes / latencies.length : 0,
    ...(cpuStart !== undefined && cpuEnd !== undefined && latencies.length > 0 ? { cpuMicrosPerRequest: ((cpuEnd - cpuStart) * 1000) / latencies.length } : {}),
  }
}
