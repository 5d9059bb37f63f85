/**
 * The offset map of a normalised text (`normalize.ts`): for a span a detector matched in the text, where
 * it stands in the string it was normalised from, so findings point into, and redactions edit, the original.
 */
import type { NormalizedText } from './types'

/**
 * The original span `[start, end)` covering what a detector matched at `[start, end)` of the
 * normalised text: the start rounds down, the end rounds up.
 */
export function originalSpan(norm: NormalizedText, start: number, end: number): [number, number] {
  const s = norm.toOriginal(start)
  return [s, Math.max(s, norm.toOriginalEnd(end))]
}

/** Output unit i came from original unit i; only the last offset differs when trailing units were dropped. */
export class IdentityText implements NormalizedText {
  constructor(
    readonly text: string,
    private readonly rawLength: number,
    readonly ascii: boolean,
  ) {}
  toOriginal(offset: number): number {
    return offset >= this.text.length ? this.rawLength : Math.max(0, offset)
  }
  toOriginalEnd(offset: number): number {
    return Math.min(Math.max(0, offset), this.text.length)
  }
}

/**
 * Output units in runs: output unit j of run r (from `outAt[r]` up to the next run) came from original
 * unit `rawAt[r] + (j - outAt[r])` alone, up to the unit from `lastAt[r]`, which ends at `endAt[r]` (a
 * folded whitespace run, a decoded reference or a normalised character covers more than one unit); the
 * units after it in the run came from the same source (a character NFKC expands: U+FDFA is 18 units),
 * so an expansion costs the map one run, not one per unit.
 */
export class RunText implements NormalizedText {
  constructor(
    readonly text: string,
    private readonly outAt: readonly number[],
    private readonly rawAt: readonly number[],
    private readonly lastAt: readonly number[],
    private readonly endAt: readonly number[],
    private readonly rawLength: number,
    readonly ascii: boolean,
  ) {}
  toOriginal(offset: number): number {
    if (offset >= this.text.length) return this.rawLength
    const o = Math.max(0, offset)
    const r = this.runOf(o)
    return Math.min((this.rawAt[r] as number) + o - (this.outAt[r] as number), this.lastAt[r] as number)
  }
  toOriginalEnd(offset: number): number {
    if (offset <= 0) return this.toOriginal(0)
    const u = Math.min(offset, this.text.length) - 1
    const r = this.runOf(u)
    const start = (this.rawAt[r] as number) + u - (this.outAt[r] as number)
    return start >= (this.lastAt[r] as number) ? (this.endAt[r] as number) : start + 1
  }
  /** The run holding output unit `u` (the last run starting at or before it). */
  private runOf(u: number): number {
    let lo = 0
    let hi = this.outAt.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((this.outAt[mid] as number) <= u) lo = mid
      else hi = mid - 1
    }
    return lo
  }
}
