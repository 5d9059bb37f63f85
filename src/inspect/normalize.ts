/**
 * Detection text: one pass over a string that undoes the tricks used to hide words from regexes and
 * keeps, for every output unit, where in the original it came from (DESIGN.md "Security model").
 *
 * In order, per source character: an HTML character reference (`&#105;`, `&#x69;`, `&amp;`, `&nbsp`),
 * a percent-encoded UTF-8 sequence (`%69`, `%D1%96`, and through up to three layers `%2569`, a `%` encoded
 * again) or a JSON/JavaScript escape (`\u0069`, `\x69`, `\u{69}`) is decoded (references and escapes
 * once, never recursively); invisible characters (Unicode
 * Default_Ignorable_Code_Point: zero-width, bidi controls, tag characters, variation selectors, Hangul
 * fillers …, and the other format characters) and C0/C1 controls are dropped; the character with any
 * combining marks after it is NFKC-normalised as one segment, except that an ASCII letter whose marks
 * make no Western European letter stays that letter; whitespace runs become one space. A last
 * pass maps Cyrillic/Greek/IPA look-alikes to ASCII inside words that are mixed with Latin letters or
 * made only of look-alikes, so Russian or Greek prose stays readable for non-English rules. Case is
 * kept: rules use `/i`.
 */
import type { NormalizedText } from './types'
import { mapConfusableWords } from '../detectors/confusables'
import { isAsciiAlnum, isControl, isIgnorable, isSpace, isWesternLetter, marksEnd, mayBeMark } from './char-classes'
import { decodeEntity, decodeEscape, decodePercent } from './escapes'
import { isStableBmp, nfkc, nfkcSegment } from './nfkc'
import { IdentityText, RunText } from './offset-map'

/** Kept as a name for callers; every `NormalizedText` now maps span ends too. */
export type MappedText = NormalizedText

/**
 * Normalises `raw` for detection. ASCII text with nothing to undo takes a fast path (no map).
 * With `maxUnits`, throws a `RangeError` as soon as the text would grow longer than that (NFKC expands
 * one character up to 18 units), so a caller can fail closed before the text is built.
 * @example normalize('ig\u200Bnore').text // 'ignore'
 */
export function normalize(raw: string, maxUnits = Infinity): MappedText {
  const first = nextSpecial(raw, 0, false)
  if (first === raw.length) return new IdentityText(raw, raw.length, true)
  return new Builder(raw, first, maxUnits).run()
}

