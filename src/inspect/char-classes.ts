/**
 * Classes of characters the detection text treats alike: spaces, controls, invisible (ignorable and
 * other format) characters, combining marks, and the ASCII and Western European letters marks may sit on.
 */

const MARKS = /\p{M}+/uy

/** End of the run of combining marks starting at `i` (or `i` when there is none). */
export function marksEnd(raw: string, i: number): number {
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
export function mayBeMark(u: number): boolean {
  if (!(u >= 0x300)) return false
  if (u < 0x370) return true
  if (u < 0x483) return false
  if (u < 0x1100) return u < 0x48a || u >= 0x591
  if (u < 0x3100) return (u >= 0x135d && u < 0x1360) || (u >= 0x1700 && u < 0x1e00) || (u >= 0x20d0 && u < 0x2100) || (u >= 0x2cef && u < 0x2e00) || u >= 0x302a
  if (u >= 0xd800 && u < 0xdc00) return u <= 0xd83a ? u !== 0xd835 : u === 0xdb40 // not math letters, emoji, CJK ext.
  return (u >= 0xa66f && u < 0xac00) || u === 0xfb1e || (u >= 0xfe00 && u < 0xfe30)
}

/**
 * JS `\s` plus NEL, the Braille blank (rendered as an empty cell) and the Hangul fillers (rendered as
 * blank space; used between words they would otherwise glue the words together). U+FEFF is invisible.
 */
export function isSpace(cp: number): boolean {
  if (cp < 0x80) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d)
  return (
    cp === 0x85 || cp === 0xa0 || cp === 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 ||
    cp === 0x2029 || cp === 0x202f || cp === 0x205f || cp === 0x3000 || cp === 0x2800 ||
    cp === 0x115f || cp === 0x1160 || cp === 0x3164 || cp === 0xffa0
  )
}

/** A C0 or C1 control, or DEL (a UTF-16 unit). */
export function isControl(u: number): boolean {
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

/** An ASCII letter or digit (a code point or a UTF-16 unit). */
export function isAsciiAlnum(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)
}

/** One letter of Latin-1 Supplement or Latin Extended-A (`é`, `ü`, `ñ`, `ł`): what European rules spell with. */
export function isWesternLetter(s: string): boolean {
  const u = s.charCodeAt(0)
  return s.length === 1 && u >= 0xc0 && u <= 0x17f && u !== 0xd7 && u !== 0xf7
}
