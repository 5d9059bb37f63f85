/**
 * JSON-RPC 2.0 message types as MCP uses them. Parsing and validation live beside these types.
 *
 * The firewall forwards its own serialisation of exactly what it inspected (DESIGN.md, "No parser
 * differential"), so the parser refuses anything two JSON parsers could read differently: numeric ids
 * beyond 2^53, nesting too deep to inspect, and shapes MCP never sends (array params, batches of nothing).
 */
import { exceedsDepth, getOwn, isJsonObject } from './json'

export { cloneJson, getOwn, isJsonObject } from './json'

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject
export interface JsonObject {
  [key: string]: JsonValue
}

export type JsonRpcId = string | number

export interface JsonRpcRequest {
  jsonrpc: '2.0'
  id: JsonRpcId
  method: string
  params?: JsonObject
}
export interface JsonRpcNotification {
  jsonrpc: '2.0'
  method: string
  params?: JsonObject
}
export interface JsonRpcResultResponse {
  jsonrpc: '2.0'
  id: JsonRpcId
  result: JsonObject
}
export interface JsonRpcErrorObject {
  code: number
  message: string
  data?: JsonValue
}
export interface JsonRpcErrorResponse {
  jsonrpc: '2.0'
  id: JsonRpcId | null
  error: JsonRpcErrorObject
}
export type JsonRpcResponse = JsonRpcResultResponse | JsonRpcErrorResponse
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse

/** A POST body or SSE `data:` payload: one message, or (2025-03-26 only) a batch. */
export type ParsedBody = { kind: 'single'; message: JsonRpcMessage } | { kind: 'batch'; messages: JsonRpcMessage[] }

export type ParseBodyResult =
  | { ok: true; value: ParsedBody }
  | { ok: false; code: typeof ErrorCode.ParseError | typeof ErrorCode.InvalidRequest; reason: string }

export interface ParseBodyOptions {
  /** Deepest `[`/`{` nesting accepted; the message object itself is depth 1, a batch array adds one. */
  maxDepth: number
  /** Largest batch accepted (the SDK server uses 100). Unlimited when absent. */
  maxBatchSize?: number
}

/**
 * JSON-RPC and MCP error codes the firewall emits or recognises. `-32000..-32019` are legacy
 * implementation codes; `-32020..-32099` are reserved by 2026-07-28 (`basic/index.mdx` §"Error Codes").
 */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Legacy SDK transport errors (bad Accept, unsupported version, missing session). */
  LegacyServerError: -32000,
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const

/**
 * Parses and validates a POST body or SSE data payload. Invalid JSON gives `-32700`; valid JSON that
 * is not a JSON-RPC 2.0 message (or a non-empty batch of them) gives `-32600`. Nesting is checked
 * before `JSON.parse` so hostile depth cannot overflow the stack. `reason` is for logs, not the wire.
 *
 * @example parseJsonBody(await req.text(), { maxDepth: 64 })
 */
export function parseJsonBody(text: string, opts: ParseBodyOptions): ParseBodyResult {
  if (!Number.isSafeInteger(opts.maxDepth) || opts.maxDepth < 1) throw new RangeError('maxDepth must be a positive integer')
  if (exceedsDepth(text, opts.maxDepth)) return invalid(`nesting deeper than ${opts.maxDepth}`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, code: ErrorCode.ParseError, reason: 'invalid JSON' }
  }
  if (!Array.isArray(value)) {
    const problem = messageProblem(value)
    if (problem !== undefined) return invalid(problem)
    return { ok: true, value: { kind: 'single', message: ownMembers(value as JsonObject) } }
  }
  if (value.length === 0) return invalid('empty batch')
  if (opts.maxBatchSize !== undefined && value.length > opts.maxBatchSize) return invalid(`batch larger than ${opts.maxBatchSize}`)
  // Two requests under one id would share one answer, and whatever the firewall tracks per request
  // (the tool a response must fit, the budget it is charged to) would be the other's.
  const requestIds = new Set<string>()
  for (const [index, element] of value.entries()) {
    const problem = messageProblem(element)
    if (problem !== undefined) return invalid(`batch element ${index}: ${problem}`)
    const m = element as Record<string, unknown>
    if (typeof m['method'] !== 'string' || !('id' in m)) continue
    const key = `${typeof m['id']}:${String(m['id'])}`
    if (requestIds.has(key)) return invalid(`batch element ${index}: request id used twice`)
    requestIds.add(key)
  }
  // Every element was validated above; the cast only restates what messageProblem checked.
  return { ok: true, value: { kind: 'batch', messages: (value as JsonObject[]).map(ownMembers) } }
}

const REQUEST_MEMBERS = new Set(['jsonrpc', 'id', 'method', 'params'])
const RESPONSE_MEMBERS = new Set(['jsonrpc', 'id', 'result', 'error'])

/**
 * A message with only the members JSON-RPC 2.0 defines for its kind. Anything else beside them is neither
 * inspected (the pipeline walks a request's params, a response's result or error) nor meaningful to a
 * peer, so it is not passed on: the firewall forwards only what it inspected. A response has no params.
 */
function ownMembers(m: JsonObject): JsonRpcMessage {
  const members = Object.hasOwn(m, 'method') ? REQUEST_MEMBERS : RESPONSE_MEMBERS
  const keys = Object.keys(m)
  if (keys.every((k) => members.has(k))) return m as unknown as JsonRpcMessage
  const out: JsonObject = {}
  for (const k of keys) if (members.has(k)) out[k] = m[k] as JsonValue
  return out as unknown as JsonRpcMessage
}

