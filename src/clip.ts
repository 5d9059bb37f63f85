/** Clipping of text kept in logs, events and stored records: one rule for where the cut falls. */

/**
 * `text` when it has at most `max` UTF-16 units; otherwise its first `max - 1` units (one fewer when that
 * would split a surrogate pair) and `…`, so the result is never longer than `max` nor ends in half a character.
 * @example clipped('abcdef', 4) // 'abc…'
 */
export function clipped(text: string, max: number): string {
  if (text.length <= max) return text
  let cut = max - 1
  const last = text.charCodeAt(cut - 1)
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1
  return `${text.slice(0, cut)}…`
}
