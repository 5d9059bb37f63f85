/**
 * Header hygiene in both directions (mcp-protocol.md §4.8). Both directions use allow-lists: a header
 * the firewall does not know is not forwarded, so hop-by-hop headers, `Host`, `Cookie`, `cf-*`,
 * `Content-Length` and `Content-Encoding` never cross it.
 */

const TO_ORIGIN = new Set(['accept', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'authorization'])

/**
 * What the origin sees as the client software. The client's own `User-Agent` is free text that no
 * detector reads and that MCP gives no meaning, so it is replaced rather than passed on unread.
 */
export const ORIGIN_USER_AGENT = 'mcp-edge-firewall/1'

const TO_CLIENT = new Set(['content-type', 'mcp-session-id', 'mcp-protocol-version', 'www-authenticate', 'cache-control', 'retry-after', 'allow'])

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

/** Headers for the client response; the body is always re-encoded by the firewall. */
export function clientResponseHeaders(upstream: Headers, requestId: string): Headers {
  const out = new Headers()
  upstream.forEach((value, name) => {
    if (TO_CLIENT.has(name.toLowerCase())) out.set(name, value)
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
