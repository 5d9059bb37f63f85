/**
 * Detection text: one pass over a string that undoes the tricks used to hide words from regexes and
 * keeps, for every output unit, where in the original it came from (DESIGN.md "Security model").
 *
 * In order, per source character: an HTML character reference (`&#105;`, `&#x69;`, `&amp;`, `&nbsp`),
 * a percent-encoded UTF-8 sequence (`%69`, `%D1%96`) or a JSON/JavaScript escape (`\u0069`, `\x69`,
 * `\u{69}`) is decoded once (never recursively); invisible characters (Unicode
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
 * The original span `[start, end)` covering what a detector matched at `[start, end)` of the
 * normalised text: the start rounds down, the end rounds up.
 */
export function originalSpan(norm: NormalizedText, start: number, end: number): [number, number] {
  const s = norm.toOriginal(start)
  return [s, Math.max(s, norm.toOriginalEnd(end))]
}

/** Output unit i came from original unit i; only the last offset differs when trailing units were dropped. */
class IdentityText implements MappedText {
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
class RunText implements MappedText {
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

const MARKS = /\p{M}+/uy

/** End of the run of combining marks starting at `i` (or `i` when there is none). */
function marksEnd(raw: string, i: number): number {
  let j = i
  for (;;) {
    const u = raw.charCodeAt(j)
    if (u >= 0x300 && u < 0x370) j++
    else if (u === 0xdb40) {
      // Plane 14: VS17–256 (U+E0100–E01EF) are marks, tag characters are not.
      const lo = raw.charCodeAt(j + 1)
      if (lo >= 0xdd00 && lo <= 0xddef) j += 2
      else return j
    } else if (!mayBeMark(u)) return j
    else {
      MARKS.lastIndex = j
      if (!MARKS.test(raw)) return j
      j = MARKS.lastIndex
    }
  }
}

/**
 * Coarse pre-filter: the blocks holding combining marks, and the high surrogates of the planes'
 * blocks that hold astral marks. Latin, Greek, Cyrillic letters, CJK, Hangul, emoji and mathematical
 * letters skip the regex.
 */
function mayBeMark(u: number): boolean {
  if (!(u >= 0x300)) return false
  if (u < 0x370) return true
  if (u < 0x483) return false
  if (u < 0x1100) return u < 0x48a || u >= 0x591
  if (u < 0x3100) return (u >= 0x135d && u < 0x1360) || (u >= 0x1700 && u < 0x1e00) || (u >= 0x20d0 && u < 0x2100) || (u >= 0x2cef && u < 0x2e00) || u >= 0x302a
  if (u >= 0xd800 && u < 0xdc00) return u <= 0xd83a ? u !== 0xd835 : u === 0xdb40 // not math letters, emoji, CJK ext.
  return (u >= 0xa66f && u < 0xac00) || u === 0xfb1e || (u >= 0xfe00 && u < 0xfe30)
}

// One bit per BMP unit: emitted as is (its own NFKC form, not ignorable, space or control). Blocks of
// 256 are filled on first use; the big CJK and Hangul ranges are known stable and never filled.
const STABLE_BITS = new Uint8Array(8192)
const STABLE_DONE = new Uint8Array(256)

function isStableBmp(u: number): boolean {
  if ((u >= 0x4e00 && u <= 0x9fff) || (u >= 0xac00 && u <= 0xd7a3) || (u >= 0x3400 && u <= 0x4dbf)) return true
  const block = u >> 8
  if (STABLE_DONE[block] === 0) fillStableBlock(block)
  return ((STABLE_BITS[u >> 3] as number) & (1 << (u & 7))) !== 0
}

function fillStableBlock(block: number): void {
  STABLE_DONE[block] = 1
  for (let u = block << 8; u < (block + 1) << 8; u++) {
    if ((u >= 0xd800 && u < 0xe000) || isIgnorable(u) || isSpace(u) || isControl(u)) continue
    const ch = String.fromCharCode(u)
    if (ch.normalize('NFKC') === ch) STABLE_BITS[u >> 3] = (STABLE_BITS[u >> 3] as number) | (1 << (u & 7))
  }
}

const NFKC_CACHE = new Map<number, string>()

function nfkc(cp: number): string {
  let hit = NFKC_CACHE.get(cp)
  if (hit === undefined) {
    hit = String.fromCodePoint(cp).normalize('NFKC')
    if (NFKC_CACHE.size >= 8192) NFKC_CACHE.clear()
    NFKC_CACHE.set(cp, hit)
  }
  return hit
}

const SEGMENT_CACHE = new Map<string, string>()

function nfkcSegment(segment: string): string {
  let hit = SEGMENT_CACHE.get(segment)
  if (hit === undefined) {
    hit = segment.normalize('NFKC')
    if (SEGMENT_CACHE.size >= 4096) SEGMENT_CACHE.clear()
    if (segment.length <= 32) SEGMENT_CACHE.set(segment, hit)
  }
  return hit
}

/**
 * JS `\s` plus NEL, the Braille blank (rendered as an empty cell) and the Hangul fillers (rendered as
 * blank space; used between words they would otherwise glue the words together). U+FEFF is invisible.
 */
function isSpace(cp: number): boolean {
  if (cp < 0x80) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d)
  return (
    cp === 0x85 || cp === 0xa0 || cp === 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 ||
    cp === 0x2029 || cp === 0x202f || cp === 0x205f || cp === 0x3000 || cp === 0x2800 ||
    cp === 0x115f || cp === 0x1160 || cp === 0x3164 || cp === 0xffa0
  )
}

function isControl(u: number): boolean {
  return u < 0x20 || (u >= 0x7f && u < 0xa0)
}

/**
 * Unicode Default_Ignorable_Code_Point (Unicode 15.1: U+00AD, U+034F, U+061C, U+115F–1160, U+17B4–17B5,
 * U+180B–180F, U+200B–200F, U+202A–202E, U+2060–206F, U+3164, U+FE00–FE0F, U+FEFF, U+FFA0,
 * U+FFF0–FFF8, U+1BCA0–1BCA3, U+1D173–1D17A, U+E0000–E0FFF), the other format characters
 * (`isOtherFormat`) plus C1 controls. Hard-coded rather than `/\p{DI}/u` per character, which is
 * several times slower; a test checks the two agree.
 */
export function isIgnorable(cp: number): boolean {
  if (cp < 0x00ad) return cp >= 0x80 && cp < 0xa0 && cp !== 0x85
  if (isOtherFormat(cp)) return true
  if (cp < 0x2000) {
    return (
      cp === 0xad || cp === 0x34f || cp === 0x61c || cp === 0x115f || cp === 0x1160 || cp === 0x17b4 ||
      cp === 0x17b5 || (cp >= 0x180b && cp <= 0x180f)
    )
  }
  if (cp < 0x3000) return (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f)
  if (cp < 0x10000) return cp === 0x3164 || (cp >= 0xfe00 && cp <= 0xfe0f) || cp === 0xfeff || cp === 0xffa0 || (cp >= 0xfff0 && cp <= 0xfff8)
  return (cp >= 0x1bca0 && cp <= 0x1bca3) || (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0000 && cp <= 0xe0fff)
}

/**
 * Format characters (General Category Cf) outside Default_Ignorable: U+0600–0605, U+06DD, U+070F,
 * U+0890–0891, U+08E2 (Arabic and Syriac signs), U+FFF9–FFFB (interlinear annotation), U+110BD, U+110CD
 * (Kaithi number signs), U+13430–1343F (Egyptian hieroglyph format controls). They render as nothing or
 * a mark no reader takes for a letter, so they split words as well as a zero-width space does.
 */
export function isOtherFormat(cp: number): boolean {
  return (
    (cp >= 0x600 && cp <= 0x605) || cp === 0x6dd || cp === 0x70f || cp === 0x890 || cp === 0x891 || cp === 0x8e2 ||
    (cp >= 0xfff9 && cp <= 0xfffb) || cp === 0x110bd || cp === 0x110cd || (cp >= 0x13430 && cp <= 0x1343f)
  )
}

const ENTITY = /&(?:#0*([0-9]{1,7});?|#[xX]0*([0-9a-fA-F]{1,6});?|([A-Za-z][A-Za-z0-9]{1,31});)/y
// HTML's legacy references that browsers decode without the `;`, even before more letters (`&nbspall`).
const LEGACY_ENTITY = /&(nbsp|shy|amp|lt|gt|quot)/y

// Common named references (HTML is case-sensitive). Unknown names stay as written.
const NAMED = new Map<string, number>(
  Object.entries({
    amp: 0x26, lt: 0x3c, gt: 0x3e, quot: 0x22, apos: 0x27, nbsp: 0xa0, shy: 0xad, zwj: 0x200d, zwnj: 0x200c,
    lrm: 0x200e, rlm: 0x200f, ensp: 0x2002, emsp: 0x2003, thinsp: 0x2009, NewLine: 0x0a, Tab: 0x09,
    colon: 0x3a, semi: 0x3b, comma: 0x2c, period: 0x2e, excl: 0x21, quest: 0x3f, lpar: 0x28, rpar: 0x29,
    lsqb: 0x5b, rsqb: 0x5d, lcub: 0x7b, rcub: 0x7d, sol: 0x2f, bsol: 0x5c, num: 0x23, dollar: 0x24,
    percnt: 0x25, ast: 0x2a, plus: 0x2b, equals: 0x3d, lowbar: 0x5f, grave: 0x60, verbar: 0x7c, Hat: 0x5e,
    commat: 0x40, hellip: 0x2026, mdash: 0x2014, ndash: 0x2013, lsquo: 0x2018, rsquo: 0x2019, ldquo: 0x201c,
    rdquo: 0x201d, laquo: 0xab, raquo: 0xbb, middot: 0xb7, bull: 0x2022, copy: 0xa9, reg: 0xae, trade: 0x2122,
  }),
)

function decodeEntity(raw: string, i: number): { cp: number; end: number } | null {
  ENTITY.lastIndex = i
  const m = ENTITY.exec(raw)
  if (!m || (m[3] !== undefined && !NAMED.has(m[3]))) {
    LEGACY_ENTITY.lastIndex = i
    const legacy = LEGACY_ENTITY.exec(raw)
    return legacy ? { cp: NAMED.get(legacy[1] as string) as number, end: LEGACY_ENTITY.lastIndex } : null
  }
  const end = ENTITY.lastIndex
  const cp = m[1] !== undefined ? parseInt(m[1], 10) : m[2] !== undefined ? parseInt(m[2], 16) : NAMED.get(m[3] ?? '')
  if (cp === undefined || cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return null
  return { cp, end }
}

/** An ASCII letter or digit (a code point or a UTF-16 unit). */
export function isAsciiAlnum(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)
}

/** One letter of Latin-1 Supplement or Latin Extended-A (`é`, `ü`, `ñ`, `ł`): what European rules spell with. */
function isWesternLetter(s: string): boolean {
  const u = s.charCodeAt(0)
  return s.length === 1 && u >= 0xc0 && u <= 0x17f && u !== 0xd7 && u !== 0xf7
}

const ESCAPE = /\\(?:u([0-9a-fA-F]{4})|u\{0*([0-9a-fA-F]{1,6})\}|x([0-9a-fA-F]{2}))/y

/** A `\uXXXX` (a surrogate pair as two), `\u{…}` or `\xXX` escape of one code point (not a lone surrogate). */
function decodeEscape(raw: string, i: number): { cp: number; end: number } | null {
  ESCAPE.lastIndex = i
  const m = ESCAPE.exec(raw)
  if (!m) return null
  let end = ESCAPE.lastIndex
  let cp = parseInt((m[1] ?? m[2] ?? m[3]) as string, 16)
  if (m[1] !== undefined && cp >= 0xd800 && cp < 0xdc00) {
    ESCAPE.lastIndex = end
    const lo = ESCAPE.exec(raw)
    const low = lo?.[1] !== undefined ? parseInt(lo[1], 16) : -1
    if (low < 0xdc00 || low >= 0xe000) return null
    cp = ((cp - 0xd800) << 10) + (low - 0xdc00) + 0x10000
    end = ESCAPE.lastIndex
  }
  if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return null
  return { cp, end }
}

function hexAt(raw: string, i: number): number {
  const c = raw.charCodeAt(i)
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1
}

function byteAt(raw: string, i: number): number {
  if (raw.charCodeAt(i) !== 0x25) return -1
  const hi = hexAt(raw, i + 1)
  const lo = hexAt(raw, i + 2)
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo
}

/** A `%XX` sequence forming one well-formed UTF-8 character (no overlongs, surrogates or > U+10FFFF). */
function decodePercent(raw: string, i: number): { cp: number; end: number } | null {
  const b0 = byteAt(raw, i)
  if (b0 < 0) return null
  if (b0 < 0x80) return { cp: b0, end: i + 3 }
  const more = b0 >= 0xc2 && b0 <= 0xdf ? 1 : b0 >= 0xe0 && b0 <= 0xef ? 2 : b0 >= 0xf0 && b0 <= 0xf4 ? 3 : 0
  if (more === 0) return null
  let cp = b0 & (0x3f >> more)
  for (let k = 1; k <= more; k++) {
    const b = byteAt(raw, i + 3 * k)
    if (b < 0 || (b & 0xc0) !== 0x80) return null
    cp = (cp << 6) | (b & 0x3f)
  }
  const min = more === 1 ? 0x80 : more === 2 ? 0x800 : 0x10000
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return null
  return { cp, end: i + 3 * (more + 1) }
}
