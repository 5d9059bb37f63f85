/**
 * The rule engine's view of accented Latin letters: each one read as its base ASCII letter (`Ïgnörë` →
 * `Ignore`, `ỉgnọrẹ` → `ignore`), one UTF-16 unit for one, so spans need no second map.
 *
 * Normalisation keeps a Western European letter as written (`é` spells French, not a disguised `e`),
 * which let an instruction with an accent on every letter pass every rule while a model reads it
 * plainly. Rules that read the normalised text read it folded, and their patterns and keywords are
 * folded the same way when compiled, so `règles` in a rule still matches `règles` (and now `regles`)
 * in a message. The classifier reads the normalised text unfolded, as it was trained.
 */

/**
 * Units folded: the letters of Latin-1 Supplement, Latin Extended-A and -B, Latin Extended Additional; and the angle
 * brackets NFKC keeps that render like `<` `>` (modifier letters, single guillemets, Canadian
 * syllabics, ornaments, mathematical and CJK angle brackets), so `˂IMPORTANT˃` reads as a tag.
 */
const FOLDED = /[\u00c0-\u024f\u1e00-\u1eff\u02c2\u02c3\u2039\u203a\u1433\u1438\u276e\u276f\u27e8\u27e9\u3008\u3009]/
const FOLDED_ALL = new RegExp(FOLDED.source, 'g')

/** Brackets that render like `<` and `>`, each one UTF-16 unit. */
const ANGLE_BRACKETS: Readonly<Record<string, string>> = {
  '\u02c2': '<', '\u02c3': '>', '\u2039': '<', '\u203a': '>', '\u1438': '<', '\u1433': '>',
  '\u276e': '<', '\u276f': '>', '\u27e8': '<', '\u27e9': '>', '\u3008': '<', '\u3009': '>',
}

/** Letters drawn with a stroke or without a dot have no decomposition; they read as these. */
const STROKED: Readonly<Record<string, string>> = {
  Ø: 'O', ø: 'o', Đ: 'D', đ: 'd', Ħ: 'H', ħ: 'h', ı: 'i', Ł: 'L', ł: 'l', Ŧ: 'T', ŧ: 't', Ƀ: 'B', ƀ: 'b', Ɨ: 'I', ɨ: 'i',
}

let table: Map<string, string> | undefined

/** Each letter of the folded blocks whose canonical decomposition is one ASCII letter and marks, or stroked. */
function foldTable(): Map<string, string> {
  if (table) return table
  table = new Map(Object.entries(ANGLE_BRACKETS))
  for (const [from, to] of [[0xc0, 0x24f], [0x1e00, 0x1eff]] as const) {
    for (let cp = from; cp <= to; cp++) {
      const ch = String.fromCharCode(cp)
      const base = ch.normalize('NFD')
      const stroked = STROKED[ch]
      if (stroked !== undefined) table.set(ch, stroked)
      else if (base.length > 1 && /^[A-Za-z]\p{M}+$/u.test(base)) table.set(ch, base.charAt(0))
    }
  }
  return table
}

/**
 * `text` with every accented Latin letter replaced by its base letter and every look-alike angle bracket by
 * its ASCII form; the same string when it has none.
 * @example foldAccents('Ïgnörë àll prévïöüs') // 'Ignore all previous'
 */
export function foldAccents(text: string): string {
  if (!FOLDED.test(text)) return text
  const t = foldTable()
  return text.replace(FOLDED_ALL, (ch) => t.get(ch) ?? ch)
}
