/**
 * The shipped injection classifier: a linear model over hashed n-gram features (`features.ts`), its
 * weights in `rules/classifier/model.json` (int16, base64) and a monotone recalibration of its logit.
 *
 * The JSON is bundled as a plain string constant, which costs almost nothing at Worker startup; the
 * weights are decoded on the first call to {@link getModel} (a few milliseconds, once per isolate).
 */
import { z } from 'zod'
import shipped from '../../../rules/classifier/model.json'
import { extract, newStream, prepare, windowBounds, CHAR_N, MAX_WORD, STRIDE, WINDOW, WORD_N, type FeatureStream, type Prepared } from './features'
import { currentKernelModule, Kernel, KERNEL_MAX_UNITS, type KernelModel } from './kernel'

const ModelFile = z
  .object({
    format: z.literal('mcp-firewall/hashed-linear@1'),
    trainedAt: z.string(),
    features: z
      .object({
        charBits: z.number().int().min(8).max(22),
        wordBits: z.number().int().min(8).max(22),
        charN: z.array(z.number().int()),
        wordN: z.number().int(),
        maxWord: z.number().int(),
        window: z.number().int(),
        stride: z.number().int(),
      })
      .passthrough(),
    bias: z.number(),
    char: z.object({ scale: z.number().positive(), weights: z.string() }).strict(),
    word: z.object({ scale: z.number().positive(), weights: z.string() }).strict(),
    calibration: z.object({ logit: z.array(z.number()).min(2), score: z.array(z.number().min(0).max(1)).min(2) }).strict(),
    threshold: z.object({ logit: z.number(), score: z.number() }).strict(),
    floor: z.number().min(0).max(1),
  })
  .passthrough()
type ModelFile = z.infer<typeof ModelFile>

/** A decoded model, ready to score. */
export interface LinearModel extends KernelModel {
  readonly trainedAt: string
  /** Knots of the monotone piecewise-linear map logit → score. */
  readonly knotLogit: readonly number[]
  readonly knotScore: readonly number[]
  /** Model logit at the default operating point; `calibrate(thresholdLogit)` is `thresholdScore`. */
  readonly thresholdLogit: number
  readonly thresholdScore: number
  /** Scores below this are not reported. */
  readonly floor: number
}

/** One scored text: the best window's logit, its calibrated score and its bounds in prepared units. */
export interface TextScore {
  readonly logit: number
  readonly score: number
  /** [start, end) of the best window in the input string. */
  readonly span: [number, number]
  readonly windows: number
}

function decodeInt16(b64: string, expected: number): Int16Array {
  const bin = atob(b64)
  if (bin.length !== expected * 2) throw new Error(`classifier weights: expected ${expected * 2} bytes, got ${bin.length}`)
  const out = new Int16Array(expected)
  for (let i = 0; i < expected; i++) {
    const v = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8)
    out[i] = v >= 0x8000 ? v - 0x10000 : v
  }
  return out
}

/** Validates and decodes a model file (the shipped one, or one under test). */
export function decodeModel(json: unknown): LinearModel {
  const m: ModelFile = ModelFile.parse(json)
  const f = m.features
  if (f.window !== WINDOW || f.stride !== STRIDE || f.maxWord !== MAX_WORD || f.wordN !== WORD_N || f.charN.join() !== CHAR_N.join()) {
    throw new Error('classifier model was trained with a different feature specification')
  }
  const { logit, score } = m.calibration
  if (logit.length !== score.length) throw new Error('classifier calibration: knot arrays differ in length')
  for (let i = 1; i < logit.length; i++) {
    if (!((logit[i] as number) > (logit[i - 1] as number)) || (score[i] as number) < (score[i - 1] as number)) {
      throw new Error('classifier calibration must be monotone')
    }
  }
  return {
    trainedAt: m.trainedAt,
    charBits: f.charBits,
    wordBits: f.wordBits,
    bias: m.bias,
    charScale: m.char.scale,
    wordScale: m.word.scale,
    charWeights: decodeInt16(m.char.weights, 1 << f.charBits),
    wordWeights: decodeInt16(m.word.weights, 1 << f.wordBits),
    knotLogit: logit,
    knotScore: score,
    thresholdLogit: m.threshold.logit,
    thresholdScore: m.threshold.score,
    floor: m.floor,
  }
}

let cached: LinearModel | undefined

/** The shipped model, decoded on first use and kept for the isolate's lifetime. */
export function getModel(): LinearModel {
  cached ??= decodeModel(shipped)
  return cached
}

