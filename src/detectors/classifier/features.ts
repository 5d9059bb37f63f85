/**
 * Hashed character and word n-gram features for the injection classifier.
 *
 * This file is the TypeScript twin of `scripts/train/hashing.py`: both produce the same features for
 * the same string, so the model trained in Python scores identically here (checked by
 * `test/unit/classifier-parity.test.ts` against scores the training script wrote). The specification:
 *
 * 1. Lower-case with `toLowerCase()` (Unicode full mapping, as Python's `str.lower()`).
 * 2. Work on UTF-16 code units. ASCII digits become `0`; control characters and Unicode spaces become a
 *    space; runs of spaces fold to one; one space pads each end.
 * 3. Two blocks of features, each feature placed at a position: every code-unit 3- and 5-gram (at its
 *    first unit), and word unigrams and bigrams (at the start of the last word). A word is a maximal run
 *    of ASCII letters, `0`, `_` or units ≥ 0x80 outside punctuation ranges; its first {@link MAX_WORD}
 *    units are hashed.
 * 4. FNV-1a 32-bit over code units, a pair combiner for bigrams, then a murmur-style finaliser whose low
 *    bits pick the bucket and whose top bit the sign.
 * 5. Windows of {@link WINDOW} units every {@link STRIDE} units (one window when shorter) hold the
 *    features placed inside them. Bucket value = sign(v)·√|v| of the signed count; each block is
 *    L2-normalised per window.
 *
 * Every feature is hashed once per text; windows are then scored incrementally (see `model.ts`).
 */

export const WINDOW = 160
export const STRIDE = 64
export const MAX_WORD = 32
export const CHAR_N: readonly number[] = [3, 5]
export const WORD_N = 2

const CHAR_MIN = 3
const CHAR_MAX = 5
const FNV_PRIME = 0x01000193
const CHAR_SEED = 0x811c9dc5 | 0
const WORD_SEED = 0x050c5d1f
const PAIR_SALT = 0x2f
const MIX = 0x85ebca6b | 0

/** A text after steps 1–2: code units and, per unit, its offset in the input string. */
export interface Prepared {
  readonly units: Uint16Array
  /** Offset in the input of each unit (the padding maps to 0 and to the input's length). */
  readonly offsets: Int32Array
  /** False when lower-casing changed the string's length, so offsets are approximate. */
  readonly exactOffsets: boolean
}

/**
 * One block's features in position order: `code` = bucket << 1 | (1 when the sign is negative).
 * Words fill `pos`; chars use two slots per position instead (see `extract`).
 */
export interface FeatureStream {
  pos: Int32Array
  code: Int32Array
  length: number
}

function isSpace(c: number): boolean {
  return (
    c < 0x21 ||
    c === 0x7f ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  )
}

function isWordUnit(c: number): boolean {
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || c === 0x30 || c === 0x5f
  return !(
    (c >= 0xa0 && c <= 0xbf) ||
    c === 0xd7 ||
    c === 0xf7 ||
    (c >= 0x2000 && c <= 0x206f) ||
    (c >= 0x2190 && c <= 0x2bff) ||
    (c >= 0x3000 && c <= 0x303f) ||
    (c >= 0xfe30 && c <= 0xfe4f) ||
    (c >= 0xff01 && c <= 0xff0f) ||
    (c >= 0xff1a && c <= 0xff20) ||
    (c >= 0xff3b && c <= 0xff40) ||
    (c >= 0xff5b && c <= 0xff65)
  )
}

const SPACE = 1
const WORD = 2
const DIGIT = 4
let classes: Uint8Array | undefined

/** Per code unit: SPACE, WORD, DIGIT bits (built on first use: 64 KB, well under a millisecond). */
export function unitClasses(): Uint8Array {
  if (classes) return classes
  const t = new Uint8Array(0x10000)
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0x30 && c <= 0x39) t[c] = DIGIT
    else if (isSpace(c)) t[c] = SPACE
    else if (isWordUnit(c)) t[c] = WORD
  }
  classes = t
  return t
}

/** Steps 1–2 of the specification. */
export function prepare(text: string): Prepared {
  const cls = unitClasses()
  const low = text.toLowerCase()
  const n = low.length
  const units = new Uint16Array(n + 2)
  const offsets = new Int32Array(n + 2)
  let k = 1
  units[0] = 0x20
  for (let i = 0; i < n; i++) {
    let c = low.charCodeAt(i)
    const t = cls[c] as number
    if (t === DIGIT) c = 0x30
    else if (t === SPACE) {
      if (units[k - 1] === 0x20) continue
      c = 0x20
    }
    units[k] = c
    offsets[k] = i
    k++
  }
  if (units[k - 1] !== 0x20) {
    units[k] = 0x20
    offsets[k] = n
    k++
  }
  return { units: units.subarray(0, k), offsets: offsets.subarray(0, k), exactOffsets: n === text.length }
}

