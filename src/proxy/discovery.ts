/**
 * OAuth discovery for hostname-mapped tenants in `passthrough` auth mode (mcp-protocol.md §2.3,
 * "Mode A"): the firewall serves the vendor's own hostname, so the origin's protected-resource and
 * authorization-server metadata (and the 2025-03-26 fallback endpoints) are forwarded untouched.
 * These are not MCP messages; they are passed through with a size cap, no cookies, and redirects handed
 * to the client rather than followed.
 */
import { FirewallError } from '../errors'
import type { LoadedTenant } from '../tenant/store'
import { checkTargetUrl } from './origin-url'
import { urlPolicy } from './url-policy-env'
import { readCappedText } from './ingress'

const DISCOVERY_PREFIXES = ['/.well-known/oauth-protected-resource', '/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']
/** 2025-03-26 clients fall back to these when no authorization-server metadata exists. */
const LEGACY_AUTH_PATHS = new Set(['/authorize', '/token', '/register'])
const MAX_DISCOVERY_BYTES = 256 * 1024
const PASS_HEADERS = ['content-type', 'cache-control', 'location', 'www-authenticate']

export function isDiscoveryPath(path: string): boolean {
  return LEGACY_AUTH_PATHS.has(path) || DISCOVERY_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))
}

/** Forwards a discovery or legacy OAuth request to the tenant origin's host, same path and query. */
export async function handleDiscovery(request: Request, tenant: LoadedTenant, env: Env): Promise<Response> {
  const incoming = new URL(request.url)
  const origin = checkTargetUrl(tenant.record.config.origin.url, urlPolicy(env, incoming.hostname, tenant.record.config.hosts))
  if (!origin.ok) throw new FirewallError({ kind: 'origin_not_allowed' })
  const target = new URL(incoming.pathname + incoming.search, origin.url)
  const headers = new Headers()
  for (const name of ['accept', 'content-type', 'authorization', 'mcp-protocol-version']) {
    const v = request.headers.get(name)
    if (v !== null) headers.set(name, v)
  }
  const hasBody = request.method === 'POST'
  let upstream: Response
  try {
    upstream = await fetch(target, {
      method: request.method === 'POST' ? 'POST' : 'GET',
      headers,
      ...(hasBody ? { body: await readCappedText(request, MAX_DISCOVERY_BYTES, () => new FirewallError({ kind: 'payload_too_large' })) } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(tenant.record.config.origin.timeoutMs),
    })
  } catch {
    throw new FirewallError({ kind: 'origin_unreachable' })
  }
  const body = await readCappedText(upstream, MAX_DISCOVERY_BYTES, () => new FirewallError({ kind: 'origin_response_too_large' }))
  const out = new Headers()
  for (const name of PASS_HEADERS) {
    const v = upstream.headers.get(name)
    if (v !== null) out.set(name, v)
  }
  return new Response(body, { status: upstream.status, headers: out })
}
