/**
 * Exact o200k token counts, several times cheaper than gpt-tokenizer's `countTokens` while giving the
 * same number for every input (test/unit/budget-tokens.test.ts and `npm run eval:tokens` compare them).
 *
 * gpt-tokenizer counts a text as: cut it into pieces with the o200k regex (`matchAll`, an array per
 * piece), then per piece 1 if the piece is a token, else the number of tokens byte-pair merging makes of
 * its UTF-8 (a `TextDecoder` call per candidate pair). Here:
 * - pieces come from ./o200k-scan, with a sticky copy of the library's regex wherever a non-ASCII
 *   character decides a piece;
 * - short ASCII pieces are counted once and then found in a small table keyed by their characters;
 * - any other piece is looked up in the library's own string → rank map, and if it is not a token,
 *   merged by ./o200k-merge with the same rule and the same rank lookups as the library (its quirks
 *   included: see there), and remembered.
 *
 * The one reach into the library's internals is {@link libraryInternals}; when its shape is not what this
 * file was written against, {@link createCounter} falls back to the library's `countTokens` as it is.
 */
import { LONGEST_MERGE_BYTES, Merger, utf8Length } from './o200k-merge'
import { byteKey, fragmentPrefix, LONGEST_TOKEN_BYTES } from './o200k-ranks'
import type { RankTables } from './o200k-ranks'
import { asciiPieceEnd, O200K_SPLIT_PATTERN } from './o200k-scan'

/** The parts of `gpt-tokenizer/encoding/o200k_base` this file uses. */
export interface O200kModule {
  readonly countTokens: (text: string, options: { disallowedSpecial: Set<string> }) => number
  readonly encode: (text: string, options: { disallowedSpecial: Set<string> }) => number[]
  readonly default: unknown
}

export type Counter = (text: string) => number

/** What the fast counter needs from the library, found by {@link libraryInternals}. */
interface Internals extends RankTables {
  /** The library's split regex (flags `gu`). */
  readonly split: RegExp
}

/** Special-token strings are ordinary text for the budget, never refused. */
const ORDINARY = { disallowedSpecial: new Set<string>() }

/**
 * The library's rank maps and split regex. gpt-tokenizer 4.0.0 exposes none of them (they are private
 * fields of the encoder's `BytePairEncodingCore`), and rebuilding the string map from the public rank
 * table would cost ≈40 ms and several MB per isolate. Returns undefined unless the fields have the
 * expected shape, the regex is the one {@link asciiPieceEnd} implements, and sample ranks agree with the
 * public `encode`.
 */
export function libraryInternals(m: O200kModule): Internals | undefined {
  const core = (m.default as { bytePairEncodingCoreProcessor?: Record<string, unknown> } | undefined)?.bytePairEncodingCoreProcessor
  const ranks = core?.['bytePairStringRankEncoder']
  const fragmentBytes = core?.['bytePairNonUtfRankDecoder']
  const split = core?.['tokenSplitRegex']
  if (!(ranks instanceof Map) || !(fragmentBytes instanceof Map) || !(split instanceof RegExp)) return undefined
  if (split.source !== O200K_SPLIT_PATTERN || split.flags !== 'gu') return undefined
  const fragments = new Map<number | string, number>()
  const fragmentPrefixes = new Set<number>()
  let longestFragment = 0
  for (const [rank, b] of fragmentBytes as Map<unknown, unknown>) {
    if (typeof rank !== 'number' || !(b instanceof Uint8Array)) return undefined
    fragments.set(byteKey(b, 0, b.length), rank)
    if (b.length > 3) fragmentPrefixes.add(fragmentPrefix(b, 0, b.length))
    longestFragment = Math.max(longestFragment, b.length)
  }
  const tables = { ranks: ranks as ReadonlyMap<string, number>, fragments, fragmentPrefixes, longestFragment, split }
  // Merging starts from single bytes, each a token: ASCII ones as strings, the others as fragments.
  for (let b = 0; b < 256; b++) {
    const known = b < 0x80 ? tables.ranks.has(String.fromCharCode(b)) : fragments.has(byteKey([b], 0, 1))
    if (!known) return undefined
  }
  for (const sample of ['hello', ' world', '!', '\n\n', ' про']) {
    const tokens = m.encode(sample, ORDINARY)
    if (tokens.length !== 1 || tables.ranks.get(sample) !== tokens[0]) return undefined
  }
  return tables
}

