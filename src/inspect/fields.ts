/**
 * The scan surface of one message (mcp-protocol.md §3): every string value and object key under
 * `params`, `result` and `error` (and integers long enough to be a card or account number, as digits),
 * found by a method-agnostic walk so no field of any revision is missed, each tagged with the role its method and position give it. Base64 `data`/`blob` payloads
 * are decoded when they hold text, and text content blocks are also joined into one synthetic field
 * so a payload split across blocks is seen whole.
 */
import type { Direction, FieldRole, NormalizedText, ScanField } from './types'
import type { JsonRpcMessage } from '../mcp/jsonrpc'
import { appendPointer } from './pointer'
import { normalize } from './normalize'
import type { InspectionWork } from './work'
import { base64Key, decodeBase64Text, inContentBlock } from './base64-payload'
import { blockText, joinSplitWords } from './joined-content'
import { innerRequestRole, methodByShape, paramsPlan, resultPlan, type Plan } from './role-plans'
import { isRecord } from '../record'

/**
 * At most this many bytes of a base64 payload are decoded: more than any body the largest size limit lets
 * through (32 MiB) can carry, so no text payload is left half-read. Strings are never cut here: each
 * detector bounds its own work (the rule engine reads a long field in windows, under its work cap).
 */
export const DEFAULT_MAX_DECODED_BYTES = 24 * 1_048_576

/** A `ScanField` plus what the pipeline needs to know before editing it. */
export interface InspectField extends ScanField {
  /** `raw` was decoded from a base64 `data`/`blob`: edited only when it re-encodes to that payload exactly (`base64.ts`). */
  readonly decoded: boolean
  /** `raw` holds only the first `maxDecodedBytes` decoded bytes of a longer base64 payload. */
  readonly truncated: boolean
  /** `raw` is the decimal form of a JSON integer: a redaction replaces the whole number with its marker. */
  readonly numeric?: boolean
  /** `raw` is a `data`/`blob` string outside a content block, read as written: plain text, edited in place like any other. */
  readonly loose?: boolean
}

/**
 * Integers from this magnitude up are scanned as their decimal digits: long enough to be a card, account
 * or phone number, while counts, sizes and timestamps in seconds below it are not worth a field each.
 * Numbers beyond 2^53 are not exact after parsing, so their digits are not the ones sent: not scanned.
 */
const MIN_SCANNED_INTEGER = 1_000_000

/** What `collectFields` needs to know about the message besides its JSON. */
export interface CollectContext {
  direction: Direction
  /** The method, or for a response the method of the request it answers. Absent: classified by shape. */
  method?: string
  /** The protocol era; only 2026-07-28 (`modern`) defines `requestState`, the server's opaque MRTR state. */
  era?: 'legacy' | 'modern'
}

/** Bounds on what is decoded (default: 24 MiB per base64 payload) and on how many items are visited. */
export interface CollectOptions {
  /** Default 24 MiB. Base64 beyond it is not decoded (the decoded field is marked `truncated`). */
  maxDecodedBytes?: number
  /**
   * Charged one item for every value and object key, an array's or object's all at once before any is
   * visited: the walk stops with `InspectionWorkExceeded` when they would pass its cap. Absent: no cap.
   */
  work?: InspectionWork
}

/**
 * Every string, key and long integer of a message's `params`, `result` and `error` (never `jsonrpc`,
 * `id` or the top-level `method`), in document order, with one joined field per content array of two or
 * more text blocks placed before that array's own fields.
 * @example collectFields({ jsonrpc: '2.0', id: 1, error: { code: 1, message: 'x' } }, { direction: 'server_to_client' })
 *   // keys /error/code, /error/message; value /error/message — all role 'error'
 */
