/**
 * One error type inside, one mapping to the wire. Every refusal the firewall makes is a `FirewallError`
 * with a tagged `problem`; `toWire()` is the only place that decides HTTP status, JSON-RPC code and the
 * message a client sees. Internal detail (origin errors, stack traces, which rule fired) never reaches it.
 */
import type { JsonRpcId, JsonValue } from './mcp/jsonrpc'

/** The firewall's own JSON-RPC error codes, outside -32768..-32000 as MCP 2026-07-28 asks of new codes. */
export const FirewallCode = {
  blocked: -31001,
  budgetExhausted: -31002,
  tenantDisabled: -31003,
  unauthorised: -31004,
  tenantNotFound: -31005,
  originUnavailable: -31006,
  originInvalid: -31007,
  rateLimited: -31008, // too many refused credentials from this client or for this tenant (docs/abuse.md)
} as const

export type Problem =
  | { kind: 'route_not_found' }
  | { kind: 'tenant_not_found' }
  | { kind: 'tenant_config_invalid' }
  | { kind: 'tenant_disabled' }
  | { kind: 'guard_unavailable' } //        the kill-switch state could not be read and is too old to trust
  | { kind: 'origin_forbidden' } //          browser Origin header not in the tenant's allow-list
  | { kind: 'method_not_allowed'; allow: string }
  | { kind: 'not_acceptable' }
  | { kind: 'unsupported_media_type' }
  | { kind: 'payload_too_large' }
  | { kind: 'parse_error' }
  | { kind: 'invalid_request'; reason: string }
  | { kind: 'unsupported_protocol_version'; code: number; supported?: string[] }
  | { kind: 'header_mismatch'; reason: string }
  | { kind: 'client_unauthorised' } //     an open stream's credential no longer admits its client (src/auth)
  | { kind: 'unknown_session' } //           a session id not issued to this client (src/auth/session-binding.ts)
  | { kind: 'origin_not_allowed' } //        the tenant's origin URL breaks the origin rules
  | { kind: 'origin_unreachable' }
  | { kind: 'origin_timeout' }
  | { kind: 'origin_error'; status: number }
  | { kind: 'origin_redirect' }
  | { kind: 'origin_invalid_response'; reason: string }
  | { kind: 'origin_refused'; status: number; challenge?: string } // the origin's own refusal (4xx), relayed
  | { kind: 'origin_no_answer' } //           a 2xx that leaves a forwarded request without its response
  | { kind: 'origin_response_too_large' }
  | { kind: 'rate_limited'; retryAfter: number } // seconds until the client may try again (src/abuse)
  | { kind: 'budget_exhausted'; scope: 'tenant' | 'client' | 'tool'; tool?: string; metric: 'tokens' | 'requests'; window: 'minute' | 'hour' | 'day' | 'month'; limit: number; resetsAt: string; retryAfter: number }
  | { kind: 'budget_unavailable' } // the budget object could not be reached and the tenant fails closed
  | { kind: 'internal' }

/** A refusal with a wire mapping. `id` is the JSON-RPC id to answer, when there is exactly one. */
export class FirewallError extends Error {
  constructor(
    readonly problem: Problem,
    readonly id: JsonRpcId | null = null,
  ) {
    super(problem.kind)
    this.name = 'FirewallError'
  }
}

export interface WireError {
  status: number
  code: number
  message: string
  data?: JsonValue
  headers?: Record<string, string>
}

/**
 * Maps a problem to what the client sees. Codes follow the SDK server's own transport errors where a
 * client may already handle them (mcp-protocol.md §1.5) and the firewall's codes otherwise.
 */