/**
 * The exact counter: the fast one when the library's internals are as expected, else the library's own.
 * `longestMerge` (bytes) is for tests: pieces longer than that are left to the library.
 */
export function createCounter(m: O200kModule, longestMerge = LONGEST_MERGE_BYTES): { count: Counter; fast: boolean } {
  const library: Counter = (text) => m.countTokens(text, ORDINARY)
  const internals = libraryInternals(m)
  if (!internals) return { count: library, fast: false }
  const counter = new FastCounter(internals, new Merger(internals, longestMerge), library)
  return { count: (text) => counter.count(text), fast: true }
}

/** Longest piece kept in {@link ShortPieces}. */
const MAX_SHORT = 12

/**
 * Token counts of recently seen short ASCII pieces (2 to 12 characters; with single characters, which are
 * counted directly, that is 98 % of the pieces of prose, code and JSON), keyed by the characters themselves packed into three integers, in a two-way set-associative
 * table of typed arrays. A hit costs packing the characters and comparing integers within one cache line:
 * no substring, no string hashing, no probe into the 200k-entry rank map. A new piece evicts the older of
 * its set's two, so the table stays at 1 MB.
 *
 * Entry `e` is `table[4e .. 4e + 3]`: characters 0–3, 4–7 and 8–11 (8 bits each, zero-padded), then
 * `length << 16 | tokens` (0 = empty). Set `s` holds entries `2s` (newer) and `2s + 1`.
 */
class ShortPieces {
  private static readonly SETS = 1 << 15
  private readonly table = new Int32Array(ShortPieces.SETS * 8)

  /**
   * Tokens of the ASCII piece at bytes `[i, end)` of `bytes` (2 ≤ length ≤ 12), which is `text` from
   * UTF-16 offset `u`: from the table, or else from `count` of the piece's string.
   */
  tokens(bytes: Uint8Array, i: number, end: number, text: string, u: number, count: (piece: string) => number): number {
    const length = end - i
    const a = pack(bytes, i, Math.min(i + 4, end))
    const b = length > 4 ? pack(bytes, i + 4, Math.min(i + 8, end)) : 0
    const c = length > 8 ? pack(bytes, i + 8, end) : 0
    let h = Math.imul(a ^ Math.imul(b ^ length, 0x9e3779b1) ^ Math.imul(c, 0x7feb352d), 0x85ebca6b)
    h ^= h >>> 15
    const at = (h & (ShortPieces.SETS - 1)) << 3
    const t = this.table
    for (let e = at; e < at + 8; e += 4) {
      const meta = t[e + 3] as number
      if (meta >>> 16 === length && t[e] === a && t[e + 1] === b && t[e + 2] === c) return meta & 0xffff
    }
    const n = count(text.slice(u, u + length))
    t.copyWithin(at + 4, at, at + 4)
    t[at] = a
    t[at + 1] = b
    t[at + 2] = c
    t[at + 3] = (length << 16) | n
    return n
  }
}

/** Up to four ASCII bytes of `bytes[from, to)`, 8 bits each. */
function pack(bytes: Uint8Array, from: number, to: number): number {
  let v = 0
  for (let k = from; k < to; k++) v = (v << 8) | (bytes[k] as number)
  return v
}

/**
 * Counts of pieces that are not tokens and not in {@link ShortPieces} (longer, or non-ASCII, or pushed
 * out of it), so that seeing one again costs a map lookup, not a merge. Bounded: the oldest entry goes,
 * and pieces longer than {@link MAX_MERGED_CHARS} (rare, and merged in O(n log n)) are not kept, so the
 * map stays under a few MB whatever the traffic.
 */
const MAX_MERGED = 50_000
const MAX_MERGED_CHARS = 256

