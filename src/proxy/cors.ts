/**
 * Browser access. `Origin`, when present, must be in the tenant's allow-list (403 otherwise): behind a
 * proxy the origin server's own DNS-rebinding check sees the firewall, not the browser, so the firewall
 * makes it (mcp-protocol.md §4.8). Allowed origins get CORS headers that list `Authorization`
 * (a `*` does not cover it) and expose the session id, protocol version and OAuth challenge (§4.9).
 */
import { FirewallError } from '../errors'

/** The request variable that keeps a tenant route's allowed `Origin` for the CORS headers of an error answer. */
export type BrowserOriginVariables = { browserOrigin?: string }

/** What remembering the origin needs of a Hono context whose variables include `BrowserOriginVariables`. */
interface BrowserOriginContext {
  req: { header(name: string): string | undefined }
  get(key: 'browserOrigin'): string | undefined
  set(key: 'browserOrigin', value: string): void
}

const ALLOW_HEADERS = ['Authorization', 'Content-Type', 'Accept', 'Mcp-Session-Id', 'MCP-Protocol-Version', 'Last-Event-ID', 'Mcp-Method', 'Mcp-Name']
const EXPOSE_HEADERS = 'Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate, Retry-After'
const PARAM_HEADER = /^mcp-param-[a-z0-9-]{1,64}$/

/** Throws 403 when a browser Origin is present and not allowed. Returns the allowed origin, if any. */
export function checkBrowserOrigin(origin: string | null, allowed: readonly string[]): string | null {
  if (origin === null) return null
  if (allowedBrowserOrigin(origin, allowed) === null) throw new FirewallError({ kind: 'origin_forbidden' })
  return origin
}

/** The browser Origin when it is in the allow-list, else null (no refusal: for error answers). */
export function allowedBrowserOrigin(origin: string | null, allowed: readonly string[]): string | null {
  return origin !== null && allowed.includes(origin.toLowerCase()) ? origin : null
}

/**
 * Remembers the request's `Origin` when the tenant allows it, so that a refusal carries CORS headers too:
 * a browser client reads an error answer (its status, a challenge) only with them. Never refuses.
 */
export function rememberBrowserOrigin(c: BrowserOriginContext, allowed: readonly string[]): void {
  const origin = allowedBrowserOrigin(c.req.header('origin') ?? null, allowed)
  if (origin !== null) c.set('browserOrigin', origin)
}

/** The CORS headers of an error answer: those of the allowed origin remembered for the request, or none. */
export function errorCorsHeaders(c: BrowserOriginContext): Record<string, string> {
  const origin = c.get('browserOrigin')
  return origin ? corsHeaders(origin) : {}
}

/** CORS headers for an allowed origin on an actual response. */
export function corsHeaders(origin: string): Record<string, string> {
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': EXPOSE_HEADERS, Vary: 'Origin' }
}

/**
 * The answer to a preflight from an allowed origin; requested `Mcp-Param-*` names are echoed when valid.
 * `methods` are those the path takes (the MCP endpoint's by default).
 */
export function preflight(origin: string, requestedHeaders: string | null, methods = 'GET, POST, DELETE, OPTIONS'): Response {
  const params = (requestedHeaders ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => PARAM_HEADER.test(h))
  return new Response(null, {
    status: 204,
    headers: {
      ...corsHeaders(origin),
      'Access-Control-Allow-Methods': methods,
      'Access-Control-Allow-Headers': [...ALLOW_HEADERS, ...params].join(', '),
      'Access-Control-Max-Age': '600',
    },
  })
}
