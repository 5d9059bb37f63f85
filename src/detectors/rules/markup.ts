/**
 * The rule engine's view of formatting marks: Markdown emphasis and code marks and bare HTML
 * formatting tags wrap or split words for a regex but not for a model. `**Ignore** all previous
 * instructions`, `<b>Ignore</b> all …`, `` Ignore all `previous` instructions `` and `Ig**nore` passed
 * every rule, whose word gaps allow white space and punctuation, not markup.
 *
 * Applied to the normalised text the rules read (not to the classifier's, which was trained on text
 * with its markup): a run of `*`, `_`, `~` or backticks goes where it opens or closes a word (a letter
 * or digit on one side only), or inside a word when doubled (`Ig**nore`, `Ig~~no~~re`; `snake_case`
 * and `BUNDLE_X__Y` keep theirs, which secret keywords spell); a tag without attributes goes when it
 * formats inline (`<b>`, `</em>`, `<span>`) and reads as a space when it breaks a line or block
 * (`<br>`, `<p>`). Tags with attributes and comments stay: what they carry is text a model may read.
 */
import { isAsciiAlnum } from '../../inspect/char-classes'

/** A view of a text with its formatting marks removed, and the way back to the text's offsets. */
export interface PlainView {
  readonly text: string
  /** Maps a span of `text` to the span of the source text it was read from. */
  span(start: number, end: number): [number, number]
}

const MARK_CHARS = ['*', '_', '`', '<', '~'] as const
/** A tag without attributes: `<b>`, `</span>`, `<br/>`. */
const TAG = /<\/?([A-Za-z][A-Za-z0-9]{0,9})\s*\/?>/y

const INLINE_TAGS = new Set(['a', 'abbr', 'b', 'big', 'cite', 'code', 'del', 'dfn', 'em', 'font', 'i', 'ins', 'kbd', 'mark', 'q', 's', 'samp', 'small', 'span', 'strike', 'strong', 'sub', 'sup', 'tt', 'u', 'var', 'wbr'])
const BREAK_TAGS = new Set(['br', 'p', 'div', 'li', 'ul', 'ol', 'tr', 'td', 'th', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre'])

/**
 * `text` without its formatting marks, or null when it has none to remove (the common case: the
 * caller reads `text` itself and maps nothing).
 * @example plainView('**Ignore** all')?.text // 'Ignore all'
 */
export function plainView(text: string): PlainView | null {
  const marks = markPositions(text)
  if (marks.length === 0) return null
  // Kept stretches of the source: output offset, source offset; a break tag adds a one-space stretch.
  const outAt: number[] = []
  const srcAt: number[] = []
  const pieces: string[] = []
  let out = 0
  let copied = 0
  const keep = (from: number, to: number, piece = text.slice(from, to)): void => {
    if (piece.length === 0) return
    outAt.push(out)
    srcAt.push(from)
    pieces.push(piece)
    out += piece.length
  }
  let scanned = 0
  for (const start of marks) {
    if (start < scanned) continue // inside a run or tag already looked at
    const c = text.charCodeAt(start)
    let end = start + 1
    let space = false
    if (c === 0x3c) {
      TAG.lastIndex = start
      const name = TAG.exec(text)?.[1]?.toLowerCase()
      if (name === undefined || !(INLINE_TAGS.has(name) || BREAK_TAGS.has(name))) continue
      end = TAG.lastIndex
      const spaceBefore = start === 0 || text.charCodeAt(start - 1) === 0x20
      const spaceAfter = end === text.length || text.charCodeAt(end) === 0x20
      if (spaceBefore && spaceAfter && end < text.length) end++ // `a <b> b`: one space stays, as normalised
      space = BREAK_TAGS.has(name) && !spaceBefore && !spaceAfter
    } else {
      while (text.charCodeAt(end) === c) end++
      scanned = end
      const wordBefore = isWordUnit(text.charCodeAt(start - 1))
      const wordAfter = isWordUnit(text.charCodeAt(end))
      const inWordRun = wordBefore && wordAfter && end - start >= 2 && c !== 0x5f
      if (wordBefore === wordAfter && !inWordRun) continue
    }
    keep(copied, start)
    if (space) keep(start, start + 1, ' ')
    copied = scanned = end
  }
  if (copied === 0) return null
  keep(copied, text.length)
  const sourceOf = (o: number): number => {
    let lo = 0
    let hi = outAt.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((outAt[mid] as number) <= o) lo = mid
      else hi = mid - 1
    }
    return (srcAt[lo] ?? 0) + o - (outAt[lo] ?? 0)
  }
  return {
    text: pieces.join(''),
    span: (start, end) => [sourceOf(start), end > start ? sourceOf(end - 1) + 1 : sourceOf(start)],
  }
}

/** Offsets of every `*`, `_`, backtick, `<` and `~`, ascending: `indexOf` jumps, far cheaper than a regex scan. */
function markPositions(text: string): number[] {
  const at: number[] = []
  for (const ch of MARK_CHARS) for (let k = text.indexOf(ch); k >= 0; k = text.indexOf(ch, k + 1)) at.push(k)
  return at.sort((a, b) => a - b)
}

/** A letter or digit for flanking: ASCII alphanumerics and letters from Latin-1's up (not spaces or punctuation there). */
function isWordUnit(u: number): boolean {
  if (u < 0x80) return isAsciiAlnum(u)
  return u >= 0xc0 && u !== 0xd7 && u !== 0xf7 && !(u >= 0x2000 && u <= 0x206f) && u !== 0x3000
}