/** Monotone piecewise-linear recalibration of a logit to the score the pipeline combines. */
export function calibrate(model: LinearModel, logit: number): number {
  const xs = model.knotLogit
  const ys = model.knotScore
  const last = xs.length - 1
  if (logit <= (xs[0] as number)) return ys[0] as number
  if (logit >= (xs[last] as number)) return ys[last] as number
  let lo = 0
  let hi = last
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if ((xs[mid] as number) <= logit) lo = mid
    else hi = mid
  }
  const x0 = xs[lo] as number
  const x1 = xs[hi] as number
  const y0 = ys[lo] as number
  const y1 = ys[hi] as number
  return y0 + ((y1 - y0) * (logit - x0)) / (x1 - x0)
}

// Counts in a window stay within ±LIMIT (at most 3 char features per unit, 2 word features per word).
const LIMIT = 3 * WINDOW + 2

/**
 * Change of t = sign(v)·√|v| and of |v| when a bucket's count v moves by one, indexed by
 * ((v + LIMIT) << 1) | down. Tables instead of branches: the sign bit of a hashed feature is random, so
 * branching on it mispredicts half the time. The values are the same IEEE differences the direct formula
 * gives, so scores do not change.
 */
const STEP_T = new Float64Array(2 * (2 * LIMIT + 1))
const STEP_ABS = new Int32Array(2 * (2 * LIMIT + 1))
{
  const t = (v: number): number => (v < 0 ? -Math.sqrt(-v) : Math.sqrt(v))
  for (let v = -LIMIT; v <= LIMIT; v++) {
    const k = (v + LIMIT) << 1
    STEP_T[k] = t(v + 1) - t(v)
    STEP_T[k + 1] = t(v - 1) - t(v)
    STEP_ABS[k] = Math.abs(v + 1) - Math.abs(v)
    STEP_ABS[k + 1] = Math.abs(v - 1) - Math.abs(v)
  }
}

/**
 * One block's weights interleaved with its per-window counts ([w₀, c₀, w₁, c₁, …]) so that a feature
 * entering or leaving a window touches one cache line, not two.
 */
function interleave(weights: Int16Array): Int16Array {
  const t = new Int16Array(weights.length * 2)
  for (let i = 0; i < weights.length; i++) t[2 * i] = weights[i] as number
  return t
}

/**
 * Slides the windows over one block's feature stream, adding features as windows reach them and
 * removing them as windows pass. With t = sign(v)·√|v| per bucket, w·t and Σt² = Σ|v| change in O(1)
 * per feature, so every feature costs two updates however much windows overlap. Adds w·t̂ per window
 * (scaled, t̂ normalised) to `out`.
 */
function slide(stream: FeatureStream, table: Int16Array, scale: number, bounds: Array<[number, number]>, out: Float64Array): void {
  const pos = stream.pos
  const code = stream.code
  const len = stream.length
  let add = 0
  let rem = 0
  let dot = 0
  let ss = 0
  for (let j = 0; j < bounds.length; j++) {
    const b = bounds[j] as [number, number]
    const end = b[1]
    const start = b[0]
    for (; add < len && (pos[add] as number) < end; add++) {
      const c = code[add] as number
      const at = c & ~1
      const down = c & 1 // a negative-signed feature moves its bucket down
      const v = table[at + 1] as number
      const k = ((v + LIMIT) << 1) | down
      table[at + 1] = v + 1 - 2 * down
      dot += (table[at] as number) * (STEP_T[k] as number)
      ss += STEP_ABS[k] as number
    }
    for (; rem < add && (pos[rem] as number) < start; rem++) {
      const c = code[rem] as number
      const at = c & ~1
      const down = (c & 1) ^ 1 // removing undoes the add
      const v = table[at + 1] as number
      const k = ((v + LIMIT) << 1) | down
      table[at + 1] = v + 1 - 2 * down
      dot += (table[at] as number) * (STEP_T[k] as number)
      ss += STEP_ABS[k] as number
    }
    if (ss > 0) out[j] = (out[j] as number) + (dot * scale) / Math.sqrt(ss)
  }
  // Leave every count at zero for the next text.
  for (let k = rem; k < add; k++) table[((code[k] as number) & ~1) + 1] = 0
}

