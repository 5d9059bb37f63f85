/**
 * Hands the classifier's WebAssembly kernel to the scorer in Node, as `src/index.ts` does in the Worker,
 * so the benches measure what production runs. `BENCH_CLASSIFIER=ts` leaves it out (the TypeScript loops).
 */
import { readFileSync } from 'node:fs'
import { useClassifierKernel } from '../src/detectors/classifier/kernel.js'

/** Loads the kernel unless told not to; returns which scorer the bench measures. */
export function loadClassifierKernel(): 'wasm' | 'ts' {
  if (process.env.BENCH_CLASSIFIER === 'ts') return 'ts'
  useClassifierKernel(new WebAssembly.Module(readFileSync(new URL('../src/detectors/classifier/kernel.wasm', import.meta.url))))
  return 'wasm'
}
