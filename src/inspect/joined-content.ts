/**
 * The joined view of a content array (mcp-protocol.md §3 "CB"): the text its blocks carry, and that text
 * read again with words split across blocks made whole, so a payload split across blocks is seen whole.
 */
import { isRecord } from '../record'

/**
 * Text of a `text` block, of an embedded text resource, of resource contents `{uri, text}`, or of the
 * blocks of a sampling message's `tool_result` (the tool's answer, which the model reads as text).
 */
export function blockText(block: unknown, into: string[]): void {
  if (!isRecord(block)) return
  const type = block['type']
  if (typeof block['text'] === 'string' && (type === 'text' || type === undefined)) into.push(block['text'])
  else if (type === 'resource' && isRecord(block['resource']) && typeof block['resource']['text'] === 'string') {
    into.push(block['resource']['text'])
  } else if (type === 'tool_result') {
    // Its blocks are content blocks, never another tool_result: one level, so nesting costs nothing.
    const content = block['content']
    if (Array.isArray(content)) for (const inner of content) if (isRecord(inner) && inner['type'] !== 'tool_result') blockText(inner, into)
  }
}

const ENDS_IN_LETTER = /\p{L}$/u
const STARTS_IN_LOWER_CASE = /^\p{Ll}/u

/**
 * The pieces joined by a line break, except with nothing where a letter meets a lower-case one (a split word).
 * The join so far ends as the previous piece does (an empty piece was joined by a line break), so that piece
 * is asked, not the growing join: asking the join made each piece cost the length of all before it.
 */
export function joinSplitWords(pieces: readonly string[]): string {
  let out = pieces[0] ?? ''
  for (let i = 1; i < pieces.length; i++) {
    const next = pieces[i] as string
    out += ENDS_IN_LETTER.test(pieces[i - 1] as string) && STARTS_IN_LOWER_CASE.test(next) ? next : `\n${next}`
  }
  return out
}