export function collectFields(message: JsonRpcMessage, ctx: CollectContext, options: CollectOptions = {}): InspectField[] {
  const walker = new Walker(options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES, options.work)
  const root: Record<string, unknown> = message as unknown as Record<string, unknown>
  const method = typeof root['method'] === 'string' ? root['method'] : undefined
  const mrtr = mrtrStateSection(root, ctx)
  // Each part is looked at independently: a malformed message carrying both result and error is scanned whole.
  if (method !== undefined && has(root, 'params')) walker.walk(root['params'], '/params', { ...paramsPlan(method), opaqueState: mrtr === 'params' })
  if (has(root, 'result')) {
    const answered = ctx.method ?? methodByShape(root['result'], ctx.direction)
    walker.walk(root['result'], '/result', { ...resultPlan(answered), opaqueState: mrtr === 'result' })
  }
  if (has(root, 'error')) walker.walk(root['error'], '/error', { base: 'error' })
  return walker.fields
}

interface Frame {
  value: unknown
  path: string
  role: FieldRole
  /** Set when the value sits under an object key (the key is emitted too). */
  key?: string
  /** Set for the children of a section root or of an MRTR request/response map. */
  plan?: Plan
  map?: 'requests' | 'responses'
  /** Set when the value is a base64 payload; the sibling `mimeType` (or null). */
  base64Mime?: string | null
  /** Set on a base64 payload outside a content block (see `inContentBlock`): its text is read as it is too. */
  loose?: boolean
}

class Walker {
  readonly fields: InspectField[] = []
  constructor(
    private readonly maxBytes: number,
    private readonly work: InspectionWork | undefined,
  ) {}

  walk(value: unknown, path: string, plan: Plan): void {
    this.work?.charge(1)
    const stack: Frame[] = [{ value, path, role: plan.base, plan }]
    for (let frame = stack.pop(); frame; frame = stack.pop()) this.visit(frame, stack)
  }

  private visit(f: Frame, stack: Frame[]): void {
    if (f.key !== undefined) this.emit(f.path, f.role, true, false, f.key, false)
    const v = f.value
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && Math.abs(v) >= MIN_SCANNED_INTEGER) this.emit(f.path, f.role, false, false, String(v), false, false, true)
      return
    }
    if (typeof v === 'string') {
      if (f.base64Mime !== undefined) this.base64(v, f.path, f.role, f.base64Mime, f.loose === true)
      else this.emit(f.path, f.role, false, false, v, false)
      return
    }
    if (Array.isArray(v)) {
      // Counted before the join too, which reads every block of a content array.
      this.work?.charge(v.length)
      if (f.key === 'content' || f.key === 'contents' || f.key === 'messages') this.joined(v, f.key, f.path, f.role)
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: appendPointer(f.path, i), role: f.role })
      return
    }
    if (!isRecord(v)) return
    const b64 = base64Key(v)
    const keys = Object.keys(v)
    this.work?.charge(2 * keys.length) // each key and its value
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string
      // The opaque MRTR state (see `mrtrStateSection`) is not scanned; a non-string is not that state.
      if (f.plan?.opaqueState && key === 'requestState' && typeof v[key] === 'string') continue
      const child: Frame = { value: v[key], path: appendPointer(f.path, key), role: f.role, key }
      if (f.plan) {
        child.role = f.plan.keys?.get(key) ?? f.plan.base
        if (isRecord(child.value) && key === (f.plan.map === 'requests' ? 'inputRequests' : 'inputResponses')) child.map = f.plan.map
      } else if (f.map) {
        child.role = f.map === 'requests' ? innerRequestRole(child.value) : resultPlan(methodByShape(child.value, 'client_to_server')).base
      }
      if (key === b64) {
        child.base64Mime = typeof v['mimeType'] === 'string' ? v['mimeType'] : null
        if (!inContentBlock(f.path, f.role)) child.loose = true
      }
      stack.push(child)
    }
  }

  private base64(value: string, path: string, role: FieldRole, mime: string | null, loose: boolean): void {
    const decoded = decodeBase64Text(value, mime, this.maxBytes)
    if (decoded.kind === 'not-base64') return this.emit(path, role, false, false, value, false, false, false, loose)
    if (decoded.kind === 'text') this.emit(path, role, false, false, decoded.text, true, decoded.truncated)
    // 'binary': an image, audio or file payload is not text any model reads; it is not scanned. But base64
    // with spaces in it (which decoders skip) may as well be plain words: those are scanned as they are too,
    // and so is a payload outside a content block, where nothing decodes it: a token made of base64
    // characters (`AKIA…`, `ghp_…`) under a `blob` argument is read there as the text it is.
    if (loose || /[ \t\f]/.test(value)) this.emit(path, role, false, false, value, false, false, false, loose)
  }

  /** One field joining the text blocks of a `content`/`contents` array or of a `messages` array's contents. */
  private joined(items: unknown[], key: string, path: string, role: FieldRole): void {
    const pieces: string[] = []
    for (const item of items) {
      if (key !== 'messages') blockText(item, pieces)
      else if (isRecord(item)) {
        const content = item['content']
        if (Array.isArray(content)) for (const block of content) blockText(block, pieces)
        else blockText(content, pieces)
      }
    }
    if (pieces.length < 2) return
    // Blocks may also split a word ("Do not te" + "ll the user"), which a line break between them would
    // keep apart; such a join is read a second time with those words whole, in the same field, so one
    // piece of evidence is never counted twice.
    const text = pieces.join('\n')
    const tight = joinSplitWords(pieces)
    this.emit(path, role, false, true, tight === text ? text : `${text}\n\n${tight}`, false)
  }

  private emit(path: string, role: FieldRole, isKey: boolean, joined: boolean, raw: string, decoded: boolean, truncated = false, numeric = false, loose = false): void {
    if (raw.length === 0) return
    this.fields.push(new Field(path, role, isKey, joined, raw, decoded, truncated, numeric, loose))
  }
}

