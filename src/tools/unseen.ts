/**
 * Text a person decides from (the user's confirmation question, the operator's list of calls waiting for
 * a grant, tool definitions under review, security events) with every character they would not see
 * written as a `\u` escape.
 */

// Characters a person does not see, or that reorder or break the text around them (U+202E, U+200B,
// U+2028, soft hyphen, C1 controls): JSON.stringify leaves them raw, so `"bob\u200b"` would read as `"bob"`.
const UNSEEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu

/**
 * `text` with each character of UNSEEN as `\uXXXX` escapes (one per UTF-16 unit: a surrogate pair beyond
 * the BMP). Applied to JSON with no whitespace between tokens (canonical JSON, JSON.stringify without
 * indent) it gives the JSON of the same value: such characters can only stand inside its strings there.
 */
export function unseenEscaped(text: string): string {
  return text.replace(UNSEEN, (c) => {
    let out = ''
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`
    return out
  })
}

/**
 * `value` as JSON with every character of UNSEEN inside its strings written as a `\u` escape: it decodes
 * to `value` itself, but an operator reading the answer (curl, a log) cannot take `alice\u202e` for `alice`,
 * or miss an instruction a bidi override or a line separator hides in a tool's description.
 */
export function unseenJson(value: unknown): string {
  return unseenEscaped(JSON.stringify(value))
}
