/**
 * 2026-07-28 request metadata headers (streamable-http §"Request Metadata"): `Mcp-Method`, `Mcp-Name`
 * and `Mcp-Param-{Name}` mirror body fields so intermediaries can route without parsing. A component
 * that processes the body MUST check them against it (§"Server Validation"), or a load balancer routing
 * on the header and the origin executing the body would act on different requests.
 *
 * Policy is always decided on the body; these functions only check, and after redaction restore,
 * consistency (mcp-protocol.md §4.7).
 */
import { base64 } from '../base64'
import { getOwn, isJsonObject, isResponse, type JsonObject, type JsonRpcMessage, type JsonValue } from './jsonrpc'

export const METHOD_HEADER = 'Mcp-Method'
export const NAME_HEADER = 'Mcp-Name'
export const PARAM_HEADER_PREFIX = 'mcp-param-'

const SENTINEL_PREFIX = '=?base64?'
const SENTINEL_SUFFIX = '?='
/** Field-value characters RFC 9110 §5.5 allows: visible ASCII, space, tab. */
const PLAIN_VALUE = /^[\t\x20-\x7e]*$/
/** Sendable without encoding: visible ASCII, inner spaces only (§"Value Encoding"). */
const SAFE_PLAIN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
/** JSON number syntax: integers compare numerically ("42.0" equals 42, §"Server Validation" note). */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Which body field `Mcp-Name` mirrors, per method (§"Standard Request Headers"), and for the requests of the
 * Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663), whose Streamable HTTP binding has the client
 * name the task (`params.taskId`) so that every request about it can be routed to where it runs.
 */
const NAME_FIELD: ReadonlyMap<string, 'name' | 'uri' | 'taskId'> = new Map([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
  ['tasks/get', 'taskId'],
  ['tasks/update', 'taskId'],
  ['tasks/cancel', 'taskId'],
])

/**
 * Where a `Mcp-Param-{header}` value lives in `params.arguments`, from the tool's `x-mcp-header`
 * annotation (`server/tools` §"x-mcp-header"). Supply these when the tool schema is known; without
 * them a header is matched to the top-level argument with the same name, case-insensitively.
 */
export interface ParamHeaderBinding {
  /** The `x-mcp-header` value, i.e. the part after `Mcp-Param-`; must be a valid field-name token (checked when the tool list is accepted). */
  header: string
  /** Property path inside `params.arguments`. */
  path: readonly string[]
}

export interface HeaderCheckOptions {
  bindings?: readonly ParamHeaderBinding[]
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/**
 * The `x-mcp-header` bindings a tool's `inputSchema` declares, at any depth of `properties`; values that
 * are not header-name tokens are skipped (no client could send them).
 */
export function paramBindings(inputSchema: JsonValue | undefined): ParamHeaderBinding[] {
  const out: ParamHeaderBinding[] = []
  const visit = (schema: JsonValue | undefined, path: string[]): void => {
    if (!isJsonObject(schema) || path.length > 16) return
    const header = getOwn(schema, 'x-mcp-header')
    if (path.length > 0 && typeof header === 'string' && TOKEN.test(header)) out.push({ header, path })
    const properties = getOwn(schema, 'properties')
    if (!isJsonObject(properties)) return
    for (const key of Object.keys(properties)) visit(getOwn(properties, key), [...path, key])
  }
  visit(inputSchema, [])
  return out
}

/**
 * Decodes a metadata header value: `=?base64?…?=` is canonical base64 of UTF-8 (§"Value Encoding");
 * anything else must be plain field-value text. Returns null for a malformed value (non-canonical
 * base64, invalid UTF-8, characters outside RFC 9110 field values), which the caller rejects.
 */
export function decodeHeaderValue(raw: string): string | null {
  if (raw.length >= SENTINEL_PREFIX.length + SENTINEL_SUFFIX.length && raw.startsWith(SENTINEL_PREFIX) && raw.endsWith(SENTINEL_SUFFIX)) {
    const b64 = raw.slice(SENTINEL_PREFIX.length, raw.length - SENTINEL_SUFFIX.length)
    if (!BASE64.test(b64)) return null
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
    // Non-canonical padding bits decode "successfully" in some decoders and fail in others: refuse.
    if (base64(bytes) !== b64) return null
    try {
      return utf8.decode(bytes)
    } catch {
      return null
    }
  }
  return PLAIN_VALUE.test(raw) ? raw : null
}

/**
 * Encodes a value for a metadata header: plain when it is non-empty visible ASCII without edge
 * whitespace and does not look like the sentinel, else `=?base64?{base64 of UTF-8}?=` (§"Value Encoding").
 * Empty values are encoded too, since some intermediaries drop empty headers.
 *
 * @example encodeHeaderValue('Hello, 世界') // '=?base64?SGVsbG8sIOS4lueVjA==?='
 */
export function encodeHeaderValue(value: string): string {
  const looksEncoded = value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX)
  if (SAFE_PLAIN.test(value) && !looksEncoded) return value
  return SENTINEL_PREFIX + base64(new TextEncoder().encode(value)) + SENTINEL_SUFFIX
}

