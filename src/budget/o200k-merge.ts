/**
 * Byte-pair merging of one piece that is not itself a token, counting the tokens it ends up as. Same rule
 * as gpt-tokenizer's `bytePairMerge` (and tiktoken's): start from the piece's UTF-8 bytes, repeatedly
 * merge the adjacent pair whose bytes form the token of lowest rank (the leftmost on a tie) until no
 * adjacent pair is a token. Same lookups as the library, quirks included, since the count must be its:
 * - bytes that are whole characters (valid UTF-8) are looked up as a string, in the string map only,
 *   after the library's `TextDecoder` would have dropped a leading U+FEFF;
 * - any other bytes (part of a character) among the tokens stored as bytes;
 * - a lone surrogate is the three bytes of U+FFFD, as `TextEncoder` writes it.
 *
 * Where the library decodes and probes a map for every candidate, here a candidate is first looked up
 * by the ranks of its two halves: two tokens either merge into one fixed token or never do, so a cache
 * from (left rank, right rank) to merged rank, filled as merges are met, answers most candidates without
 * building a string. Long pieces use a heap instead of rescanning every pair after each merge.
 */
import { CandidateHeap } from './o200k-heap'
import { byteKey, fragmentPrefix, LONGEST_TOKEN_BYTES, NONE } from './o200k-ranks'
import type { RankTables } from './o200k-ranks'

/** Slots of a merger's pair cache (a power of two): 12 bytes each. */
const PAIR_SLOTS = 1 << 16
/** Longest piece (in bytes) merged by rescanning every pair each step; longer ones use a heap. */
const LINEAR_MAX = 64
/**
 * Longest piece merged here by default (512 KiB: ≈15 MB of working memory). A longer one (one run of a
 * single kind of character, half a megabyte long) is left to the library, whose quadratic merge it would
 * have met before anyway; the memory a merge here takes stays bounded whatever the input.
 */
export const LONGEST_MERGE_BYTES = 512 * 1024
/** Scratch larger than this is dropped after the merge that needed it. */
const KEPT_SCRATCH_BYTES = 64 * 1024

/** UTF-8 of the piece being merged, and for each byte offset the UTF-16 offset it starts (-1 inside a character). */
let bytes = new Uint8Array(256)
let charAt = new Int32Array(257)
/** Per part, for the linear merge: its first byte, its rank as a token, the rank of merging it with the next. */
let starts = new Int32Array(256)
let partRanks = new Int32Array(256)
let pairRanks = new Int32Array(256)

/**
 * Counts the tokens of pieces that the caller found are not themselves tokens (so the merge skips that
 * lookup). A class, not closures, so that every merger (one per counter) shares V8's optimised code.
 */
export class Merger {
  private readonly byteRanks: Int32Array
  /** Rank of every two-byte candidate by `first << 8 | second`, filled on first use (-1: not yet known). */
  private readonly twoByteRanks = new Int32Array(1 << 16).fill(-1)
  /** The pair cache: (left rank, right rank) → merged rank, direct-mapped. */
  private readonly cachedLeft = new Int32Array(PAIR_SLOTS).fill(-1)
  private readonly cachedRight = new Int32Array(PAIR_SLOTS)
  private readonly cachedRank = new Int32Array(PAIR_SLOTS)
  /** The piece as the library decodes its bytes: lone surrogates become U+FFFD (same UTF-16 offsets). */
  private piece = ''
  private pieceBytes = 0
  /** Whether the whole piece is known not to be a token (the caller checked the piece as given). */
  private wholeIsNoToken = true
  private usePairCache = true

  constructor(
    private readonly tables: RankTables,
    private readonly longestMerge = LONGEST_MERGE_BYTES,
  ) {
    this.byteRanks = singleByteRanks(tables)
  }

  /** Tokens of `piece`, or -1 if it is longer than the merger takes (see {@link LONGEST_MERGE_BYTES}). */
  count(piece: string): number {
    const n = utf8Length(piece)
    if (n > this.longestMerge) return -1
    encode(piece, n)
    const wellFormed = replacedSurrogates ? toWellFormed(piece) : piece
    this.piece = wellFormed
    this.pieceBytes = n
    this.wholeIsNoToken = wellFormed === piece
    // A part that starts with U+FEFF has the rank of what follows it (see lookup), so its rank does not
    // identify its bytes, which the pair cache relies on. Such pieces are rare; they skip the cache.
    this.usePairCache = !piece.includes('\ufeff')
    const tokens = n <= LINEAR_MAX ? this.mergeLinear(n) : this.mergeWithHeap(n)
    if (bytes.length > KEPT_SCRATCH_BYTES) {
      bytes = new Uint8Array(256)
      charAt = new Int32Array(257)
    }
    return tokens
  }

