/**
 * The rank tables a merge looks ranks up in, and how byte strings are keyed in them: shared by the
 * merger (./o200k-merge), which probes them, and the counter (./o200k-count), which builds them from
 * gpt-tokenizer's own maps.
 */

/** Rank of "not a token": above every rank. */
export const NONE = 0x7fffffff

/** Bytes of o200k's longest token (checked by test/unit/budget-tokens.test.ts): nothing longer is one. */
export const LONGEST_TOKEN_BYTES = 128

/** What a merge looks ranks up in (both from the library, see ./o200k-count). */
export interface RankTables {
  /** Tokens that are valid UTF-8, as strings. */
  readonly ranks: ReadonlyMap<string, number>
  /** Tokens that are not valid UTF-8 (fragments of characters), by {@link byteKey}. */
  readonly fragments: ReadonlyMap<number | string, number>
  /** Length in bytes of the longest fragment token. */
  readonly longestFragment: number
  /** {@link fragmentPrefix} of every fragment token longer than three bytes: most candidates are not one. */
  readonly fragmentPrefixes: ReadonlySet<number>
}

/** Length and first three bytes of a byte string longer than three, as a small integer. */
export function fragmentPrefix(b: ArrayLike<number>, from: number, to: number): number {
  return ((to - from) << 24) | ((b[from] as number) << 16) | ((b[from + 1] as number) << 8) | (b[from + 2] as number)
}

/**
 * Map key of a byte string: up to three bytes packed with their count into a small integer (no string
 * to allocate for the common short fragments), longer ones as a string of char codes 0–255.
 */
export function byteKey(b: ArrayLike<number>, from: number, to: number): number | string {
  if (to - from <= 3) {
    let v = to - from
    for (let k = from; k < to; k++) v = (v << 8) | (b[k] as number)
    return v
  }
  let s = ''
  for (let k = from; k < to; k++) s += String.fromCharCode(b[k] as number)
  return s
}
