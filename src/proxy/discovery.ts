/**
 * OAuth discovery for hostname-mapped tenants in `passthrough` auth mode (mcp-protocol.md §2.3,
 * "Mode A"): the firewall serves the vendor's own hostname, so the origin's protected-resource and
 * authorization-server metadata (and the 2025-03-26 fallback endpoints) are fetched from the origin's host.
 * These are not MCP messages, but the origin's answer reaches the client all the same, so only what
 * discovery needs goes back: a 2xx JSON object, re-serialised. A refusal (4xx) keeps its status (a 404 is
 * how a client learns to fall back) with the firewall's own body; a redirect, a 5xx, an answer that is not
 * a JSON object or a connection lost mid-body are the firewall's documented origin errors, so neither an
 * internal `Location` nor an error page's stack trace ever passes. The one redirect that passes is the
 * 2025-03-26 `/authorize` answer, which is a redirect by design (RFC 6749 §4.1): to a public https page
 * (the sign-in) or back to the client's own `redirect_uri`, with nothing but its `Location`.
 */
import { FirewallError } from '../errors'
import { isJsonObject, type JsonObject } from '../mcp/jsonrpc'
import type { LoadedTenant } from '../tenant/store'
import { checkTargetUrl } from './origin-url'
import { urlPolicy } from './url-policy-env'
import { readCappedText } from './ingress'
import { forward } from './forward'
import { mediaType } from './headers'
import { readOriginBody } from './relay-json'
import { checkBrowserOrigin, corsHeaders, preflight } from './cors'

const PRM_PREFIX = '/.well-known/oauth-protected-resource'
const DISCOVERY_PREFIXES = [PRM_PREFIX, '/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']
/** 2025-03-26 clients fall back to these when no authorization-server metadata exists. */
const LEGACY_AUTH_PATHS = new Set(['/authorize', '/token', '/register'])
/** Of these, the ones a client posts to (RFC 6749 §3.2, RFC 7591 §3.1); every other discovery path is only read. */
const POST_PATHS = new Set(['/token', '/register'])
const MAX_DISCOVERY_BYTES = 256 * 1024
/** `application/json` and the `+json` types (RFC 6839) metadata and token answers use. */
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json$/

export const isPrmPath = (path: string): boolean => path === PRM_PREFIX || path.startsWith(`${PRM_PREFIX}/`)

/** Whether `resource` is a URL with the scheme, host and port the client addressed. */
function onHost(resource: unknown, incoming: URL): boolean {
  return typeof resource === 'string' && URL.parse(resource)?.origin === incoming.origin
}

export function isDiscoveryPath(path: string): boolean {
  return LEGACY_AUTH_PATHS.has(path) || DISCOVERY_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))
}

