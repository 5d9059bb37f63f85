/**
 * Base64 `data`/`blob` payloads (mcp-protocol.md §3 "CB"): which key of a record holds one, whether the
 * protocol makes it base64 where it stands, and the text inside it, decoded only when it is text (bounded).
 */
import type { FieldRole } from './types'

/**
 * The key of a record holding base64 rather than text: `data` of an image/audio content block,
 * `blob` of resource contents (§3 "CB"). Shared with redaction, which edits either only through its decoded text
 * unless the field is `loose` (outside a content block, where the string is plain text).
 */
export function base64Key(record: Record<string, unknown>): 'data' | 'blob' | undefined {
  const type = record['type']
  if ((type === 'image' || type === 'audio') && typeof record['data'] === 'string') return 'data'
  if (typeof record['blob'] === 'string') return 'blob'
  return undefined
}

/** Roles whose messages carry content blocks or resource contents (§3 "CB"). */
const CONTENT_ROLES: ReadonlySet<FieldRole> = new Set(['tool-result', 'resource', 'prompt', 'sampling'])

/**
 * Where a content block or resource contents sits (§3 "CB"): a result's `content` (one block or an array),
 * `contents[*]`, a prompt's or sampling request's `messages[*].content`, a `tool_result` block's own
 * `content`, an embedded block's `resource`, inside a 2026-07-28 MRTR input request or response too.
 */
const CONTENT_BLOCK = /^\/(?:result(?:\/inputRequests\/[^/]+\/params)?|params(?:\/inputResponses\/[^/]+)?)(?:\/messages\/\d+)?\/contents?(?:\/\d+)?(?:\/content(?:\/\d+)?)?(?:\/resource)?$/

/**
 * Whether the record at `path` is a content block or resource contents, the only places where the
 * protocol makes `data`/`blob` base64. Elsewhere (arguments, structuredContent, `_meta`, error data, an
 * elicitation's answers) the same keys are free JSON whose strings reach a model or an origin as written.
 */
export function inContentBlock(path: string, role: FieldRole): boolean {
  return CONTENT_ROLES.has(role) && CONTENT_BLOCK.test(path)
}

/** What a payload turned out to hold: no base64 at all, bytes that are not text, or text (maybe a prefix). */
export type Base64Text = { kind: 'not-base64' } | { kind: 'binary' } | { kind: 'text'; text: string; truncated: boolean }

// Standard or URL-safe alphabet; line breaks allowed (MIME), spaces not (prose is not base64).
// ASCII whitespace anywhere: decoders (`atob`, the SDK's base64 check, Buffer) skip it.
const BASE64 = /^[A-Za-z0-9+/_\-\t\n\f\r ]*={0,2}[\t\n\f\r ]*$/
const TEXTUAL_MIME = /^(?:text\/|application\/(?:json|xml|javascript|yaml|x-yaml)\b)|\+(?:json|xml)\b/i
const SNIFF_BYTES = 3072

/**
 * Text inside a base64 payload: always decoded when `mime` is textual (text/*, JSON, XML, *+json,
 * *+xml); otherwise only when the first 3 KiB, then the whole decoded prefix, are valid UTF-8 and
 * mostly printable. A string that is not base64 at all is returned as such (it is scanned as text).
 */
export function decodeBase64Text(value: string, mime: string | null, maxBytes: number): Base64Text {
  if (!BASE64.test(value)) return { kind: 'not-base64' }
  const textual = mime !== null && TEXTUAL_MIME.test(mime)
  if (!textual) {
    const head = base64Bytes(value, SNIFF_BYTES)
    if (head === null) return { kind: 'not-base64' }
    const sniffed = utf8(head.bytes, true, head.truncated)
    if (sniffed === null || !looksLikeText(sniffed)) return { kind: 'binary' }
  }
  const all = base64Bytes(value, maxBytes)
  if (all === null) return { kind: 'not-base64' }
  const text = utf8(all.bytes, !textual, all.truncated)
  if (text === null || (!textual && !looksLikeText(text))) return { kind: 'binary' }
  return { kind: 'text', text, truncated: all.truncated }
}

/** The first `maxBytes` bytes of standard or URL-safe base64 (line breaks ignored), or null when malformed. */
function base64Bytes(value: string, maxBytes: number): { bytes: Uint8Array; truncated: boolean } | null {
  const maxChars = Math.floor(maxBytes / 3) * 4
  const cut = value.length > maxChars + (maxChars >> 4) + 4
  let s = cut ? value.slice(0, maxChars + (maxChars >> 4) + 4) : value
  if (/[\t\n\f\r ]/.test(s)) s = s.replace(/[\t\n\f\r ]+/g, '')
  let truncated = cut
  if (s.length > maxChars) {
    s = s.slice(0, maxChars)
    truncated = true
  }
  if (truncated) s = s.slice(0, s.length - (s.length % 4))
  let binary: string
  try {
    binary = atob(s.replace(/-/g, '+').replace(/_/g, '/'))
  } catch {
    return null
  }
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return { bytes, truncated }
}

function utf8(bytes: Uint8Array, fatal: boolean, truncated: boolean): string | null {
  try {
    // `stream` keeps a character cut by the byte limit from counting as invalid.
    return new TextDecoder('utf-8', { fatal, ignoreBOM: false }).decode(bytes, { stream: truncated })
  } catch {
    return null
  }
}

/** No NUL, and at most 2% control characters or U+FFFD. */
function looksLikeText(text: string): boolean {
  if (text.length === 0) return false
  let bad = 0
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i)
    if (u === 0) return false
    if ((u < 0x20 && u !== 0x09 && u !== 0x0a && u !== 0x0c && u !== 0x0d) || (u >= 0x7f && u < 0xa0) || u === 0xfffd) bad++
  }
  return bad * 50 <= text.length
}
