/**
 * JSON Schema patterns are ECMA-262 regular expressions; the firewall runs them on re2js, whose syntax
 * and meaning are RE2's. re2js's own `translateRegExp` handles the syntax (`\u00e9`, `\cA`, `[]`,
 * `[^]`, named groups). Two things keep RE2's meaning through it and are rewritten here:
 * - `\s` / `\S`: RE2's white space is ASCII (`[\t\n\f\r ]`); ECMAScript's is every WhiteSpace and
 *   LineTerminator code point, so `^\S+$` must refuse "a\u00a0b" as a JavaScript RegExp does;
 * - `.`: RE2 stops only at `\n`; ECMAScript at every LineTerminator (`\n`, `\r`, U+2028, U+2029).
 * A surrogate pair written as two `\u` escapes is one code point, as with ECMAScript's `u` flag.
 * `\d`, `\w` and `\b` mean the same in both (ASCII, as there is no `i` flag).
 */
import { RE2JS } from 're2js'

type Range = readonly [number, number]

/** ECMAScript's `\s`: WhiteSpace (TAB, VT, FF, ZWNBSP, every Zs) and LineTerminator (LF, CR, LS, PS). */
const WHITE_SPACE: readonly Range[] = [[0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff]]
const MAX_CODE_POINT = 0x10ffff

// The class members each escape stands for, so they can be spliced into a class the pattern opens.
const MEMBERS = new Map([['s', members(WHITE_SPACE)], ['S', members(complement(WHITE_SPACE))]])
const ANY_BUT_LINE_TERMINATOR = '[^\\n\\r\\x{2028}\\x{2029}]'

// `\ud83d\ude00`, as translateRegExp writes it: one code point to ECMAScript with the `u` flag, two
// lone surrogates to RE2.
const SURROGATE_PAIR = /\\x\{(d[89ab][0-9a-f]{2})\}\\x\{(d[c-f][0-9a-f]{2})\}/iy

/**
 * An ECMAScript pattern in RE2 syntax, with ECMAScript's meaning.
 * @example toRe2('^\\S+$') // '^[\\x{0}-\\x{8}\\x{e}-\\x{1f}…]+$'
 */
export function toRe2(pattern: string): string {
  const source = RE2JS.translateRegExp(pattern)
  let out = ''
  let inClass = false
  for (let i = 0; i < source.length; i++) {
    const ch = source[i] as string
    if (ch === '\\' && i + 1 < source.length) {
      const pair = surrogatePairAt(source, i)
      if (pair !== null) {
        out += pair.text
        i += pair.length - 1
        continue
      }
      const escaped = source[++i] as string
      const set = MEMBERS.get(escaped)
      if (set === undefined) out += ch + escaped
      else out += inClass ? set : `[${set}]`
    } else if (ch === '.' && !inClass) {
      out += ANY_BUT_LINE_TERMINATOR
    } else {
      if (ch === '[') inClass = true
      else if (ch === ']') inClass = false
      out += ch
    }
  }
  return out
}

function surrogatePairAt(source: string, at: number): { text: string; length: number } | null {
  SURROGATE_PAIR.lastIndex = at
  const m = SURROGATE_PAIR.exec(source)
  if (m === null) return null
  const codePoint = String.fromCharCode(parseInt(m[1] as string, 16), parseInt(m[2] as string, 16)).codePointAt(0) as number
  return { text: `\\x{${codePoint.toString(16)}}`, length: m[0].length }
}

function members(ranges: readonly Range[]): string {
  const hex = (c: number) => `\\x{${c.toString(16)}}`
  return ranges.map(([from, to]) => (from === to ? hex(from) : `${hex(from)}-${hex(to)}`)).join('')
}

function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = []
  let next = 0
  for (const [from, to] of ranges) {
    if (from > next) out.push([next, from - 1])
    next = to + 1
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT])
  return out
}
