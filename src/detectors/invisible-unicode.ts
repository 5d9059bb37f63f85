/**
 * Hidden Unicode in the RAW text (mcp-protocol.md §6.1 "Detection signals"): tag characters that
 * smuggle ASCII past the reader, bidi controls that reorder what is displayed, zero-width characters
 * splitting words, and variation-selector runs that encode bytes. Legitimate uses are left alone:
 * emoji ZWJ sequences, flags, subdivision flags (🏴 + tags + cancel tag), ZWNJ in Persian and Indic
 * scripts, a BOM at offset 0, single LRM/RLM marks in right-to-left text.
 */
import type { Detector, Finding, ScanField } from '../inspect/types'
import { isAsciiAlnum, isOtherFormat } from '../inspect/char-classes'

/** A finding of this detector; `detail` carries the decoded hidden text (at most 256 chars) when there is one. */
export interface UnicodeFinding extends Finding {
  detail?: { hidden: string }
}

/** Decoded tag text of at least this many printable ASCII characters is also an injection signal. */
const SMUGGLED_MIN = 8
const DETAIL_MAX = 256

// Any candidate: soft hyphen, CGJ, Mongolian VS, zero-width, LRM/RLM, bidi, word joiner and friends,
// VS1–16, BOM, the other invisible format characters (Arabic and Syriac signs, interlinear annotation),
// and the high surrogates of tag characters and VS17–256 (U+DB40), Kaithi signs (U+D804) and Egyptian
// format controls (U+D80D).
const CANDIDATE =
  /[\u00AD\u034F\u0600-\u0605\u06DD\u070F\u0890\u0891\u08E2\u115F\u1160\u17B4\u17B5\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF9-\uFFFB\uD804\uD80D\uDB40]/

/** The invisible-Unicode detector (id `invisible-unicode`); its findings ask for `strip`. */
export const invisibleUnicodeDetector: Detector = {
  id: 'invisible-unicode',
  detect(field: ScanField): UnicodeFinding[] {
    const raw = field.raw
    if (!CANDIDATE.test(raw)) return []
    const out: UnicodeFinding[] = []
    for (const run of invisibleRuns(raw)) judge(raw, run, field.path, out)
    return out
  },
}

type Cls = 'tag' | 'bidi' | 'mark' | 'zw' | 'vs' | 'filler'

interface Run {
  cls: Cls
  start: number
  end: number
  /** Code points in the run. */
  count: number
}

function classify(cp: number): Cls | null {
  if (cp >= 0xe0000 && cp <= 0xe007f) return 'tag'
  if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return 'bidi'
  if (cp === 0x200e || cp === 0x200f) return 'mark'
  if ((cp >= 0x200b && cp <= 0x200d) || (cp >= 0x2060 && cp <= 0x2064) || cp === 0xfeff || cp === 0xad || cp === 0x180e || cp === 0x34f) return 'zw'
  // Other format characters that render as nothing (or a sign no reader takes for a letter): the Arabic
  // number and end-of-ayah signs, Syriac abbreviation mark, interlinear annotation controls, Kaithi number
  // signs, Egyptian hieroglyph format controls. Judged like zero-width characters: fine in their own script.
  if (isOtherFormat(cp)) return 'zw'
  if ((cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef)) return 'vs'
  // Hangul and Khmer fillers render as blank space: used as spaces they hide words from a scan that
  // drops them, and alone they fake empty names (normalisation reads them as spaces).
  if (cp === 0x115f || cp === 0x1160 || cp === 0x3164 || cp === 0xffa0 || cp === 0x17b4 || cp === 0x17b5) return 'filler'
  return null
}

/** Maximal runs of consecutive code points of one class. */
function invisibleRuns(raw: string): Run[] {
  const runs: Run[] = []
  let cur: Run | null = null
  for (let i = 0; i < raw.length; ) {
    const cp = raw.codePointAt(i) as number
    const w = cp > 0xffff ? 2 : 1
    const cls = classify(cp)
    if (cls !== null && cur !== null && cur.cls === cls && cur.end === i) {
      cur.end = i + w
      cur.count++
    } else if (cls !== null) {
      cur = { cls, start: i, end: i + w, count: 1 }
      runs.push(cur)
    }
    i += w
  }
  return runs
}

function judge(raw: string, run: Run, path: string, out: UnicodeFinding[]): void {
  const span: [number, number] = [run.start, run.end]
  switch (run.cls) {
    case 'tag': {
      if (isSubdivisionFlag(raw, run)) return
      const hidden = decodeTagCharacters(raw.slice(run.start, run.end))
      const finding: UnicodeFinding = { ruleId: 'unicode-tag-characters', kind: 'unicode', path, span, score: 0.8, action: 'strip' }
      if (hidden.length > 0) finding.detail = { hidden: hidden.slice(0, DETAIL_MAX) }
      out.push(finding)
      if (printableCount(hidden) >= SMUGGLED_MIN) out.push({ ruleId: 'unicode-tag-smuggled-text', kind: 'injection', path, span, score: 0.9 })
      return
    }
    case 'bidi':
      out.push({ ruleId: 'unicode-bidi-control', kind: 'unicode', path, span, score: 0.6, action: 'strip' })
      return
    case 'mark': {
      // LRM/RLM are ordinary in right-to-left text; suspicious in runs, beside other invisibles,
      // inside an ASCII word, or in text without a single right-to-left letter.
      const ctx = surroundings(raw, run)
      if (run.count >= 2 || ctx.clustered || ctx.inAsciiWord || !RTL.test(raw)) {
        out.push({ ruleId: 'unicode-bidi-control', kind: 'unicode', path, span, score: 0.4, action: 'strip' })
      }
      return
    }
    case 'zw':
      if (run.count >= 2 || zeroWidthSuspicious(raw, run)) {
        out.push({ ruleId: 'unicode-zero-width', kind: 'unicode', path, span, score: 0.5, action: 'strip' })
      }
      return
    case 'filler':
      out.push({ ruleId: 'unicode-invisible-filler', kind: 'unicode', path, span, score: 0.5, action: 'strip' })
      return
    case 'vs': {
      // One selector picks a glyph (text vs emoji style, CJK variants); a run of them encodes bytes.
      if (run.count < 2) return
      const finding: UnicodeFinding = { ruleId: 'unicode-variation-selectors', kind: 'unicode', path, span, score: 0.7, action: 'strip' }
      const hidden = decodeVariationSelectors(raw.slice(run.start, run.end))
      if (hidden.length > 0) finding.detail = { hidden: hidden.slice(0, DETAIL_MAX) }
      out.push(finding)
      if (printableCount(hidden) >= SMUGGLED_MIN) {
        out.push({ ruleId: 'unicode-variation-selector-smuggled-text', kind: 'injection', path, span, score: 0.9 })
      }
      return
    }
  }
}