export function toWire(problem: Problem): WireError {
  switch (problem.kind) {
    case 'route_not_found':
      return { status: 404, code: -32601, message: 'Not found' }
    case 'tenant_not_found':
      return { status: 404, code: FirewallCode.tenantNotFound, message: 'Unknown MCP endpoint' }
    case 'tenant_config_invalid':
      return { status: 503, code: FirewallCode.tenantDisabled, message: 'Endpoint unavailable: configuration error' }
    case 'tenant_disabled':
      return { status: 503, code: FirewallCode.tenantDisabled, message: 'Endpoint disabled' }
    case 'guard_unavailable':
      return { status: 503, code: FirewallCode.tenantDisabled, message: 'Endpoint unavailable' }
    case 'origin_forbidden':
      return { status: 403, code: -32000, message: 'Forbidden: Origin not allowed' }
    case 'method_not_allowed':
      return { status: 405, code: -32000, message: 'Method not allowed', headers: { Allow: problem.allow } }
    case 'not_acceptable':
      return { status: 406, code: -32000, message: 'Not Acceptable: Accept must list application/json and text/event-stream' }
    case 'unsupported_media_type':
      return { status: 415, code: -32000, message: 'Unsupported Media Type: Content-Type must be application/json' }
    case 'payload_too_large':
      return { status: 413, code: -32000, message: 'Payload Too Large' }
    case 'parse_error':
      return { status: 400, code: -32700, message: 'Parse error' }
    case 'invalid_request':
      return { status: 400, code: -32600, message: `Invalid Request: ${problem.reason}` }
    case 'unsupported_protocol_version':
      return {
        status: 400,
        code: problem.code,
        message: 'Unsupported protocol version',
        ...(problem.supported ? { data: { supported: problem.supported } } : {}),
      }
    case 'header_mismatch':
      return { status: 400, code: -32020, message: `Header mismatch: ${problem.reason}` }
    case 'client_unauthorised': // what a refused credential gets (src/auth/challenge.ts), mid-stream
      return { status: 401, code: FirewallCode.unauthorised, message: 'Unauthorized' }
    case 'unknown_session': // the SDK server's answer, on which clients start a new session
      return { status: 404, code: -32001, message: 'Session not found' }
    case 'origin_not_allowed':
      return { status: 502, code: FirewallCode.originUnavailable, message: 'Origin unavailable' }
    case 'origin_unreachable':
      return { status: 502, code: FirewallCode.originUnavailable, message: 'Origin unavailable' }
    case 'origin_timeout':
      return { status: 504, code: FirewallCode.originUnavailable, message: 'Origin timed out' }
    case 'origin_error':
      return { status: 502, code: FirewallCode.originUnavailable, message: 'Origin error' }
    case 'origin_redirect':
      return { status: 502, code: FirewallCode.originInvalid, message: 'Origin answered with a redirect' }
    case 'origin_invalid_response':
      return { status: 502, code: FirewallCode.originInvalid, message: 'Origin sent a response the firewall cannot inspect' }
    case 'origin_refused':
      return { status: problem.status, code: -32000, message: `Origin refused the request (HTTP ${problem.status})`, ...(problem.challenge ? { headers: { 'WWW-Authenticate': problem.challenge } } : {}) }
    case 'origin_no_answer':
      return { status: 502, code: FirewallCode.originInvalid, message: 'Origin did not answer the request' }
    case 'origin_response_too_large':
      return { status: 502, code: FirewallCode.originInvalid, message: 'Origin response too large to inspect' }
    case 'rate_limited':
      return { status: 429, code: FirewallCode.rateLimited, message: 'Too many requests', headers: { 'Retry-After': String(problem.retryAfter) } }
    case 'budget_exhausted': { // HTTP 200 like a policy block, so SDK clients raise McpError with the code
      const { scope, tool, metric, window, limit, resetsAt, retryAfter } = problem
      const data = { scope, ...(tool !== undefined ? { tool } : {}), metric, window, limit, resetsAt, retryAfter }
      return { status: 200, code: FirewallCode.budgetExhausted, message: 'Budget exhausted', data, headers: { 'Retry-After': String(retryAfter) } }
    }
    case 'budget_unavailable':
      return { status: 503, code: FirewallCode.tenantDisabled, message: 'Endpoint unavailable' }
    case 'internal':
      return { status: 500, code: -32603, message: 'Internal error' }
  }
}

/** The JSON-RPC error body for a wire error. `data` always carries the request id for operators. */
export function errorBody(wire: WireError, id: JsonRpcId | null, requestId: string): string {
  const data = { ...(isObject(wire.data) ? wire.data : {}), requestId }
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code: wire.code, message: wire.message, data } })
}

function isObject(v: JsonValue | undefined): v is { [k: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