/** How many times longer than its string a field's normalised text may be (plus 1,024 units). */
const MAX_EXPANSION = 4

/** A field whose normalised text is computed on first read and then shared by every detector. */
class Field implements InspectField {
  private norm: NormalizedText | undefined
  constructor(
    readonly path: string,
    readonly role: FieldRole,
    readonly isKey: boolean,
    readonly joined: boolean,
    readonly raw: string,
    readonly decoded: boolean,
    readonly truncated: boolean,
    readonly numeric: boolean,
    readonly loose: boolean,
  ) {}
  get normalized(): NormalizedText {
    // Past this, the detectors would read many times the bytes the message had: a string made of
    // characters NFKC expands (U+FDFA is 18 units) fails closed instead. Text that merely uses them is
    // far below it.
    if (this.norm === undefined) this.norm = normalize(this.raw, MAX_EXPANSION * this.raw.length + 1024)
    return this.norm
  }
}

/**
 * The section whose string `requestState` is 2026-07-28 MRTR state (mcp-protocol.md §1.3), if any: the
 * server's `input_required` result, and the client's request that retries it. There it is the server's
 * opaque state, echoed back unread by the client, so no model reads or writes it (§3.1 "opaque; don't
 * parse"), and servers often sign it as a JWT, which the secret rules would redact and so break the
 * retry. Anywhere else (a notification, an error, a complete result, a 2025 revision) the protocol gives
 * the name no meaning, so it is an ordinary field: skipping it there would be a channel no detector reads.
 */
function mrtrStateSection(root: Record<string, unknown>, ctx: CollectContext): 'params' | 'result' | undefined {
  if (ctx.era !== 'modern') return undefined
  if (ctx.direction === 'client_to_server' && typeof root['method'] === 'string' && has(root, 'id')) return 'params'
  const result = root['result']
  if (ctx.direction === 'server_to_client' && isRecord(result) && result['resultType'] === 'input_required') return 'result'
  return undefined
}

function has(record: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(record, key)
}