/**
 * Checks 2026-07-28 metadata headers against the body (§"Server Validation"):
 * - `Mcp-Method` equals `method`, and is required on every request; a notification may leave it out, as the
 *   standard headers table requires it of requests and the v2 SDK client sends its `notifications/cancelled`
 *   without it (a notification without it names nothing else either: `Mcp-Name` is refused there);
 * - `Mcp-Name` is required for tools/call and prompts/get (`params.name`), resources/read
 *   (`params.uri`) and the Tasks extension's tasks/get, tasks/update and tasks/cancel (`params.taskId`),
 *   and refused on other methods, where nothing validates it;
 * - each `Mcp-Param-*` header that names an argument equals that argument's string form (integers
 *   numerically). A header naming no argument is forwarded unchecked, as the spec requires of
 *   intermediaries that do not recognise it; with `bindings`, a bound argument present in the body
 *   without its header is refused ("Client omits header but value is in body").
 * Values may be base64-encoded. Responses are refused: 2026-07-28 clients MUST NOT send them.
 * A failure maps to HTTP 400 (optionally `-32020` HeaderMismatch).
 */
export function checkRequestMetadataHeaders(headers: Headers, message: JsonRpcMessage, opts: HeaderCheckOptions = {}): { ok: true } | { ok: false; reason: string } {
  if (isResponse(message)) return fail('clients must not send responses in 2026-07-28')
  const method = headers.get(METHOD_HEADER)
  if (method === null && 'id' in message) return fail(`missing ${METHOD_HEADER} header`)
  if (method !== null) {
    const methodValue = decodeHeaderValue(method)
    if (methodValue === null) return fail(`malformed ${METHOD_HEADER} header`)
    if (methodValue !== message.method) return fail(`${METHOD_HEADER} does not match the body method`)
  }

  const params = message.params ?? {}
  const nameField = NAME_FIELD.get(message.method)
  const name = headers.get(NAME_HEADER)
  if (nameField === undefined) {
    if (name !== null) return fail(`${NAME_HEADER} is not defined for ${message.method}`)
  } else {
    if (name === null) return fail(`missing ${NAME_HEADER} header`)
    const nameValue = decodeHeaderValue(name)
    if (nameValue === null) return fail(`malformed ${NAME_HEADER} header`)
    if (nameValue !== getOwn(params, nameField)) return fail(`${NAME_HEADER} does not match params.${nameField}`)
  }

  if (message.method !== 'tools/call') return { ok: true }
  const args = getOwn(params, 'arguments')
  const argumentsObject = isJsonObject(args) ? args : {}
  for (const [headerName, raw] of headers) {
    if (!headerName.startsWith(PARAM_HEADER_PREFIX)) continue
    const suffix = headerName.slice(PARAM_HEADER_PREFIX.length)
    const target = resolveParam(suffix, argumentsObject, opts.bindings)
    if (target.kind === 'unknown') continue
    if (target.kind === 'ambiguous') return fail(`Mcp-Param-${suffix} matches several arguments`)
    const decoded = decodeHeaderValue(raw)
    if (decoded === null) return fail(`malformed Mcp-Param-${suffix} header`)
    if (target.value === undefined || target.value === null) return fail(`Mcp-Param-${suffix} sent without its argument`)
    if (!headerMatchesValue(decoded, target.value)) return fail(`Mcp-Param-${suffix} does not match its argument`)
  }
  for (const binding of opts.bindings ?? []) {
    const value = valueAt(argumentsObject, binding.path)
    if (value !== undefined && value !== null && !headers.has(`Mcp-Param-${binding.header}`)) return fail(`missing Mcp-Param-${binding.header} header`)
  }
  return { ok: true }
}

