/**
 * Bounded decoders for encoded-payload rules: base64 / base64url, hex, `\x` / `\u` escapes, Unicode
 * tag characters, variation selectors, letter-spaced words (`i g n o r e   a l l`), words joined by
 * punctuation or case (`ignore+all`, `ignore-all`, `IgnoreAll`), leetspeak (`1gn0r3 4ll`) and text
 * written backwards. Each returns text only when the result is mostly printable, so a binary blob (an
 * image, a hash) never becomes "text" to scan.
 */
import { MAX_REPEAT } from './lint'

/** Encodings an encoded-payload rule can undo (the rule schema's `decode.encoding` takes this list). */
export const ENCODINGS = ['base64', 'hex', 'escapes', 'tags', 'selectors', 'spaced', 'words', 'leet', 'reversed'] as const
export type Encoding = (typeof ENCODINGS)[number]

/** Longest encoded candidate that is decoded (characters); longer ones are decoded up to this. */
export const MAX_DECODE_INPUT = 16_384

/**
 * Layers of encoding a rule that reads nested encodings undoes at most, its own candidate's included
 * (base64 of base64 of base64). Each inner layer is read only where a base64 or hex rule finds a
 * candidate in the text the layer above decoded to, and is no longer than that text.
 */
export const MAX_DECODE_LAYERS = 3

/** Encodings an inner layer may be written in: those whose text is bytes spelled out again. */
export const NESTED_ENCODINGS: ReadonlySet<Encoding> = new Set(['base64', 'hex'])

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false })

function bytesFromBase64(s: string): Uint8Array | null {
  let b = s.replace(/[\s]/g, '').replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')
  if (b.length < 8 || /[^A-Za-z0-9+/]/.test(b)) return null
  b = b.slice(0, b.length - (b.length % 4 === 1 ? 1 : 0))
  b += '='.repeat((4 - (b.length % 4)) % 4)
  try {
    const bin = atob(b)
    const out = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
    return out
  } catch {
    return null
  }
}

/** What a hex dump writes between and before its bytes. */
const HEX_NOISE = /(?:\\x|0x|[\s:,-])/gi

function bytesFromHex(s: string): Uint8Array | null {
  const h = s.replace(HEX_NOISE, '')
  if (h.length < 8 || h.length % 2 !== 0 || /[^0-9a-f]/i.test(h)) return null
  const out = new Uint8Array(h.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = (nibble(h.charCodeAt(i * 2)) << 4) | nibble(h.charCodeAt(i * 2 + 1))
  return out
}

/** The value of a hex digit's character code (checked to be one). */
function nibble(u: number): number {
  return u <= 0x39 ? u - 0x30 : (u | 0x20) - 0x57
}

function fromEscapes(s: string): string {
  return s.replace(/\\u\{([0-9a-f]{1,6})\}|\\u([0-9a-f]{4})|\\x([0-9a-f]{2})|%([0-9a-f]{2})/gi, (m, cp: string | undefined, u: string | undefined, x: string | undefined, pct: string | undefined) => {
    const hex = cp ?? u ?? x ?? pct
    if (hex === undefined) return m
    const n = parseInt(hex, 16)
    return n <= 0x10ffff ? String.fromCodePoint(n) : m
  })
}

/** Decodes Unicode tag characters (U+E0000–U+E007F) to the ASCII they shadow; other characters are dropped. */
export function decodeTags(s: string): string {
  let out = ''
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0
    if (cp >= 0xe0020 && cp <= 0xe007e) out += String.fromCharCode(cp - 0xe0000)
  }
  return out
}

/** Decodes variation selectors as bytes (VS1–16 → 0–15, VS17–256 → 16–255); other characters are dropped. */
export function decodeSelectors(s: string): Uint8Array {
  const bytes: number[] = []
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0
    if (cp >= 0xfe00 && cp <= 0xfe0f) bytes.push(cp - 0xfe00)
    else if (cp >= 0xe0100 && cp <= 0xe01ef) bytes.push(cp - 0xe0100 + 16)
  }
  return new Uint8Array(bytes)
}