  /**
   * Rank of `bytes[from, to)` as the library finds it: whole characters are valid UTF-8, which it decodes
   * with a default `TextDecoder` and looks up as a string; anything else is a fragment. That decoder drops
   * a leading U+FEFF (byte order mark), so "\ufeff名" is looked up as "名": copied here, or counts differ.
   */
  private lookup(from: number, to: number): number {
    let a = charAt[from] as number
    const b = charAt[to] as number
    if (a >= 0 && b >= 0) {
      let length = to - from
      if (this.piece.charCodeAt(a) === 0xfeff) {
        a++
        length -= 3
      } else if (from === 0 && to === this.pieceBytes && this.wholeIsNoToken) {
        return NONE // the caller found the whole piece is not a token
      }
      if (length > LONGEST_TOKEN_BYTES) return NONE
      return this.tables.ranks.get(this.piece.slice(a, b)) ?? NONE
    }
    if (to - from > this.tables.longestFragment) return NONE
    if (to - from > 3 && !this.tables.fragmentPrefixes.has(fragmentPrefix(bytes, from, to))) return NONE
    return this.tables.fragments.get(byteKey(bytes, from, to)) ?? NONE
  }

  /** Rank of the token that tokens `left` at `from` and `right` ending at `to` make together, or NONE. */
  private pairRank(left: number, right: number, from: number, to: number): number {
    if (!this.usePairCache) return this.lookup(from, to)
    const slot = (Math.imul(left, 0x9e3779b1) ^ Math.imul(right, 0x85ebca6b)) >>> 16
    if (this.cachedLeft[slot] === left && this.cachedRight[slot] === right) return this.cachedRank[slot] as number
    const r = this.lookup(from, to)
    this.cachedLeft[slot] = left
    this.cachedRight[slot] = right
    this.cachedRank[slot] = r
    return r
  }

  /** Rank of the two bytes at `k` as one token, or NONE: the first candidates of every merge. */
  private twoByteRank(k: number): number {
    const key = ((bytes[k] as number) << 8) | (bytes[k + 1] as number)
    let r = this.twoByteRanks[key] as number
    if (r < 0) this.twoByteRanks[key] = r = this.lookup(k, k + 2)
    return r
  }

  /** The library's loop: each step scans every adjacent pair for the lowest rank. Quadratic; for short pieces. */
  private mergeLinear(n: number): number {
    grow(n)
    for (let k = 0; k < n; k++) partRanks[k] = this.byteRanks[bytes[k] as number] as number
    for (let k = 0; k <= n; k++) starts[k] = k
    for (let k = 0; k < n - 1; k++) pairRanks[k] = this.twoByteRank(k)
    let parts = n
    while (parts > 1) {
      let best = NONE
      let at = -1
      for (let k = 0; k < parts - 1; k++) {
        const r = pairRanks[k] as number
        if (r < best) {
          best = r
          at = k
        }
      }
      if (at < 0) break
      // Part `at` absorbs part `at + 1` and becomes token `best`.
      starts.copyWithin(at + 1, at + 2, parts + 1)
      partRanks.copyWithin(at + 1, at + 2, parts)
      pairRanks.copyWithin(at, at + 1, parts - 1)
      partRanks[at] = best
      parts--
      if (at < parts - 1) pairRanks[at] = this.pairRank(best, partRanks[at + 1] as number, starts[at] as number, starts[at + 2] as number)
      if (at > 0) pairRanks[at - 1] = this.pairRank(partRanks[at - 1] as number, best, starts[at - 1] as number, starts[at + 1] as number)
    }
    return parts
  }