/** `slide` for the char stream, whose slot k belongs to position k >> 1 (-1: no feature). */
function slideChars(stream: FeatureStream, table: Int16Array, scale: number, bounds: Array<[number, number]>, out: Float64Array): void {
  const code = stream.code
  const len = stream.length
  let add = 0
  let rem = 0
  let dot = 0
  let ss = 0
  for (let j = 0; j < bounds.length; j++) {
    const b = bounds[j] as [number, number]
    const end = 2 * b[1] < len ? 2 * b[1] : len
    const start = 2 * b[0]
    for (; add < end; add++) {
      const c = code[add] as number
      if (c < 0) continue
      const at = c & ~1
      const down = c & 1
      const v = table[at + 1] as number
      const k = ((v + LIMIT) << 1) | down
      table[at + 1] = v + 1 - 2 * down
      dot += (table[at] as number) * (STEP_T[k] as number)
      ss += STEP_ABS[k] as number
    }
    for (; rem < start; rem++) {
      const c = code[rem] as number
      if (c < 0) continue
      const at = c & ~1
      const down = (c & 1) ^ 1
      const v = table[at + 1] as number
      const k = ((v + LIMIT) << 1) | down
      table[at + 1] = v + 1 - 2 * down
      dot += (table[at] as number) * (STEP_T[k] as number)
      ss += STEP_ABS[k] as number
    }
    if (ss > 0) out[j] = (out[j] as number) + (dot * scale) / Math.sqrt(ss)
  }
  for (let k = rem; k < add; k++) {
    const c = code[k] as number
    if (c >= 0) table[(c & ~1) + 1] = 0
  }
}

/**
 * Scores texts with one model, reusing its buffers (not re-entrant; one per isolate is enough since
 * detectors run synchronously).
 */
export class Scorer {
  readonly model: LinearModel
  readonly #chars = newStream()
  readonly #words = newStream()
  readonly #charTable: Int16Array
  readonly #wordTable: Int16Array
  #kernelModule: WebAssembly.Module | undefined
  #kernel: Kernel | undefined

  constructor(model: LinearModel) {
    this.model = model
    this.#charTable = interleave(model.charWeights)
    this.#wordTable = interleave(model.wordWeights)
  }

  /** The logit of every window of a prepared text, in window order. */
  windowLogits(p: Prepared): { bounds: Array<[number, number]>; logits: Float64Array } {
    const m = this.model
    extract(p.units, m.charBits, m.wordBits, this.#chars, this.#words)
    const bounds = windowBounds(p.units.length)
    const logits = new Float64Array(bounds.length).fill(m.bias)
    slideChars(this.#chars, this.#charTable, m.charScale, bounds, logits)
    slide(this.#words, this.#wordTable, m.wordScale, bounds, logits)
    return { bounds, logits }
  }

  /** Scores a text: the maximum over its windows, calibrated. */
  score(text: string): TextScore {
    const kernel = text.length <= KERNEL_MAX_UNITS ? this.#currentKernel() : undefined
    if (kernel) {
      const low = text.toLowerCase()
      if (low.length <= KERNEL_MAX_UNITS) {
        const r = kernel.run(low)
        const span: [number, number] = r.windows === 1 || low.length !== text.length ? [0, text.length] : [r.firstOffset, Math.min(text.length, r.lastOffset + 1)]
        return { logit: r.logit, score: calibrate(this.model, r.logit), span, windows: r.windows }
      }
    }
    const p = prepare(text)
    const { bounds, logits } = this.windowLogits(p)
    let best = 0
    for (let j = 1; j < logits.length; j++) if ((logits[j] as number) > (logits[best] as number)) best = j
    const [a, b] = bounds[best] as [number, number]
    const logit = logits[best] as number
    const span: [number, number] =
      bounds.length === 1 || !p.exactOffsets
        ? [0, text.length]
        : [p.offsets[a] as number, Math.min(text.length, (p.offsets[b - 1] as number) + 1)]
    return { logit, score: calibrate(this.model, logit), span, windows: bounds.length }
  }

  /** The WebAssembly kernel for this model, built on first use after a module was handed over. */
  #currentKernel(): Kernel | undefined {
    const module = currentKernelModule()
    if (module !== this.#kernelModule) {
      this.#kernelModule = module
      this.#kernel = module ? Kernel.create(this.model, STEP_T, STEP_ABS, module) : undefined
    }
    return this.#kernel
  }
}

let shared: Scorer | undefined

/** The scorer for the shipped model (decodes the weights on first use). */
export function getScorer(): Scorer {
  shared ??= new Scorer(getModel())
  return shared
}