// Anything but printable ASCII (less `%`, `&` and `\`) and single spaces needs a look.
const SPECIAL = /[^!-$'-[\]-~ ]| {2}/g

/**
 * The first offset at or after `i` where a character needs more than a verbatim copy. The character
 * before a possible combining mark is included (it composes with it); `prevSpace` says whether the
 * output so far ends in a space, which makes a leading space special.
 */
function nextSpecial(raw: string, i: number, prevSpace: boolean): number {
  if (prevSpace && raw.charCodeAt(i) === 0x20) return i
  SPECIAL.lastIndex = i
  const m = SPECIAL.exec(raw)
  if (m === null) return raw.length
  const k = m.index
  if (raw.charCodeAt(k) === 0x20) return k + 1
  return k > i && mayBeMark(raw.charCodeAt(k)) ? k - 1 : k
}

/**
 * Accumulates output with its source ranges: the text as pieces (slices of the original and units
 * emitted one by one), the map as runs (see `RunText`), so copying a verbatim stretch costs one slice
 * and one run, not a write per unit. While output unit j is exactly original unit j the map is the
 * identity (`mapped` false) and the text is the original's prefix (`changed` false).
 */
class Builder {
  private readonly pieces: string[] = []
  /** Units emitted since the last piece. */
  private pending: number[] = []
  private readonly outAt: number[] = []
  private readonly rawAt: number[] = []
  private readonly lastAt: number[] = []
  private readonly endAt: number[] = []
  private len: number
  private mapped = false
  private changed = false
  private prevSpace = false
  private nonAscii = false

  constructor(
    private readonly raw: string,
    verbatim: number,
    private readonly maxUnits: number,
  ) {
    this.len = 0
    if (verbatim > 0) this.verbatim(0, verbatim)
    this.prevSpace = verbatim > 0 && raw.charCodeAt(verbatim - 1) === 0x20
  }

  run(): MappedText {
    const raw = this.raw
    const n = raw.length
    let i = this.len
    while (i < n) {
      const c = raw.charCodeAt(i)
      if (c >= 0x20 && c < 0x7f && c !== 0x25 && c !== 0x26 && c !== 0x5c && !(raw.charCodeAt(i + 1) >= 0x300)) {
        const next = nextSpecial(raw, i, this.prevSpace)
        if (next > i) {
          this.verbatim(i, next)
          i = next
          continue
        }
      }
      i = this.special(i)
    }
    return this.finish()
  }

  /** Handles the character (or reference, or escape, or mark segment) at `i`; returns where the next starts. */
  private special(i: number): number {
    const raw = this.raw
    const c = raw.charCodeAt(i)
    const decoded = c === 0x26 ? decodeEntity(raw, i) : c === 0x25 ? decodePercent(raw, i) : c === 0x5c ? decodeEscape(raw, i) : null
    if (decoded) {
      this.codePoint(decoded.cp, i, decoded.end)
      return decoded.end
    }
    let cp = c
    let end = i + 1
    if (c >= 0xd800 && c < 0xdc00 && end < raw.length) {
      const d = raw.charCodeAt(end)
      if (d >= 0xdc00 && d < 0xe000) {
        cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000
        end++
      }
    }
    const segEnd = marksEnd(raw, end)
    if (segEnd > end) {
      this.nonAscii = true
      const composed = nfkcSegment(raw.slice(i, segEnd))
      // Marks on an ASCII letter or digit that make no Western European letter (dots below, strike-through,
      // underline, stacked accents) style the letter rather than spell another one: the letter alone.
      this.units(isAsciiAlnum(cp) && !isWesternLetter(composed) ? String.fromCharCode(cp) : composed, i, segEnd)
      return segEnd
    }
    if (cp >= 0x80 && cp <= 0xffff && isStableBmp(cp)) {
      // Most non-ASCII letters (Cyrillic, Greek, CJK, Hangul …) are their own NFKC form: copy the run.
      let j = end
      for (let u = raw.charCodeAt(j); u >= 0x80 && u < 0xd800 && isStableBmp(u); u = raw.charCodeAt(j)) j++
      if (j > end && marksEnd(raw, j) > j) j--
      this.nonAscii = true
      this.verbatim(i, j)
      return j
    }
    if (cp > 0xffff && !isIgnorable(cp) && nfkc(cp).length === 2 && nfkc(cp) === raw.slice(i, end)) {
      // An emoji or other astral character that NFKC keeps: unit for unit, so the map may stay identity.
      this.nonAscii = true
      this.verbatim(i, end)
      return end
    }
    this.codePoint(cp, i, end)
    return end
  }

  /** Copies original units [a, b) unchanged (printable ASCII and single spaces). */
  private verbatim(a: number, b: number): void {
    this.prevSpace = this.raw.charCodeAt(b - 1) === 0x20
    if (a !== this.len) this.changed = this.mapped = true
    this.flush()
    this.pieces.push(this.raw.slice(a, b))
    this.addRun(a, b - a, b)
  }

  /** Records `count` output units from original units starting at `s`, the last one ending at `e`. */
  private addRun(s: number, count: number, e: number): void {
    const r = this.outAt.length - 1
    const next = r >= 0 ? (this.rawAt[r] as number) + this.len - (this.outAt[r] as number) : -1
    if (r >= 0 && next === s && this.endAt[r] === s && this.lastAt[r] === s - 1) {
      // Continues the last run when its last unit is plain and the new units follow it in the original.
      this.lastAt[r] = s + count - 1
      this.endAt[r] = e
    } else if (r >= 0 && count === 1 && this.lastAt[r] === s && this.endAt[r] === e) {
      // One more unit from the source of the run's last unit (an expansion).
    } else {
      this.outAt.push(this.len)
      this.rawAt.push(s)
      this.lastAt.push(s + count - 1)
      this.endAt.push(e)
    }
    this.len += count
    if (this.len > this.maxUnits) throw new RangeError(`normalised text longer than ${this.maxUnits} units`)
  }

  /** Moves emitted units into `pieces`. */
  private flush(): void {
    const p = this.pending
    if (p.length === 0) return
    for (let k = 0; k < p.length; k += 4096) this.pieces.push(String.fromCharCode(...p.slice(k, k + 4096)))
    this.pending = []
  }

  private codePoint(cp: number, s: number, e: number): void {
    if (cp < 0x80) {
      if (isSpace(cp)) this.space(s, e)
      else if (cp >= 0x20 && cp !== 0x7f) {
        this.prevSpace = false
        this.emit(cp, s, e)
      }
      return
    }
    if (isSpace(cp)) {
      this.space(s, e)
      return
    }
    if (isIgnorable(cp)) return
    this.nonAscii = true
    this.units(nfkc(cp), s, e)
  }

  /** Emits a normalised string whose every unit comes from the source range [s, e). */
  private units(str: string, s: number, e: number): void {
    for (let k = 0; k < str.length; k++) {
      const u = str.charCodeAt(k)
      const cp = str.codePointAt(k) as number
      if (cp > 0xffff) {
        if (!isIgnorable(cp)) {
          this.prevSpace = false
          this.emit(u, s, e)
          this.emit(str.charCodeAt(k + 1), s, e)
        }
        k++
      } else if (isSpace(u)) this.space(s, e)
      else if (!isIgnorable(u) && !isControl(u)) {
        this.prevSpace = false
        this.emit(u, s, e)
      }
    }
  }

  private space(s: number, e: number): void {
    if (!this.prevSpace) {
      this.prevSpace = true
      this.emit(0x20, s, e)
      return
    }
    // A further whitespace unit widens the space already emitted.
    this.changed = this.mapped = true
    this.endAt[this.endAt.length - 1] = e
  }

  private emit(unit: number, s: number, e: number): void {
    if (s !== this.len || e !== s + 1) this.changed = this.mapped = true
    else if (unit !== this.raw.charCodeAt(s)) this.changed = true
    this.pending.push(unit)
    if (this.pending.length >= 4096) this.flush()
    this.addRun(s, 1, e)
  }

  private finish(): MappedText {
    this.flush()
    let text = this.pieces.join('')
    // A lone surrogate in changed text becomes U+FFFD, one unit for one: offsets hold.
    if (this.changed) text = (text as unknown as { toWellFormed(): string }).toWellFormed()
    if (this.nonAscii) text = mapConfusableWords(text)
    // Every path that emits a unit outside ASCII sets `nonAscii` (controls and DEL are dropped).
    if (!this.mapped) return new IdentityText(text, this.raw.length, !this.nonAscii)
    return new RunText(text, this.outAt, this.rawAt, this.lastAt, this.endAt, this.raw.length, !this.nonAscii)
  }
}