/** Step 5: window bounds [start, end) over `n` prepared units. */
export function windowBounds(n: number): Array<[number, number]> {
  if (n <= WINDOW) return [[0, n]]
  const out: Array<[number, number]> = []
  let s = 0
  while (s + WINDOW < n) {
    out.push([s, s + WINDOW])
    s += STRIDE
  }
  out.push([n - WINDOW, n])
  return out
}

function pair(a: number, b: number): number {
  let h = Math.imul(a ^ PAIR_SALT, FNV_PRIME)
  h = Math.imul(h ^ (b & 0xffff), FNV_PRIME)
  return Math.imul(h ^ (b >>> 16), FNV_PRIME)
}

function ensure(stream: FeatureStream, size: number): void {
  if (stream.pos.length >= size) return
  stream.pos = new Int32Array(size)
  stream.code = new Int32Array(size)
}

/** An empty stream; `extract` grows it as needed, so one pair can be reused across texts. */
export function newStream(): FeatureStream {
  return { pos: new Int32Array(0), code: new Int32Array(0), length: 0 }
}

/** Steps 3–4: fills `chars` (two slots per position) and `words` (with positions) for the prepared units. */
export function extract(units: Uint16Array, charBits: number, wordBits: number, chars: FeatureStream, words: FeatureStream): void {
  const n = units.length
  const cmask = (1 << charBits) - 1

  // Chars: two slots per position (3-gram, 5-gram), -1 where the n-gram runs past the end, so the
  // position of slot k is k >> 1 and `pos` is not needed.
  ensure(chars, 2 * n)
  const ccode = chars.code
  for (let i = 0; i < n; i++) {
    if (i + CHAR_MIN > n) {
      ccode[2 * i] = -1
      ccode[2 * i + 1] = -1
      continue
    }
    // FNV-1a over units i.., taking the state after 3 and after 5 units.
    let h = Math.imul(CHAR_SEED ^ (units[i] as number), FNV_PRIME)
    h = Math.imul(h ^ (units[i + 1] as number), FNV_PRIME)
    h = Math.imul(h ^ (units[i + 2] as number), FNV_PRIME)
    let x = h ^ (h >>> 16)
    x = Math.imul(x, MIX)
    x ^= x >>> 13
    ccode[2 * i] = ((x & cmask) << 1) | (x >>> 31)
    if (i + CHAR_MAX > n) {
      ccode[2 * i + 1] = -1
      continue
    }
    h = Math.imul(h ^ (units[i + 3] as number), FNV_PRIME)
    h = Math.imul(h ^ (units[i + 4] as number), FNV_PRIME)
    x = h ^ (h >>> 16)
    x = Math.imul(x, MIX)
    x ^= x >>> 13
    ccode[2 * i + 1] = ((x & cmask) << 1) | (x >>> 31)
  }
  chars.length = 2 * n

  extractWords(units, wordBits, words)
}

/** Step 3–4 for the word block only: fills `words` in position order. */
export function extractWords(units: Uint16Array, wordBits: number, words: FeatureStream): void {
  const n = units.length
  const wmask = (1 << wordBits) - 1
  ensure(words, n + 2)
  const cls = unitClasses()
  const wpos = words.pos
  const wcode = words.code
  let w = 0
  let prev = 0
  let havePrev = false
  let i = 0
  while (i < n) {
    if ((cls[units[i] as number] as number) < WORD) {
      i++
      continue
    }
    const start = i
    let h = WORD_SEED
    let len = 0
    // Digits were mapped to '0' (a word unit) by `prepare`, so WORD or DIGIT both continue a word.
    while (i < n && (cls[units[i] as number] as number) >= WORD) {
      if (len < MAX_WORD) h = Math.imul(h ^ (units[i] as number), FNV_PRIME)
      len++
      i++
    }
    let x = h ^ (h >>> 16)
    x = Math.imul(x, MIX)
    x ^= x >>> 13
    wpos[w] = start
    wcode[w++] = ((x & wmask) << 1) | (x >>> 31)
    if (havePrev) {
      const p = pair(prev, h)
      x = p ^ (p >>> 16)
      x = Math.imul(x, MIX)
      x ^= x >>> 13
      wpos[w] = start
      wcode[w++] = ((x & wmask) << 1) | (x >>> 31)
    }
    prev = h
    havePrev = true
  }
  words.length = w
}