const RTL = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFC]|\uD802[\uDC00-\uDFFF]|\uD803[\uDC00-\uDE7F]|\uD83A[\uDC00-\uDDFF]/

/**
 * A single zero-width character is fine between non-ASCII letters (ZWNJ in Persian, ZWSP in Thai) or
 * emoji (ZWJ sequences); not inside an ASCII word or beside other invisibles. A BOM only at offset 0.
 */
function zeroWidthSuspicious(raw: string, run: Run): boolean {
  const ctx = surroundings(raw, run)
  if (ctx.clustered) return true
  const u = raw.charCodeAt(run.start)
  if (u === 0xfeff) return run.start !== 0
  // A soft hyphen inside a word is its legitimate use (a hyphenation point).
  return u !== 0xad && ctx.inAsciiWord
}

/**
 * What sits around a run once neighbouring invisibles (any class but variation selectors, which
 * legitimately precede a ZWJ in emoji sequences) are skipped.
 */
function surroundings(raw: string, run: Run): { clustered: boolean; inAsciiWord: boolean } {
  let i = run.start
  let clustered = false
  for (;;) {
    const cp = cpBefore(raw, i)
    if (cp === undefined || !isClusterInvisible(cp)) break
    clustered = true
    i -= cp > 0xffff ? 2 : 1
  }
  const before = raw.charCodeAt(i - 1)
  let j = run.end
  for (;;) {
    const cp = raw.codePointAt(j)
    if (cp === undefined || !isClusterInvisible(cp)) break
    clustered = true
    j += cp > 0xffff ? 2 : 1
  }
  return { clustered, inAsciiWord: isAsciiAlnum(before) && isAsciiAlnum(raw.charCodeAt(j)) }
}

function isClusterInvisible(cp: number): boolean {
  const cls = classify(cp)
  return cls !== null && cls !== 'vs'
}

function cpBefore(raw: string, i: number): number | undefined {
  if (i <= 0) return undefined
  const lo = raw.charCodeAt(i - 1)
  if (lo >= 0xdc00 && lo < 0xe000 && i >= 2) {
    const hi = raw.charCodeAt(i - 2)
    if (hi >= 0xd800 && hi < 0xdc00) return ((hi - 0xd800) << 10) + (lo - 0xdc00) + 0x10000
  }
  return lo
}

/**
 * 🏴 followed by 2–7 tag letters/digits and the cancel tag U+E007F: an emoji tag sequence such as the
 * flags of Scotland, England and Wales (Unicode TS #51 §2.3), the one legitimate use of tag characters.
 */
function isSubdivisionFlag(raw: string, run: Run): boolean {
  if (raw.codePointAt(run.start - 2) !== 0x1f3f4) return false
  const tags = run.count
  if (tags < 3 || tags > 8 || raw.codePointAt(run.end - 2) !== 0xe007f) return false
  for (let i = run.start; i < run.end - 2; i += 2) {
    const cp = raw.codePointAt(i) as number
    if (!((cp >= 0xe0030 && cp <= 0xe0039) || (cp >= 0xe0061 && cp <= 0xe007a))) return false
  }
  return true
}

/**
 * The ASCII hidden in Unicode tag characters: U+E0020–U+E007E map to U+0020–U+007E; the language
 * tag U+E0001 and cancel tag U+E007F are dropped; other characters are ignored.
 * @example decodeTagCharacters('hi\u{E0069}\u{E0067}') // 'ig'
 */
export function decodeTagCharacters(raw: string): string {
  let out = ''
  for (const ch of raw) {
    const cp = ch.codePointAt(0) as number
    if (cp >= 0xe0020 && cp <= 0xe007e) out += String.fromCharCode(cp - 0xe0000)
  }
  return out
}

/**
 * Bytes hidden in variation selectors (VS1–16 → 0–15, VS17–256 → 16–255), read as UTF-8; `''`
 * when they do not form valid UTF-8.
 */
export function decodeVariationSelectors(raw: string): string {
  const bytes: number[] = []
  for (const ch of raw) {
    const cp = ch.codePointAt(0) as number
    if (cp >= 0xfe00 && cp <= 0xfe0f) bytes.push(cp - 0xfe00)
    else if (cp >= 0xe0100 && cp <= 0xe01ef) bytes.push(cp - 0xe0100 + 16)
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(new Uint8Array(bytes))
  } catch {
    return ''
  }
}

function printableCount(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i)
    if (u >= 0x20 && u < 0x7f) n++
  }
  return n
}
