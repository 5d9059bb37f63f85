/**
 * The o200k pre-tokenizer (the regex that cuts text into pieces before byte-pair merging), hand-written
 * for ASCII. gpt-tokenizer runs the regex below with `matchAll`; under load that costs more than the
 * merging itself (a match array per piece, Unicode property classes). This scanner decides the same
 * piece boundaries over the text's UTF-8 bytes (from `TextEncoder.encodeInto`: reading a typed array is
 * about twice as fast as `charCodeAt`) with a class table, and gives up (returns -1) whenever the answer
 * depends on a non-ASCII character, so that the caller runs the regex at that one position instead.
 *
 * Why giving up per piece is exact: the regex matches at every position (every character is a letter,
 * a number, whitespace or "other", and some alternative takes each), so `matchAll` yields back-to-back
 * pieces and the piece at position i depends only on the text from i on. The scanner and a sticky copy
 * of the regex can therefore take turns piece by piece.
 */

/** gpt-tokenizer 4.0.0's o200k split pattern (`O200K_TOKEN_SPLIT_PATTERN`); the scanner below implements it. */
export const O200K_SPLIT_PATTERN = String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`

/** What a byte is to the pattern. */
const enum C {
  /** The end of the text. */
  End = 0,
  /** `[a-z]`: `\p{Ll}`. */
  Lower = 1,
  /** `[A-Z]`: `\p{Lu}`. */
  Upper = 2,
  /** `[0-9]`: `\p{N}`. */
  Digit = 3,
  /** `\r`, `\n`: whitespace that may not prefix a word. */
  Newline = 4,
  /** Space, tab, vertical tab, form feed: whitespace that may prefix a word. */
  Blank = 5,
  /** Every other ASCII character, controls included: `[^\s\p{L}\p{N}]`, and a word prefix. */
  Other = 6,
  /** Part of a non-ASCII character: the scanner cannot tell what it is. */
  NonAscii = 7,
}

const CLASS = buildClassTable()

function buildClassTable(): Uint8Array {
  const t = new Uint8Array(256).fill(C.NonAscii)
  t.fill(C.Other, 0, 128)
  t.fill(C.Lower, 0x61, 0x7b)
  t.fill(C.Upper, 0x41, 0x5b)
  t.fill(C.Digit, 0x30, 0x3a)
  t[0x0a] = C.Newline
  t[0x0d] = C.Newline
  for (const c of [0x09, 0x0b, 0x0c, 0x20]) t[c] = C.Blank
  return t
}

/** The scanner could not decide: a non-ASCII character is where the answer depends on it. */
const GIVE_UP = -1

/** Class of byte `i` of `b` (`n` bytes long). Never reads past the end (V8 deoptimises on that). */
function classAt(b: Uint8Array, i: number, n: number): number {
  return i < n ? (CLASS[b[i] as number] as number) : C.End
}

/**
 * End (exclusive) of the o200k piece that starts at byte `i` (< n) of the UTF-8 text `b`, or -1 when a
 * non-ASCII character could change the answer. Alternatives are tried in the pattern's order, with its
 * greedy semantics. Byte offsets are character offsets as long as everything before is ASCII; the caller
 * keeps the two apart after a piece it took from the regex.
 */
export function asciiPieceEnd(b: Uint8Array, i: number, n: number): number {
  const k = classAt(b, i, n)
  if (k === C.Lower || k === C.Upper) return wordEnd(b, i, n)
  if (k === C.NonAscii) return GIVE_UP
  if (k === C.Digit) return digitsEnd(b, i, n)
  // Other or Blank may prefix a word: `[^\r\n\p{L}\p{N}]?` before the letters.
  if (k !== C.Newline) {
    const next = classAt(b, i + 1, n)
    if (next === C.Lower || next === C.Upper) return wordEnd(b, i + 1, n)
    if (next === C.NonAscii) return GIVE_UP
    if (k === C.Other) return punctuationEnd(b, i, n)
    if (next === C.Other && b[i] === 0x20) return punctuationEnd(b, i + 1, n)
  }
  return whitespaceEnd(b, i, n)
}

/**
 * The two word alternatives from `j`, the first letter (an optional prefix is before `j`):
 * `[Lu…]*[Ll…]+` (an upper-case run then a lower-case run) else `[Lu…]+[Ll…]*`, then a contraction.
 * In ASCII the second applies exactly when the upper-case run is not followed by a lower-case letter.
 */
function wordEnd(b: Uint8Array, j: number, n: number): number {
  let k = j
  let c = classAt(b, k, n)
  while (c === C.Upper) c = classAt(b, ++k, n)
  while (c === C.Lower) c = classAt(b, ++k, n)
  if (c === C.Other) return contractionEnd(b, k, n)
  // A non-ASCII letter or mark would continue either run.
  return c === C.NonAscii ? GIVE_UP : k
}

/** `(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?` at `k`. Non-ASCII simply does not match. */
function contractionEnd(b: Uint8Array, k: number, n: number): number {
  if (k + 1 >= n || b[k] !== 0x27) return k
  // `| 0x20` lower-cases an ASCII letter and maps nothing else onto one.
  switch ((b[k + 1] as number) | 0x20) {
    case 0x73: // s
    case 0x64: // d
    case 0x6d: // m
    case 0x74: // t
      return k + 2
    case 0x6c: // l
      return k + 2 < n && ((b[k + 2] as number) | 0x20) === 0x6c ? k + 3 : k
    case 0x76: // v
    case 0x72: // r
      return k + 2 < n && ((b[k + 2] as number) | 0x20) === 0x65 ? k + 3 : k
    default:
      return k
  }
}

/** `\p{N}{1,3}`. A non-ASCII character within the three might be a number. */
function digitsEnd(b: Uint8Array, i: number, n: number): number {
  let k = i + 1
  while (k < i + 3) {
    const c = classAt(b, k, n)
    if (c === C.NonAscii) return GIVE_UP
    if (c !== C.Digit) break
    k++
  }
  return k
}

/** ` ?[^\s\p{L}\p{N}]+[\r\n/]*` from the first "other" character at `j`. */
function punctuationEnd(b: Uint8Array, j: number, n: number): number {
  let k = j + 1
  let c = classAt(b, k, n)
  while (c === C.Other) c = classAt(b, ++k, n)
  // A non-ASCII symbol would continue the run; a non-ASCII letter would end it.
  if (c === C.NonAscii) return GIVE_UP
  while (k < n && isNewlineOrSlash(b[k] as number)) k++
  return k
}

function isNewlineOrSlash(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x2f
}

/**
 * The whitespace alternatives, once the word and punctuation ones failed: `\s*[\r\n]+` (up to the last
 * newline of the run), else `\s+(?!\S)` (the whole run at the end of the text, otherwise all but its last
 * character so that one can prefix what follows), else `\s+` (a lone character).
 */
function whitespaceEnd(b: Uint8Array, i: number, n: number): number {
  let lastNewline = -1
  let k = i
  let c = classAt(b, k, n)
  while (c === C.Blank || c === C.Newline) {
    if (c === C.Newline) lastNewline = k
    c = classAt(b, ++k, n)
  }
  // A non-ASCII character might be whitespace (U+00A0, U+3000, …) and extend the run.
  if (c === C.NonAscii) return GIVE_UP
  if (lastNewline >= 0) return lastNewline + 1
  if (c === C.End || k - i === 1) return k
  return k - 1
}
