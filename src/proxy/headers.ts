/**
 * Header hygiene in both directions (mcp-protocol.md §4.8). Both directions use allow-lists: a header
 * the firewall does not know is not forwarded, so hop-by-hop headers, `Host`, `Cookie`, `cf-*`,
 * `Content-Length` and `Content-Encoding` never cross it.
 */
import { isSupportedVersion } from '../mcp/era'

const TO_ORIGIN = new Set(['accept', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'authorization'])

/**
 * What the origin sees as the client software. The client's own `User-Agent` is free text that no
 * detector reads and that MCP gives no meaning, so it is replaced rather than passed on unread.
 */
export const ORIGIN_USER_AGENT = 'mcp-edge-firewall/1'

/**
 * Headers for the origin request. `Authorization` passes through unchanged unless `forwardAuthorization`
 * is false. The 2026-07-28 request metadata headers are not among them: see {@link withRequestMetadata}.
 */
export function originRequestHeaders(incoming: Headers, opts: { forwardAuthorization: boolean }): Headers {
  const out = new Headers()
  incoming.forEach((value, name) => {
    const lower = name.toLowerCase()
    if (lower === 'authorization' && !opts.forwardAuthorization) return
    if (TO_ORIGIN.has(lower)) out.set(lower, value)
  })
  out.set('user-agent', ORIGIN_USER_AGENT)
  // Workers' fetch decompresses anyway; identity keeps the origin from buffering to compress.
  out.set('accept-encoding', 'identity')
  return out
}

/**
 * Adds the client's 2026-07-28 request metadata headers (`Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`,
 * streamable-http §"Request Metadata") to `out`. They carry client text beside the body, so only a
 * 2026-07-28 POST whose headers were checked against its body and whose other `Mcp-Param-*` values were
 * scanned may forward them (unknown ones too, as that revision requires); earlier revisions and GET or
 * DELETE define none, and there they are dropped.
 */
export function withRequestMetadata(out: Headers, incoming: Headers): Headers {
  incoming.forEach((value, name) => {
    const lower = name.toLowerCase()
    if (lower === 'mcp-method' || lower === 'mcp-name' || lower.startsWith('mcp-param-')) out.set(lower, value)
  })
  return out
}

/**
 * The origin response headers a client may see, each with the form its value must have. They reach the
 * client beside the inspected body, so free text in one would be a channel no detector reads: a value
 * that is not what the header defines is dropped. `Content-Type` is not among them: the firewall labels
 * every body it sends itself.
 */
const TO_CLIENT: ReadonlyMap<string, (value: string, status: number) => boolean> = new Map([
  // Visible ASCII (transports §"Session Management"); the spec sets no length, UUIDs and signed tokens fit.
  ['mcp-session-id', (v) => /^[\x21-\x7e]{1,256}$/.test(v)],
  ['mcp-protocol-version', (v) => isSupportedVersion(v)],
  // Delay-seconds or an IMF-fixdate (RFC 9110 §10.2.3).
  ['retry-after', (v) => /^\d{1,10}$/.test(v) || /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)],
  ['allow', (v) => /^[A-Z]{1,16}(?: *, *[A-Z]{1,16}){0,15}$/.test(v)],
  ['cache-control', (v) => v.split(',').every((d) => CACHE_DIRECTIVE.test(d.trim()))],
  // A challenge belongs to a refusal of credentials (RFC 9110 §11.6.1); an OAuth challenge is short.
  ['www-authenticate', (v, status) => (status === 401 || status === 403) && /^[\x20-\x7e]{1,1024}$/.test(v)],
])

/** A standard response directive (RFC 9111 §5.2.2, RFC 8246, RFC 5861), with a number where it takes one. */
const CACHE_DIRECTIVE = /^(?:no-cache|no-store|no-transform|public|private|must-revalidate|proxy-revalidate|must-understand|immutable|(?:max-age|s-maxage|stale-while-revalidate|stale-if-error)=\d{1,10})$/i

/**
 * Headers for the client response; the body is always re-encoded by the firewall. An origin header whose
 * value does not have its header's form is dropped and logged by name (never by value).
 */
export function clientResponseHeaders(upstream: Response, requestId: string): Headers {
  const out = new Headers()
  upstream.headers.forEach((value, name) => {
    const wellFormed = TO_CLIENT.get(name.toLowerCase())
    if (wellFormed === undefined) return
    if (wellFormed(value, upstream.status)) out.set(name, value)
    else console.warn(JSON.stringify({ event: 'origin_header_dropped', requestId, header: name.toLowerCase() }))
  })
  out.set('x-request-id', requestId)
  return out
}

/** The media type of a `Content-Type` value, lower-cased and without parameters (`''` when absent). */
export function mediaType(value: string | null): string {
  return (value ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}

/** The media types an `Accept` header lists, each as {@link mediaType} reads it. */
export function acceptedTypes(accept: string | null): string[] {
  return (accept ?? '').split(',').map(mediaType)
}

/** Headers every SSE response carries (mcp-protocol.md §4.2). */
export function applySseHeaders(headers: Headers): Headers {
  headers.set('content-type', 'text/event-stream')
  headers.set('cache-control', 'no-cache, no-transform')
  headers.set('x-accel-buffering', 'no')
  return headers
}
