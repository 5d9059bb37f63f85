/** A time-boxed micro-benchmark loop for synchronous functions. */
import { median } from './stats.js'

/** Per-call cost of a function, median over samples. */
export interface Timing {
  readonly microsPerOp: number
  readonly samples: number
  readonly opsPerSample: number
}

/** Keeps the optimiser from discarding a result it can prove unused. */
let sink: unknown

/**
 * Times `fn`: a warm-up (lets the JIT settle), a calibration to ~`sampleMs` per sample, then
 * `samples` timed samples. Bounded: the whole call takes about `warmupMs + samples × sampleMs`.
 */
export function measure(fn: () => unknown, opts: { warmupMs?: number; sampleMs?: number; samples?: number } = {}): Timing {
  const warmupMs = opts.warmupMs ?? 300
  const sampleMs = opts.sampleMs ?? 150
  const samples = opts.samples ?? 7
  let calls = 0
  const warmStart = performance.now()
  while (performance.now() - warmStart < warmupMs) {
    sink = fn()
    calls++
  }
  const opsPerSample = Math.max(1, Math.round((calls * sampleMs) / Math.max(1, performance.now() - warmStart)))
  const perOp: number[] = []
  for (let s = 0; s < samples; s++) {
    const t = performance.now()
    for (let i = 0; i < opsPerSample; i++) sink = fn()
    perOp.push(((performance.now() - t) * 1000) / opsPerSample)
  }
  if (sink === Symbol.for('never')) console.log('')
  return { microsPerOp: median(perOp), samples, opsPerSample }
}