/** Largest UTF-8 scratch buffer a counter keeps between texts; a longer text gets a buffer of its own. */
const MAX_KEPT_BYTES = 1 << 20

/**
 * The fast counter over the library's tables. Its caches (≈1 MB of short pieces, up to 50k merged pieces,
 * the merger's rank caches) live as long as it does, i.e. the isolate. A class, not closures, so that every
 * counter shares V8's optimised code (a benchmark's fresh counter is not measured in the interpreter).
 */
class FastCounter {
  private readonly shortPieces = new ShortPieces()
  private readonly merged = new Map<string, number>()
  private readonly sticky: RegExp
  private readonly encoder = new TextEncoder()
  private scratch = new Uint8Array(4096)
  private readonly countPiece = (piece: string): number => this.pieceTokens(piece)

  /**
   * `library` counts a piece longer than the merger takes; a whole piece re-splits to itself under the
   * regex (nothing before it differs, and the one look-ahead, `(?!\S)`, only matters at its end, where
   * the end of the string satisfies it), so that is the library's count for that piece.
   */
  constructor(
    private readonly tables: Internals,
    private readonly merger: Merger,
    private readonly library: Counter,
  ) {
    this.sticky = new RegExp(tables.split.source, 'uy')
  }

  /**
   * Walks the text's UTF-8 bytes (offset `i`) and its UTF-16 code units (offset `u`) together: they are
   * equal up to the first non-ASCII character, and each piece the regex takes advances both by its size.
   */
  count(text: string): number {
    const bytes = this.utf8(text)
    const n = bytes.length
    let tokens = 0
    let u = 0
    for (let i = 0; i < n; ) {
      const end = asciiPieceEnd(bytes, i, n)
      if (end < 0) {
        const piece = this.regexPiece(text, u)
        tokens += this.pieceTokens(piece)
        u += piece.length
        i += utf8Length(piece)
        continue
      }
      const length = end - i
      if (length === 1) tokens += 1 // every ASCII character is a token
      else if (length <= MAX_SHORT) tokens += this.shortPieces.tokens(bytes, i, end, text, u, this.countPiece)
      else tokens += this.pieceTokens(text.slice(u, u + length))
      i = end
      u += length
    }
    return tokens
  }

  /**
   * `text` as UTF-8 (lone surrogates as U+FFFD, as the library encodes them): into a reused buffer (up to
   * three bytes per code unit) for texts up to a few hundred KB, a buffer of its own for longer ones.
   */
  private utf8(text: string): Uint8Array {
    const need = text.length * 3
    if (need > MAX_KEPT_BYTES) return this.encoder.encode(text)
    if (this.scratch.length < need) this.scratch = new Uint8Array(Math.min(MAX_KEPT_BYTES, Math.max(need, 2 * this.scratch.length)))
    return this.scratch.subarray(0, this.encoder.encodeInto(text, this.scratch).written)
  }

  /** The piece at UTF-16 offset `u` when the scanner could not decide its end: the regex's match there. */
  private regexPiece(text: string, u: number): string {
    this.sticky.lastIndex = u
    return (this.sticky.exec(text) as RegExpExecArray)[0]
  }

  /** Tokens of a piece, from the rank map, the merged cache or a merge. */
  private pieceTokens(piece: string): number {
    // A UTF-16 code unit is at least one byte of UTF-8: a longer piece cannot be a token.
    if (piece.length <= LONGEST_TOKEN_BYTES && this.tables.ranks.has(piece)) return 1
    if (piece.length > MAX_MERGED_CHARS) return this.merge(piece)
    let n = this.merged.get(piece)
    if (n === undefined) {
      n = this.merge(piece)
      if (this.merged.size >= MAX_MERGED) this.merged.delete(this.merged.keys().next().value as string)
      this.merged.set(piece, n)
    }
    return n
  }

  /** Tokens of a piece that is not a token: merged here, or by the library past the merger's length limit. */
  private merge(piece: string): number {
    const n = this.merger.count(piece)
    return n >= 0 ? n : this.library(piece)
  }
}