const SPACING = /[ ._*-]+/g

/**
 * Letter-spaced text rejoined: `i g n o r e   a l l` → `ignore all`, `i.g.n.o.r.e a.l.l` → `ignore all`.
 * The separator found most often alone between two letters joins letters; any other run (a longer one,
 * another character) is a word break.
 */
export function unspace(s: string): string {
  const singles = new Map<string, number>()
  for (const m of s.matchAll(SPACING)) if (m[0].length === 1) singles.set(m[0], (singles.get(m[0]) ?? 0) + 1)
  let joiner = ''
  let most = 0
  for (const [sep, n] of singles) if (n > most) [joiner, most] = [sep, n]
  return s.replace(SPACING, (run) => (run === joiner ? '' : ' '))
}

/**
 * Words joined without spaces pulled apart: `+ _ ~ / . -` become spaces and a lower-to-upper-case step
 * starts a new word (`Ignore+all`, `ignore_all`, `ignore-all`, `IgnoreAll` → `Ignore all`).
 */
export function unjoin(s: string): string {
  return s.replace(/[+_~/.-]/g, ' ').replace(/([a-z])(?=[A-Z])/g, '$1 ')
}

/** The letter each leetspeak digit or sign stands for (`1` reads as `i`: `1gn0r3`, `1nstruct10ns`). */
const LEET: Readonly<Record<string, string>> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g', '@': 'a', $: 's' }

/**
 * Leetspeak read as letters: in each word that mixes letters with those digits or signs, they become
 * the letters they stand for (`1gn0r3 4ll pr3v10us` → `ignore all previous`). Numbers stay numbers.
 */
export function unleet(s: string): string {
  return s.replace(/[A-Za-z0-9@$]+/g, (w) => (/[A-Za-z]/.test(w) && /[0-9@$]/.test(w) ? w.replace(/[0-9@$]/g, (c) => LEET[c] ?? c) : w))
}

/**
 * Text written backwards, read forwards the three ways it is written (FlipAttack's modes), one per line:
 * the whole text reversed (`snoitcurtsni suoiverp lla erongI` → `Ignore all previous instructions`),
 * each word reversed in place (`erongI lla` → `Ignore all`), and the words in reverse order
 * (`instructions previous all Ignore` → `Ignore all previous instructions`).
 */
export function unreverse(s: string): string {
  const flip = (w: string): string => [...w].reverse().join('')
  return [flip(s), s.split(/(\s+)/).map(flip).join(''), s.split(/\s+/).reverse().join(' ')].join('\n')
}

/** Share of characters that are letters, digits, punctuation or ordinary white space. */
export function printableRatio(text: string): number {
  if (text.length === 0) return 0
  let good = 0
  let total = 0
  for (const ch of text) {
    total++
    if (isPrintableUnit(ch.codePointAt(0) ?? 0)) good++
  }
  return good / total
}

/**
 * The longest prefix of `text` that is at least `minPrintable` printable and ends on a printable
 * character, when it is at least `minLength` long; otherwise null.
 */
function printablePrefix(text: string, minPrintable: number, minLength: number): string | null {
  let good = 0
  let total = 0
  let end = -1
  for (let i = 0; i < text.length; i++) {
    const cp = text.charCodeAt(i)
    total++
    if (isPrintableUnit(cp)) {
      good++
      if (total >= minLength && good >= minPrintable * total) end = i + 1
    }
  }
  return end < 0 ? null : text.slice(0, end)
}

/** Not U+FFFD, a C0 control other than tab and line breaks, DEL or a C1 control (a code point or a UTF-16 unit). */
function isPrintableUnit(cp: number): boolean {
  if (cp === 0xfffd) return false
  if (cp < 0x20) return cp === 0x09 || cp === 0x0a || cp === 0x0d
  return cp < 0x7f || cp >= 0xa0
}