  /**
   * The same merges in the same order, for long pieces (a 16 KB run of spaces or of one CJK script is one
   * piece): parts in a linked list keyed by their first byte, each part's candidate (with the next part)
   * in an indexed min-heap ordered by (rank, first byte), which is the library's "lowest rank, then
   * leftmost". O(n log n) instead of the library's O(n²), in about 30 bytes per byte of the piece
   * (with its UTF-8 and offsets).
   */
  private mergeWithHeap(n: number): number {
    const next = new Int32Array(n)
    const prev = new Int32Array(n)
    const partRank = new Int32Array(n)
    const heap = new CandidateHeap(n)
    for (let s = 0; s < n; s++) {
      next[s] = s + 1
      prev[s] = s - 1
      partRank[s] = this.byteRanks[bytes[s] as number] as number
    }
    for (let s = 0; s < n - 1; s++) heap.set(s, this.twoByteRank(s))
    let parts = n
    for (let s = heap.popMin(); s >= 0; s = heap.popMin()) {
      // Part `s` absorbs the part after it and becomes the token of rank `rank`.
      const rank = heap.rankOf(s)
      const absorbed = next[s] as number
      const after = next[absorbed] as number
      heap.set(absorbed, NONE)
      next[s] = after
      if (after < n) prev[after] = s
      partRank[s] = rank
      parts--
      heap.set(s, after < n ? this.pairRank(rank, partRank[after] as number, s, next[after] as number) : NONE)
      const before = prev[s] as number
      if (before >= 0) heap.set(before, this.pairRank(partRank[before] as number, rank, before, after))
    }
    return parts
  }
}

/** Rank of each single byte as a token (every byte is one, ASCII as a string, the rest as fragments). */
function singleByteRanks({ ranks, fragments }: RankTables): Int32Array {
  const out = new Int32Array(256)
  for (let b = 0; b < 256; b++) out[b] = (b < 0x80 ? ranks.get(String.fromCharCode(b)) : fragments.get(byteKey([b], 0, 1))) ?? NONE
  return out
}

/** Makes the linear merge's arrays hold `n` parts (and `n + 1` boundaries). */
function grow(n: number): void {
  if (starts.length > n) return
  starts = new Int32Array(n * 2)
  partRanks = new Int32Array(n * 2)
  pairRanks = new Int32Array(n * 2)
}

/** Whether the last {@link encode} met a lone surrogate. */
let replacedSurrogates = false

/** Bytes `TextEncoder` writes for `piece` (a lone surrogate becomes U+FFFD, three bytes). */
export function utf8Length(piece: string): number {
  let n = 0
  for (let k = 0; k < piece.length; k++) {
    const c = piece.charCodeAt(k)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && k + 1 < piece.length && (piece.charCodeAt(k + 1) & 0xfc00) === 0xdc00) {
      n += 4
      k++
    } else n += 3
  }
  return n
}

/**
 * Writes `piece` (`size` bytes of UTF-8) into {@link bytes} and {@link charAt}, as `TextEncoder` does (a
 * lone surrogate becomes U+FFFD).
 */
function encode(piece: string, size: number): void {
  replacedSurrogates = false
  if (bytes.length < size + 1) {
    const grown = size < KEPT_SCRATCH_BYTES ? Math.max(size + 1, 2 * bytes.length) : size + 1
    bytes = new Uint8Array(grown)
    charAt = new Int32Array(grown + 1)
  }
  let n = 0
  for (let i = 0; i < piece.length; i++) {
    let c = piece.charCodeAt(i)
    charAt[n] = i
    if (c < 0x80) {
      bytes[n++] = c
      continue
    }
    if (c < 0x800) {
      bytes[n++] = 0xc0 | (c >> 6)
    } else if (c < 0xd800 || c > 0xdfff) {
      bytes[n++] = 0xe0 | (c >> 12)
      charAt[n] = -1
      bytes[n++] = 0x80 | ((c >> 6) & 0x3f)
    } else {
      const low = piece.charCodeAt(i + 1)
      if (c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00)
        i++
        bytes[n++] = 0xf0 | (c >> 18)
        charAt[n] = -1
        bytes[n++] = 0x80 | ((c >> 12) & 0x3f)
      } else {
        replacedSurrogates = true
        c = 0xfffd
        bytes[n++] = 0xef
      }
      charAt[n] = -1
      bytes[n++] = 0x80 | ((c >> 6) & 0x3f)
    }
    charAt[n] = -1
    bytes[n++] = 0x80 | (c & 0x3f)
  }
  charAt[n] = piece.length
}

/** `piece` with each lone surrogate replaced by U+FFFD, what decoding its UTF-8 gives back. */
function toWellFormed(piece: string): string {
  let out = ''
  for (let i = 0; i < piece.length; i++) {
    const c = piece.charCodeAt(i)
    const low = i + 1 < piece.length ? piece.charCodeAt(i + 1) : 0
    if (c >= 0xd800 && c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
      out += String.fromCharCode(c, low)
      i++
    } else {
      out += c >= 0xd800 && c <= 0xdfff ? '\ufffd' : String.fromCharCode(c)
    }
  }
  return out
}