function invalid(reason: string): ParseBodyResult {
  return { ok: false, code: ErrorCode.InvalidRequest, reason }
}

/**
 * Method names are identifiers (`tools/call`, `notifications/message`, a vendor's `x.acme/sync`), never
 * prose. A name with spaces, controls or non-ASCII text would carry words into a field no detector reads
 * (clients dispatch on it, the model never sees it), so it is refused in both directions.
 */
const METHOD_NAME = /^[\x21-\x7e]{1,128}$/

/** Why `value` is not a JSON-RPC 2.0 message as MCP uses it, or undefined when it is one. */
function messageProblem(value: unknown): string | undefined {
  if (!isJsonObject(value)) return 'message is not an object'
  if (getOwn(value, 'jsonrpc') !== '2.0') return 'jsonrpc must be "2.0"'
  const hasResult = Object.hasOwn(value, 'result')
  const hasError = Object.hasOwn(value, 'error')
  if (Object.hasOwn(value, 'method')) {
    if (typeof value.method !== 'string') return 'method must be a string'
    if (!METHOD_NAME.test(value.method)) return 'method must be 1 to 128 printable ASCII characters without spaces'
    if (hasResult || hasError) return 'a request must not carry result or error'
    if (Object.hasOwn(value, 'id') && !isValidId(value.id)) return `id must be ${ID_RULE}`
    // JSON-RPC allows array params; MCP always sends an object (schema.ts `params?: {...}`).
    if (Object.hasOwn(value, 'params') && !isJsonObject(value.params)) return 'params must be an object'
    return undefined
  }
  if (!hasResult && !hasError) return 'message has no method, result or error'
  if (hasResult && hasError) return 'response has both result and error'
  if (!Object.hasOwn(value, 'id')) return 'response has no id'
  if (hasResult) {
    if (!isValidId(value.id)) return `id must be ${ID_RULE}`
    if (!isJsonObject(value.result)) return 'result must be an object'
    return undefined
  }
  // JSON-RPC 2.0 §5: the id is null when the request's id could not be determined.
  if (value.id !== null && !isValidId(value.id)) return `id must be ${ID_RULE}, or null`
  const error = value.error
  if (!isJsonObject(error)) return 'error must be an object'
  if (!Number.isSafeInteger(getOwn(error, 'code'))) return 'error.code must be an integer'
  if (typeof getOwn(error, 'message') !== 'string') return 'error.message must be a string'
  return undefined
}

/**
 * MCP ids are strings or integers (schema.ts `RequestId`). A number past 2^53 was already rounded by
 * `JSON.parse`, so forwarding it would answer a different id than the client sent: refuse it.
 */
function isValidId(id: JsonValue | undefined): boolean {
  return typeof id === 'string' ? STRING_ID.test(id) : Number.isSafeInteger(id)
}

/**
 * String ids are correlation handles the sender's software picks (UUIDs, `req-1`, nanoids, base64), never
 * prose. Like method names, an id is echoed between client and origin in a place no detector reads, so an
 * id that could hold words, markup or a long secret is refused in both directions.
 */
const STRING_ID = /^[A-Za-z0-9._~:/+=@#-]{1,128}$/
const ID_RULE = 'a safe integer or 1 to 128 letters, digits and ._~:/+=@#-'

/** The four JSON-RPC message shapes. */
export type MessageKind = 'request' | 'notification' | 'result' | 'error'

/** A request: `method` and `id` (expects a response). */
export function isRequest(m: JsonRpcMessage): m is JsonRpcRequest {
  return Object.hasOwn(m, 'method') && Object.hasOwn(m, 'id')
}

/** A notification: `method` without `id` (never answered; blocked ones are dropped, mcp-protocol.md §4.5). */
export function isNotification(m: JsonRpcMessage): m is JsonRpcNotification {
  return Object.hasOwn(m, 'method') && !Object.hasOwn(m, 'id')
}

/** A response: no `method`, carries `result` or `error`. Its method is only known from the request (§4.4). */
export function isResponse(m: JsonRpcMessage): m is JsonRpcResponse {
  return !Object.hasOwn(m, 'method')
}

/** An error response. */
export function isErrorResponse(m: JsonRpcMessage): m is JsonRpcErrorResponse {
  return isResponse(m) && Object.hasOwn(m, 'error')
}

/** A successful response. */
export function isResultResponse(m: JsonRpcMessage): m is JsonRpcResultResponse {
  return isResponse(m) && Object.hasOwn(m, 'result')
}

/** Which of the four shapes a validated message has. */
export function messageKind(m: JsonRpcMessage): MessageKind {
  if (isRequest(m)) return 'request'
  if (isNotification(m)) return 'notification'
  return isErrorResponse(m) ? 'error' : 'result'
}

/**
 * Builds an error response. Use the request's own id (never rewrite ids, mcp-protocol.md §4.3) or
 * null when it is unknown (transport-level refusals, §4.5).
 *
 * @example jsonRpcError(7, -31001, 'Blocked by MCP firewall: policy', { requestId })
 */
export function jsonRpcError(id: JsonRpcId | null, code: number, message: string, data?: JsonValue): JsonRpcErrorResponse {
  const error: JsonRpcErrorObject = data === undefined ? { code, message } : { code, message, data }
  return { jsonrpc: '2.0', id, error }
}

/** The wire form the firewall forwards: `JSON.stringify`, which never emits raw newlines (SSE-safe). */
export function serialize(message: JsonRpcMessage | JsonRpcMessage[]): string {
  return JSON.stringify(message)
}
