/**
 * The text a rule reads, as variants: the normalised view (accents folded, formatting marks removed) or
 * the raw text, cut into overlapping windows past the field size cap, each with a map from its spans
 * back to offsets in the original string.
 */
import { originalSpan } from '../../inspect/offset-map'
import type { NormalizedText } from '../../inspect/types'
import type { KeywordHits } from './keywords'
import { foldAccents } from './fold'
import { plainView, type PlainView } from './markup'

/** Text prepared for one scan: the (possibly capped) text and a map of spans to original offsets. */
export interface Variant {
  readonly text: string
  readonly span: (start: number, end: number) => [number, number]
  /** The whole text this one is a window of, and where the window starts in it (`extend` reads past the window). */
  readonly whole: string
  readonly offset: number
  /** Keyword presence, computed on first use. */
  hits?: KeywordHits
  /** Lower-cased text, only for keywords outside the index (tenant rules). */
  lower?: string
}

/** Maps a span of a variant's text to offsets in the original string. */
export type SpanMap = (start: number, end: number) => [number, number]

/** The map of a text that is the original. */
export const identity: SpanMap = (s, e) => [s, e]

/** Overlap of consecutive windows of a long field: a match shorter than this lies whole in one of them. */
const WINDOW_OVERLAP = 16_384

/**
 * The text as the variants a rule reads: itself, or, past `max` units, windows of `max` units that
 * overlap by `WINDOW_OVERLAP` (a quarter of `max` at most). Every unit of a long field is read, so a
 * secret a megabyte in is found as one at the start is; no regex runs over more than `max` units at
 * once, and the message's work cap bounds the total (past it the message is blocked).
 */
export function windows(text: string, map: SpanMap, max: number): Variant[] {
  if (text.length <= max) return [{ text, span: map, whole: text, offset: 0 }]
  const step = max - Math.min(WINDOW_OVERLAP, Math.floor(max / 4))
  const out: Variant[] = []
  for (let start = 0; ; start += step) {
    const end = Math.min(text.length, start + max)
    out.push({ text: text.slice(start, end), span: start === 0 ? map : (s, e) => map(s + start, e + start), whole: text, offset: start })
    if (end === text.length) return out
  }
}

/** From the normalised text to the original. */
export function normalizedMap(n: NormalizedText): SpanMap {
  return (s, e) => originalSpan(n, s, e)
}

/** Through the view without formatting marks to the normalised text, then to the original. */
export function plainMap(plain: PlainView, n: NormalizedText): SpanMap {
  return (s, e) => {
    const [a, b] = plain.span(s, e)
    return originalSpan(n, a, b)
  }
}

/**
 * The text a rule on the normalised view reads: accents folded (one unit for one, so the normalised map
 * still holds; skipped for ASCII), formatting marks removed (`plain`, with its own map, when there were any).
 */
export function ruleView(n: NormalizedText): { text: string; plain: PlainView | null } {
  const folded = n.ascii ? n.text : foldAccents(n.text)
  const plain = plainView(folded)
  return { text: plain ? plain.text : folded, plain }
}
