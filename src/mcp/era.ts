/**
 * MCP protocol revisions and their eras. Legacy revisions (2025-03-26 … 2025-11-25) use the
 * initialize handshake and sessions; 2026-07-28 is stateless (mcp-protocol.md §0).
 */
import { ErrorCode, getOwn, isJsonObject, isRequest, type JsonRpcMessage, type JsonValue, type ParsedBody } from './jsonrpc'

export type ProtocolEra = 'legacy' | 'modern'

/** Every revision the firewall understands, oldest first (mcp-protocol.md §0). */
export const SUPPORTED_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28'] as const
export type ProtocolVersion = (typeof SUPPORTED_VERSIONS)[number]

/** The newest revision that still uses `initialize`; what a legacy client gets when it asks for something else. */
export const LATEST_LEGACY_VERSION = '2025-11-25' satisfies ProtocolVersion
/** First stateless revision: no sessions, no `initialize`, per-request `_meta` (§1.3). */
export const FIRST_MODERN_VERSION = '2026-07-28' satisfies ProtocolVersion
/** Assumed when no header says otherwise (2025-06-18 transports §"Protocol Version Header"). */
export const DEFAULT_VERSION = '2025-03-26' satisfies ProtocolVersion
/** The `_meta` key a 2026-07-28 request carries its version under. */
export const PROTOCOL_VERSION_META_KEY = 'io.modelcontextprotocol/protocolVersion'
export const PROTOCOL_VERSION_HEADER = 'MCP-Protocol-Version'

export type ProtocolDetection =
  | { ok: true; version: ProtocolVersion; era: ProtocolEra; source: 'header' | 'initialize' | 'default' }
  | { ok: false; status: 400; code: number; reason: string; data?: { supported: string[] } }

/** True for a revision in SUPPORTED_VERSIONS. */
export function isSupportedVersion(value: string): value is ProtocolVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(value)
}

/** The era of a supported revision. Dates compare correctly as strings. */
export function eraOf(version: ProtocolVersion): ProtocolEra {
  return version >= FIRST_MODERN_VERSION ? 'modern' : 'legacy'
}

/**
 * Whether a POST body may be a JSON-RPC batch. Only 2025-03-26 allowed batches; 2025-06-18 removed
 * them (changelog "Major changes" #1) and 2026-07-28 requires a single message. SDK 1.32.2 servers
 * still *accept* arrays under a 2025-11-25 header (mcp-protocol.md §1.5), which is exactly why the
 * firewall refuses them for the revisions that removed them instead of trusting the origin to.
 */
export function batchesAllowed(version: ProtocolVersion): boolean {
  return version === '2025-03-26'
}

/**
 * Decides which revision a request speaks (mcp-protocol.md §0, §1.2, §1.3):
 * - `MCP-Protocol-Version` wins. An unsupported value is a 400: `-32022` with `data.supported` when it
 *   looks like a newer (modern) revision, else the legacy SDK's `-32000`.
 * - Otherwise an `initialize` request is legacy: its `params.protocolVersion` when that is a supported
 *   legacy revision, else the latest legacy one (what a legacy server would negotiate).
 * - Otherwise 2025-03-26.
 *
 * Then the body must fit: a batch only where batchesAllowed (else `-32600`; `initialize` never in a
 * batch, 2025-03-26 lifecycle), and every message's `params._meta["io.modelcontextprotocol/protocolVersion"]`,
 * when present, must equal the resolved version, else `-32020` HeaderMismatch (2026-07-28
 * streamable-http §"Protocol Version Header"). The spec states that rule for modern requests; the
 * firewall applies it in every era, because an origin that picks its era from `_meta` while the firewall
 * picks it from the header would inspect and execute different protocols.
 */
export function detectProtocol(headers: Headers, body: ParsedBody | undefined): ProtocolDetection {
  const resolved = resolveVersion(headers, body)
  if (!resolved.ok) return resolved
  if (body?.kind === 'batch') {
    if (!batchesAllowed(resolved.version)) return refuse(ErrorCode.InvalidRequest, `JSON-RPC batches are not allowed in ${resolved.version}`)
    if (body.messages.some((m) => isRequest(m) && m.method === 'initialize')) return refuse(ErrorCode.InvalidRequest, 'initialize must not be part of a batch')
  }
  const messages = body === undefined ? [] : body.kind === 'single' ? [body.message] : body.messages
  for (const message of messages) {
    const claimed = metaProtocolVersion(message)
    if (claimed !== undefined && claimed !== resolved.version) {
      return refuse(ErrorCode.HeaderMismatch, `${PROTOCOL_VERSION_HEADER} does not match params._meta protocolVersion`)
    }
  }
  return resolved
}

function resolveVersion(headers: Headers, body: ParsedBody | undefined): ProtocolDetection {
  const header = headers.get(PROTOCOL_VERSION_HEADER)
  if (header !== null) {
    if (!isSupportedVersion(header)) return unsupported(header)
    return { ok: true, version: header, era: eraOf(header), source: 'header' }
  }
  if (body?.kind === 'single' && isRequest(body.message) && body.message.method === 'initialize') {
    const asked = body.message.params === undefined ? undefined : getOwn(body.message.params, 'protocolVersion')
    const version = typeof asked === 'string' && isSupportedVersion(asked) && eraOf(asked) === 'legacy' ? asked : LATEST_LEGACY_VERSION
    return { ok: true, version, era: 'legacy', source: 'initialize' }
  }
  return { ok: true, version: DEFAULT_VERSION, era: 'legacy', source: 'default' }
}

function unsupported(value: string): ProtocolDetection {
  // A date newer than every legacy revision is a modern client: answer in the modern shape so it can
  // retry with an advertised version instead of falling back to initialize (streamable-http §"Backward Compatibility").
  const looksModern = /^\d{4}-\d{2}-\d{2}$/.test(value) && value > LATEST_LEGACY_VERSION
  if (looksModern) {
    return { ...refuse(ErrorCode.UnsupportedProtocolVersion, 'unsupported protocol version'), data: { supported: [...SUPPORTED_VERSIONS] } }
  }
  return refuse(ErrorCode.LegacyServerError, `unsupported ${PROTOCOL_VERSION_HEADER}`)
}

function refuse(code: number, reason: string): { ok: false; status: 400; code: number; reason: string } {
  return { ok: false, status: 400, code, reason }
}

/** `params._meta["io.modelcontextprotocol/protocolVersion"]` as sent (any JSON type), or undefined when absent. */
export function metaProtocolVersion(message: JsonRpcMessage): JsonValue | undefined {
  if (!('params' in message) || message.params === undefined) return undefined
  const meta = getOwn(message.params, '_meta')
  return isJsonObject(meta) ? getOwn(meta, PROTOCOL_VERSION_META_KEY) : undefined
}
