/**
 * Runs the classifier's scoring loops in WebAssembly (`kernel.wat`), half the CPU of the TypeScript
 * loops in workerd. The TypeScript scorer in `model.ts` stays the reference: the kernel gives the same
 * logits bit for bit (test/unit/classifier-kernel.test.ts) and is used only where the runtime handed
 * its module over with {@link useClassifierKernel}. The Worker does so at startup (`src/index.ts`);
 * Node tools may (`bench/`); anything else scores in TypeScript.
 */
import { unitClasses, STRIDE, WINDOW } from './features'

/** Texts longer than this (UTF-16 units) score in TypeScript, so the kernel's memory stays under ~8 MiB. */
export const KERNEL_MAX_UNITS = 256 * 1024

let kernelModule: WebAssembly.Module | undefined

/** Hands the compiled `kernel.wasm` to the classifier; scorers made afterwards use it. */
export function useClassifierKernel(module: WebAssembly.Module | undefined): void {
  kernelModule = module
}

/** The module handed over last, if any. */
export function currentKernelModule(): WebAssembly.Module | undefined {
  return kernelModule
}

/** The parts of the WebAssembly API used here (typed locally: Node's type declarations lack them). */
interface Memory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}
type Instantiate = new (module: WebAssembly.Module, imports: object) => { readonly exports: unknown }
const { Instance } = (globalThis as unknown as { WebAssembly: { Instance: Instantiate } }).WebAssembly

interface Exports {
  memory: Memory
  prepare(input: number, n: number, units: number, offsets: number): number
  chars(units: number, n: number, out: number, mask: number): void
  words(units: number, n: number, pos: number, code: number, mask: number): number
  slide(pos: number, code: number, len: number, table: number, scale: number, n: number, windows: number, out: number): void
  best(out: number, windows: number): number
}

/** A model's hashing widths, bias, scales and weights: what the kernel scores with (`LinearModel` extends it). */
export interface KernelModel {
  readonly charBits: number
  readonly wordBits: number
  readonly bias: number
  readonly charScale: number
  readonly wordScale: number
  readonly charWeights: Int16Array
  readonly wordWeights: Int16Array
}

/** The best window of a text, as `Scorer.score` needs it. */
export interface KernelResult {
  logit: number
  windows: number
  /** Offsets in the input of the best window's first and last prepared units. */
  firstOffset: number
  lastOffset: number
}

// Fixed layout of kernel.wat's memory.
const CLASSES_AT = 0
const STEP_T_AT = 65536
const STEP_ABS_AT = 81920
const TABLES_AT = 98304
const PAGE = 65536

const align8 = (n: number): number => (n + 7) & ~7

/** One model's tables in one kernel instance; not re-entrant (detectors run synchronously). */
export class Kernel {
  readonly #x: Exports
  readonly #model: KernelModel
  readonly #wordTableAt: number
  readonly #scratchAt: number

  private constructor(x: Exports, model: KernelModel, stepT: Float64Array, stepAbs: Int32Array) {
    this.#x = x
    this.#model = model
    this.#wordTableAt = TABLES_AT + 4 * model.charWeights.length
    this.#scratchAt = this.#wordTableAt + 4 * model.wordWeights.length
    this.#reserve(this.#scratchAt)
    const buf = x.memory.buffer
    new Uint8Array(buf, CLASSES_AT, 0x10000).set(unitClasses())
    new Float64Array(buf, STEP_T_AT, stepT.length).set(stepT)
    new Int32Array(buf, STEP_ABS_AT, stepAbs.length).set(stepAbs)
    // Weights interleaved with zeroed counts, as model.ts `interleave` lays them out.
    const i16 = new Int16Array(buf)
    const fill = (at: number, weights: Int16Array): void => {
      for (let i = 0, j = at >> 1; i < weights.length; i++, j += 2) i16[j] = weights[i] as number
    }
    fill(TABLES_AT, model.charWeights)
    fill(this.#wordTableAt, model.wordWeights)
  }

  /** A kernel for `model`, or undefined when no module was handed over or it cannot be instantiated. */
  static create(model: KernelModel, stepT: Float64Array, stepAbs: Int32Array, module = kernelModule): Kernel | undefined {
    if (!module || stepT.byteLength > STEP_ABS_AT - STEP_T_AT || stepAbs.byteLength > TABLES_AT - STEP_ABS_AT) return undefined
    try {
      const instance = new Instance(module, {})
      return new Kernel(instance.exports as unknown as Exports, model, stepT, stepAbs)
    } catch (err) {
      console.error(JSON.stringify({ event: 'classifier_kernel_unavailable', error: String(err) }))
      return undefined
    }
  }

  /** Scores lower-cased `low` (at most {@link KERNEL_MAX_UNITS} units): its best window. */
  run(low: string): KernelResult {
    const x = this.#x
    const m = this.#model
    const n = low.length
    const input = this.#scratchAt
    const units = align8(input + 2 * n)
    const offsets = align8(units + 2 * (n + 2))
    const chars = align8(offsets + 4 * (n + 2))
    const wordPos = chars + 8 * (n + 2)
    const wordCode = align8(wordPos + 4 * (n + 2))
    const logits = align8(wordCode + 4 * (n + 2))
    this.#reserve(logits + 8 * (Math.ceil(n / STRIDE) + 2))

    const buf = x.memory.buffer
    const u16 = new Uint16Array(buf, input, n)
    for (let i = 0; i < n; i++) u16[i] = low.charCodeAt(i)
    const k = x.prepare(input, n, units, offsets)
    const windows = k <= WINDOW ? 1 : Math.ceil((k - WINDOW) / STRIDE) + 1
    new Float64Array(buf, logits, windows).fill(m.bias)
    x.chars(units, k, chars, (1 << m.charBits) - 1)
    x.slide(0, chars, 2 * k, TABLES_AT, m.charScale, k, windows, logits)
    const words = x.words(units, k, wordPos, wordCode, (1 << m.wordBits) - 1)
    x.slide(wordPos, wordCode, words, this.#wordTableAt, m.wordScale, k, windows, logits)
    const best = x.best(logits, windows)
    const first = best === windows - 1 ? Math.max(0, k - WINDOW) : best * STRIDE
    const last = best === windows - 1 ? k - 1 : first + WINDOW - 1
    const view = new DataView(buf)
    return {
      logit: view.getFloat64(logits + 8 * best, true),
      windows,
      firstOffset: view.getInt32(offsets + 4 * first, true),
      lastOffset: view.getInt32(offsets + 4 * last, true),
    }
  }

  /** Grows memory to at least `bytes`. */
  #reserve(bytes: number): void {
    const memory = this.#x.memory
    if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE))
  }
}