/**
 * Recomputes `Mcp-Method`, `Mcp-Name` and the `Mcp-Param-*` headers from a redacted body, so the
 * origin's own header/body check still passes and no header still carries a value the body no longer
 * has (mcp-protocol.md §4.7). Every `Mcp-Param-*` header is removed, then one is set for each argument
 * a header named (by name, or by `bindings`) that is still a primitive in the body. Dropping headers the
 * firewall cannot recompute departs from "forward unknown Mcp-Param-*": such a header may mirror the
 * text just redacted, and if the origin needed it, it rejects the request instead of leaking.
 * Returns a new Headers; the input is not changed.
 */
export function rewriteParamHeaders(headers: Headers, message: JsonRpcMessage, opts: HeaderCheckOptions = {}): Headers {
  const out = new Headers(headers)
  if (isResponse(message)) return out
  out.set(METHOD_HEADER, encodeHeaderValue(message.method))
  const params = message.params ?? {}
  const nameField = NAME_FIELD.get(message.method)
  const name = nameField === undefined ? undefined : getOwn(params, nameField)
  if (typeof name === 'string') out.set(NAME_HEADER, encodeHeaderValue(name))
  else out.delete(NAME_HEADER)

  const args = message.method === 'tools/call' ? getOwn(params, 'arguments') : undefined
  const argumentsObject = isJsonObject(args) ? args : {}
  for (const headerName of [...headers.keys()]) {
    if (!headerName.startsWith(PARAM_HEADER_PREFIX)) continue
    out.delete(headerName)
    const target = resolveParam(headerName.slice(PARAM_HEADER_PREFIX.length), argumentsObject, opts.bindings)
    const text = target.kind === 'found' ? stringForm(target.value) : undefined
    if (text !== undefined) out.set(headerName, encodeHeaderValue(text))
  }
  for (const binding of opts.bindings ?? []) {
    const text = stringForm(valueAt(argumentsObject, binding.path))
    if (text !== undefined) out.set(`Mcp-Param-${binding.header}`, encodeHeaderValue(text))
  }
  return out
}

type ParamTarget = { kind: 'found'; value: JsonValue | undefined } | { kind: 'unknown' } | { kind: 'ambiguous' }

/** The argument a `Mcp-Param-{suffix}` header mirrors. Header names are case-insensitive (§"Case Sensitivity"). */
function resolveParam(suffix: string, args: JsonObject, bindings: readonly ParamHeaderBinding[] | undefined): ParamTarget {
  if (bindings !== undefined) {
    const binding = bindings.find((b) => b.header.toLowerCase() === suffix)
    return binding === undefined ? { kind: 'unknown' } : { kind: 'found', value: valueAt(args, binding.path) }
  }
  const keys = Object.keys(args).filter((key) => key.toLowerCase() === suffix)
  if (keys.length > 1) return { kind: 'ambiguous' }
  const key = keys[0]
  return key === undefined ? { kind: 'unknown' } : { kind: 'found', value: getOwn(args, key) }
}

function valueAt(root: JsonObject, path: readonly string[]): JsonValue | undefined {
  let node: JsonValue | undefined = root
  for (const key of path) {
    if (!isJsonObject(node)) return undefined
    node = getOwn(node, key)
  }
  return node
}

/** A primitive argument as a header carries it: strings as-is, integers in decimal, booleans lowercase. */
function stringForm(value: JsonValue | undefined): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'boolean' || typeof value === 'number') return String(value)
  return undefined
}

function headerMatchesValue(decoded: string, value: JsonValue): boolean {
  if (typeof value === 'number') return JSON_NUMBER.test(decoded) && Number(decoded) === value
  return stringForm(value) === decoded
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason }
}