/** Forwards a discovery or legacy OAuth request to the tenant origin's host, same path and query. */
export async function handleDiscovery(request: Request, tenant: LoadedTenant, env: Env, requestId: string): Promise<Response> {
  const incoming = new URL(request.url)
  const config = tenant.record.config
  // Browser clients (the tenant's allowedOrigins, as at its endpoint): the SDK's metadata fetch sends
  // MCP-Protocol-Version, so it is preflighted, and every answer needs CORS headers to be read.
  const browserOrigin = checkBrowserOrigin(request.headers.get('origin'), config.allowedOrigins)
  // Any other method would reach the origin as a GET, answering a request the client did not make.
  const allow = POST_PATHS.has(incoming.pathname) ? 'GET, HEAD, POST, OPTIONS' : 'GET, HEAD, OPTIONS'
  if (request.method === 'OPTIONS') return browserOrigin ? preflight(browserOrigin, null, allow) : new Response(null, { status: 204 })
  if (!allow.split(', ').includes(request.method)) throw new FirewallError({ kind: 'method_not_allowed', allow })
  const cors = browserOrigin ? corsHeaders(browserOrigin) : {}
  const origin = checkTargetUrl(config.origin.url, urlPolicy(env, incoming.hostname, config.hosts))
  if (!origin.ok) throw new FirewallError({ kind: 'origin_not_allowed' })
  const headers = new Headers()
  for (const name of ['accept', 'content-type', 'authorization', 'mcp-protocol-version']) {
    const v = request.headers.get(name)
    if (v !== null) headers.set(name, v)
  }
  const body = request.method === 'POST' ? await readCappedText(request, MAX_DISCOVERY_BYTES, () => new FirewallError({ kind: 'payload_too_large' })) : undefined
  const target = new URL(incoming.pathname + incoming.search, origin.url)
  const authorize = incoming.pathname === '/authorize' && body === undefined
  const log = { requestId, tenant: tenant.id }
  // forward() refuses 5xx (-31006) and, but for /authorize, redirects (-31007), and maps a refused connection or timeout.
  const { response: upstream, abort } = await forward(
    { url: target, method: body === undefined ? 'GET' : 'POST', headers, ...(body !== undefined ? { body } : {}) },
    { timeoutMs: config.origin.timeoutMs, clientSignal: request.signal, returnRedirects: authorize, log },
  )
  if (upstream.status >= 300 && upstream.status < 400) return authorizeRedirect(upstream, target, incoming, cors)
  if (!upstream.ok) {
    await upstream.body?.cancel().catch(() => undefined)
    throw new FirewallError({ kind: 'origin_refused', status: upstream.status })
  }
  const text = await readOriginBody(upstream, MAX_DISCOVERY_BYTES, { ms: config.origin.timeoutMs, abort, log })
  const metadata = JSON_TYPE.test(mediaType(upstream.headers.get('content-type'))) ? jsonObject(text) : undefined
  if (metadata === undefined) throw new FirewallError({ kind: 'origin_invalid_response', reason: 'discovery answer is not a JSON object' })
  // RFC 9728 §3.3: a client uses protected-resource metadata only when its `resource` is the resource it
  // asked about, here one on this hostname. Any other (the origin's own, often private, address) is of
  // no use to a client and would only tell it where the origin is.
  if (isPrmPath(incoming.pathname) && !onHost(metadata['resource'], incoming)) {
    throw new FirewallError({ kind: 'origin_invalid_response', reason: 'protected resource metadata names another host' })
  }
  // Token answers must not be cached (RFC 6749 §5.1); metadata can be fetched again.
  return new Response(JSON.stringify(metadata), { status: upstream.status, headers: { ...cors, 'content-type': 'application/json', 'cache-control': 'no-store' } })
}

/** The sign-in: a public https page, whatever the tenant's origin policy allows its own origin. */
const PUBLIC_ONLY = { allowPrivate: false, ownHostnames: new Set<string>() }

/**
 * An `/authorize` redirect, passed with its `Location` only when that is a public https page or the
 * client's own `redirect_uri` (a native client's is often `http://localhost:…`, RFC 8252 §7.3).
 */
function authorizeRedirect(upstream: Response, target: URL, incoming: URL, cors: Record<string, string>): Response {
  const raw = upstream.headers.get('location')
  const location = raw === null ? null : URL.parse(raw, target.href)
  if (location === null || !(checkTargetUrl(location.href, PUBLIC_ONLY).ok || toClient(location, incoming))) {
    throw new FirewallError({ kind: 'origin_redirect' })
  }
  return new Response(null, { status: upstream.status, headers: { ...cors, location: location.href, 'cache-control': 'no-store' } })
}

/** Whether `location` goes back to the `redirect_uri` the client sent (same origin and path). */
function toClient(location: URL, incoming: URL): boolean {
  const declared = incoming.searchParams.get('redirect_uri')
  const uri = declared === null ? null : URL.parse(declared)
  return uri !== null && !location.username && !location.password && location.origin === uri.origin && location.pathname === uri.pathname
}

function jsonObject(text: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return isJsonObject(value) ? value : undefined
  } catch {
    return undefined
  }
}