/** Shortest decoded prefix {@link decodeToText} falls back to for a line-wrapped candidate. */
const MIN_PREFIX = 16

/**
 * Decodes `value` with `encoding` and returns the text when at least `minPrintable` of it is printable
 * and it contains a letter; otherwise null. Input is cut at {@link MAX_DECODE_INPUT}.
 *
 * `wrapped`: a base64 candidate joined across white space (a line-wrapped blob) may have taken in the
 * words after the blob, which decode to a garbage tail; the text is then its longest mostly-printable
 * prefix (at least 16 characters) instead of nothing.
 */
export function decodeToText(value: string, encoding: Encoding, minPrintable = 0.9, wrapped = false): string | null {
  const input = value.length > MAX_DECODE_INPUT ? value.slice(0, MAX_DECODE_INPUT) : value
  let text: string
  if (encoding === 'tags') text = decodeTags(input)
  else if (encoding === 'escapes') text = fromEscapes(input)
  else if (encoding === 'selectors') text = utf8.decode(decodeSelectors(input))
  else if (encoding === 'spaced') text = unspace(input)
  else if (encoding === 'words') text = unjoin(input)
  else if (encoding === 'leet') text = unleet(input)
  else if (encoding === 'reversed') text = unreverse(input)
  else {
    const bytes = encoding === 'base64' ? bytesFromBase64(input) : bytesFromHex(input)
    if (bytes === null) return null
    text = utf8.decode(bytes)
  }
  if (text.length < 4 || !/\p{L}/u.test(text)) return null
  if (printableRatio(text) >= minPrintable) return text
  if (!wrapped || encoding !== 'base64' || !/\s/.test(input)) return null
  const prefix = printablePrefix(text, minPrintable, MIN_PREFIX)
  return prefix !== null && /\p{L}/u.test(prefix) ? prefix : null
}

/**
 * How a long candidate is cut into pieces, per encoding: what is removed before cutting (white space; a
 * dump's separators and `0x` prefixes), where a piece may start (a multiple of 4 characters, of 2), how far
 * consecutive pieces overlap (768 decoded bytes, more than any secret or phrase the rescan needs whole) and
 * how many characters of the candidate at most make the first piece.
 */
const PIECES = {
  base64: { strip: /\s+/g, align: 4, overlap: 1024, firstFrom: 2 * MAX_DECODE_INPUT },
  hex: { strip: HEX_NOISE, align: 2, overlap: 1536, firstFrom: 3 * MAX_DECODE_INPUT },
} as const

/**
 * The text of a base64 or hex candidate of any length. Up to {@link MAX_DECODE_INPUT} characters it is
 * `decodeToText`'s. A longer one is read whole, without white space (and a dump's separators), in pieces
 * of that size that start at multiples of 4 (2 for hex) and overlap by 768 decoded bytes, each decoded on
 * its own; pieces that are not text are skipped, and when the first one is not, none is read (an image or
 * a file no model reads as text, as for a blob). `visit` gets each text; returning false stops.
 */
export function eachDecodedText(value: string, encoding: 'base64' | 'hex', minPrintable: number, visit: (text: string) => boolean): void {
  if (value.length <= MAX_DECODE_INPUT) {
    const text = decodeToText(value, encoding, minPrintable, true)
    if (text !== null) visit(text)
    return
  }
  const { strip, align, overlap, firstFrom } = PIECES[encoding]
  // The first piece from a prefix, before the whole candidate is copied without its white space.
  const first = decodeToText(value.slice(0, firstFrom).replace(strip, '').slice(0, MAX_DECODE_INPUT), encoding, minPrintable)
  if (first === null || !visit(first)) return
  const b = value.replace(strip, '')
  // The last piece is a whole one ending where the candidate does: a short tail could fail the printable share on a few stray characters.
  const tail = Math.max(0, b.length - MAX_DECODE_INPUT)
  const last = tail - (tail % align)
  for (let start = MAX_DECODE_INPUT - overlap; start + overlap < b.length; start += MAX_DECODE_INPUT - overlap) {
    const from = Math.min(start, last)
    const text = decodeToText(b.slice(from, from + MAX_DECODE_INPUT), encoding, minPrintable)
    if ((text !== null && !visit(text)) || from < start) return
  }
}

