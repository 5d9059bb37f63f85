/**
 * Redaction and stripping: span replacements applied to string values of a message, immutably.
 * Only text that exists verbatim in the message, or that a base64 payload spells exactly, can be edited;
 * keys and joined views are refused so the pipeline blocks instead of forwarding something it could not clean.
 */
import type { JsonRpcMessage } from '../mcp/jsonrpc'
import { encodeBase64Text } from './base64'
import type { Base64Spelling } from './base64'
import { base64Key } from './base64-payload'
import { getAt, parsePointer, setAt } from './pointer'
import { isRecord } from '../record'

/** One replacement of `[start, end)` (UTF-16 offsets in the original string) at a JSON pointer. */
export interface TextEdit {
  path: string
  span: [number, number]
  replacement: string
  /** Copied from the field: edits on keys or joined fields are refused. */
  isKey?: boolean
  joined?: boolean
  /** The span is in this text, decoded from the base64 payload at `path`, which gets the edited text back. */
  decoded?: DecodedPayload
  /** Copied from the field: a `data`/`blob` string outside a content block, plain text rather than a payload. */
  loose?: boolean
}

/** The text of a base64 payload and the spelling it is written back in (`base64SpellingOf` vouches for both). */
export interface DecodedPayload {
  text: string
  spelling: Base64Spelling
}

/** Why an edit was refused: not editable in place, no string there, span out of range, or not in params/result/error. */
export type EditRefusal = 'not-in-place' | 'not-a-string' | 'bad-span' | 'outside-payload'

/** An edit that cannot be applied; the message must be blocked rather than forwarded. */
export class EditRefusedError extends Error {
  override readonly name = 'EditRefusedError'
  constructor(
    readonly reason: EditRefusal,
    readonly path: string,
  ) {
    super(`edit refused (${reason}) at ${path}`)
  }
}

/**
 * A copy of `message` with every edit applied; the input is untouched. Overlapping spans of one string
 * merge into one; the merged span takes the non-empty replacement of its widest edit (a redaction
 * marker wins over a strip). Throws `EditRefusedError` when any edit cannot be applied in place.
 * @example applyEdits(msg, [{ path: '/result/content/0/text', span: [6, 10], replacement: '' }])
 */
export function applyEdits(message: JsonRpcMessage, edits: readonly TextEdit[]): JsonRpcMessage {
  const byPath = new Map<string, TextEdit[]>()
  for (const edit of edits) {
    const list = byPath.get(edit.path)
    if (list) list.push(edit)
    else byPath.set(edit.path, [edit])
  }
  let out = message
  for (const [path, list] of byPath) {
    const edited = replaceSpans(target(message, path, list), mergeSpans(list))
    const payload = list[0]?.decoded
    out = setAt(out, path, payload ? encodeBase64Text(edited, payload.spelling) : edited)
  }
  return out
}

/**
 * Removes `[start, end)` spans (e.g. invisible characters) from a string; overlaps are merged.
 * @example stripSpans('ig\u200Bnore', [[2, 3]]) // 'ignore'
 */
export function stripSpans(raw: string, spans: ReadonlyArray<readonly [number, number]>): string {
  const edits = spans.map(([s, e]) => ({ span: [s, e] as [number, number], replacement: '' }))
  for (const e of edits) checkSpan(e.span, raw.length, '')
  return replaceSpans(raw, mergeSpans(edits))
}

/** The text an edit group targets (a string, or a base64 payload's text), after refusing what cannot be edited in place. */
function target(message: JsonRpcMessage, path: string, list: readonly TextEdit[]): string {
  const payload = list[0]?.decoded
  const loose = list[0]?.loose === true
  if (list.some((e) => e.isKey || e.joined || e.decoded?.text !== payload?.text || (e.loose === true) !== loose)) throw new EditRefusedError('not-in-place', path)
  const segments = parsePointer(path)
  const section = segments[0]
  if (segments.length < 2 || (section !== 'params' && section !== 'result' && section !== 'error')) {
    throw new EditRefusedError('outside-payload', path)
  }
  const value = getAt(message, path)
  if (typeof value !== 'string') throw new EditRefusedError('not-a-string', path)
  // A base64 payload is edited only through its decoded text (spans in the payload itself, e.g. of words
  // scanned as they are, would cut the encoding), and decoded text only goes back into a base64 payload.
  // A loose string is no payload: outside a content block nothing decodes it, so it is edited as written.
  const parent = getAt(message, path.slice(0, path.lastIndexOf('/')))
  const isPayload = !loose && isRecord(parent) && base64Key(parent) === segments[segments.length - 1]
  if (isPayload !== (payload !== undefined)) throw new EditRefusedError('not-in-place', path)
  const text = payload?.text ?? value
  for (const e of list) checkSpan(e.span, text.length, path)
  return text
}

function checkSpan(span: readonly [number, number], length: number, path: string): void {
  const [s, e] = span
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e < s || e > length) throw new EditRefusedError('bad-span', path)
}

interface Merged {
  start: number
  end: number
  replacement: string
  width: number
}

/** Sorted, non-overlapping spans. Touching spans stay separate (each keeps its own marker). */
function mergeSpans(edits: ReadonlyArray<{ span: readonly [number, number]; replacement: string }>): Merged[] {
  const sorted = edits
    .map((e) => ({ start: e.span[0], end: e.span[1], replacement: e.replacement, width: e.span[1] - e.span[0] }))
    .sort((a, b) => a.start - b.start || b.end - a.end)
  const out: Merged[] = []
  for (const m of sorted) {
    const last = out[out.length - 1]
    if (!last || m.start >= last.end) {
      out.push({ ...m })
      continue
    }
    last.end = Math.max(last.end, m.end)
    if (m.replacement !== '' && (last.replacement === '' || m.width > last.width)) {
      last.replacement = m.replacement
      last.width = m.width
    }
  }
  return out
}

function replaceSpans(value: string, spans: readonly Merged[]): string {
  let out = ''
  let at = 0
  for (const m of spans) {
    out += value.slice(at, m.start) + m.replacement
    at = m.end
  }
  return out + value.slice(at)
}
