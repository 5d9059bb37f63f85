/**
 * The encodings `normalize` undoes, one character at a time: an HTML character reference, a
 * percent-encoded UTF-8 sequence, a JSON/JavaScript escape. Each decoder reads at an offset and returns
 * the code point with where its source ends, or null when nothing valid starts there (left as written).
 * References and escapes are undone once; percent-encoding up to {@link MAX_PERCENT_LAYERS} layers deep.
 */

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

/** A decimal, hex or known named character reference (not NUL, a surrogate or > U+10FFFF). */
export function decodeEntity(raw: string, i: number): { cp: number; end: number } | null {
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

const ESCAPE = /\\(?:u([0-9a-fA-F]{4})|u\{0*([0-9a-fA-F]{1,6})\}|x([0-9a-fA-F]{2}))/y

/** A `\uXXXX` (a surrogate pair as two), `\u{…}` or `\xXX` escape of one code point (not a lone surrogate). */
export function decodeEscape(raw: string, i: number): { cp: number; end: number } | null {
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

/**
 * Layers of percent-encoding undone at most: a `%` encoded again is `%25`, so `%41`, `%2541` and
 * `%252541` all read as `A` (a value encoded twice or three times, as a URL inside a URL's query is). The
 * input only shrinks (three characters or more per byte), so each layer costs no more than the first.
 */
export const MAX_PERCENT_LAYERS = 3

/**
 * The byte a `%XX` at `i` encodes through at most `layers` layers (`%2541`: `%` encoded again before
 * `41`) and where it ends, or null when no `%XX` starts there. A `%25` not followed by two hex digits, or
 * in the last layer, is the `%` itself.
 */
function byteAt(raw: string, i: number, layers: number): { byte: number; end: number } | null {
  if (raw.charCodeAt(i) !== 0x25) return null
  let at = i + 1
  for (let layer = 1; ; layer++) {
    const hi = hexAt(raw, at)
    const lo = hexAt(raw, at + 1)
    if (hi < 0 || lo < 0) return null
    const byte = (hi << 4) | lo
    at += 2
    if (byte !== 0x25 || layer === layers || hexAt(raw, at) < 0 || hexAt(raw, at + 1) < 0) return { byte, end: at }
  }
}

/**
 * A `%XX` sequence forming one well-formed UTF-8 character (no overlongs, surrogates or > U+10FFFF),
 * each byte percent-encoded up to {@link MAX_PERCENT_LAYERS} times (`%25E2%2580%2599` is `’`). When the
 * deeper reading is no character, fewer layers are tried: `%25AB` is `%AB` as one layer gives it.
 */
export function decodePercent(raw: string, i: number): { cp: number; end: number } | null {
  for (let layers = MAX_PERCENT_LAYERS; layers >= 1; layers--) {
    const decoded = percentCharAt(raw, i, layers)
    if (decoded !== null) return decoded
  }
  return null
}

function percentCharAt(raw: string, i: number, layers: number): { cp: number; end: number } | null {
  const first = byteAt(raw, i, layers)
  if (first === null) return null
  const b0 = first.byte
  if (b0 < 0x80) return { cp: b0, end: first.end }
  const more = b0 >= 0xc2 && b0 <= 0xdf ? 1 : b0 >= 0xe0 && b0 <= 0xef ? 2 : b0 >= 0xf0 && b0 <= 0xf4 ? 3 : 0
  if (more === 0) return null
  let cp = b0 & (0x3f >> more)
  let end = first.end
  for (let k = 1; k <= more; k++) {
    const next = byteAt(raw, end, layers)
    if (next === null || (next.byte & 0xc0) !== 0x80) return null
    cp = (cp << 6) | (next.byte & 0x3f)
    end = next.end
  }
  const min = more === 1 ? 0x80 : more === 2 ? 0x800 : 0x10000
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return null
  return { cp, end }
}