/**
 * Where a candidate of a rule decoding `encoding`, found at `[start, end)` of `text`, really ends: a base64
 * or hex one is read to the end of its run ({@link base64RunEnd}, {@link hexRunEnd}); others end at `end`.
 */
export function candidateEnd(encoding: Encoding, text: string, start: number, end: number): number {
  if (encoding === 'base64') return base64RunEnd(text, start, end)
  return encoding === 'hex' ? hexRunEnd(text, end) : end
}

/** Base64 and base64url characters. */
function isBase64Unit(u: number): boolean {
  return (u >= 0x41 && u <= 0x5a) || (u >= 0x61 && u <= 0x7a) || (u >= 0x30 && u <= 0x39) || u === 0x2b || u === 0x2f || u === 0x5f || u === 0x2d
}

function isSpaceUnit(u: number): boolean {
  return u === 0x20 || u === 0x0a || u === 0x0d || u === 0x09 || u === 0x0c
}

/**
 * Where a base64 candidate found at `[start, end)` of `text` really ends. One shorter than the longest run a
 * pattern may repeat (`MAX_REPEAT`, the lint's cap) was not cut short by it, and ends at `end`; a longer one
 * may have been (a line longer than the cap, more lines than the pattern joins), and is widened over the
 * rest of the run, lines joined as the patterns join them (one white-space character, then at least 4
 * characters), and its padding. One that ends in padding ends at `end`.
 */
export function base64RunEnd(text: string, start: number, end: number): number {
  if (end - start < MAX_REPEAT || text.charCodeAt(end - 1) === 0x3d) return end
  let e = end
  for (;;) {
    const next = text.charCodeAt(e)
    if (isBase64Unit(next)) e++
    else if (isSpaceUnit(next) && runOfAtLeast(text, e + 1, 4)) e += 5
    else break
  }
  if (e === end) return end
  for (let pad = 0; pad < 2 && text.charCodeAt(e) === 0x3d; pad++) e++
  return e
}

function runOfAtLeast(text: string, at: number, n: number): boolean {
  for (let i = at; i < at + n; i++) if (!isBase64Unit(text.charCodeAt(i))) return false
  return true
}

function isHexUnit(u: number): boolean {
  return (u >= 0x30 && u <= 0x39) || ((u | 0x20) >= 0x61 && (u | 0x20) <= 0x66)
}

/**
 * Where a hex candidate found ending at `end` of `text` really ends. The hex patterns end a run themselves
 * (no letter or digit may follow), except those that take a run longer than the others read at once: they
 * stop after as many bytes as they repeat, right before the next one. Such a candidate is widened over the
 * rest of the run as those patterns write it: byte pairs, each after an optional space, colon or comma
 * (and a comma's space) and an optional `0x`.
 */
export function hexRunEnd(text: string, end: number): number {
  if (!isHexUnit(text.charCodeAt(end))) return end
  let e = end
  for (;;) {
    let p = e
    const sep = text.charCodeAt(p)
    if (sep === 0x2c) p += text.charCodeAt(p + 1) === 0x20 ? 2 : 1
    else if (sep === 0x20 || sep === 0x3a) p++
    if (text.charCodeAt(p) === 0x30 && text.charCodeAt(p + 1) === 0x78) p += 2
    if (!isHexUnit(text.charCodeAt(p)) || !isHexUnit(text.charCodeAt(p + 1))) return e
    e = p + 2
  }
}
