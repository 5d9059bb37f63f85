/**
 * The firewall's own OAuth 2.0 Protected Resource Metadata (RFC 9728) for `jwt`-mode tenants, where the
 * firewall is the resource server (mcp-protocol.md §2.3, "Mode B"). The SDK client accepts a PRM only
 * when its `resource` has the origin of the URL it connected to and a path prefix of it (§2.2), so
 * `resource` is the endpoint URL itself and the document is served on the same host:
 * - shared host: `/.well-known/oauth-protected-resource/t/<id>/mcp`
 * - tenant host: `/.well-known/oauth-protected-resource<endpoint path>` and `/.well-known/oauth-protected-resource`
 */
import type { JwtAuth } from './config'

export const PRM_PATH = '/.well-known/oauth-protected-resource'

/**
 * The endpoint's canonical resource URI (RFC 8707): the configured `audience`, else scheme, host and
 * path of the endpoint as the client addressed it (no query, no fragment).
 */
export function resourceUrl(auth: JwtAuth, requestUrl: URL, endpointPath: string): string {
  return auth.audience ?? `${requestUrl.origin}${endpointPath}`
}

/** Where the PRM of a resource lives: the well-known segment inserted before the path (RFC 9728 §3.1). */
export function metadataUrl(resource: string): string {
  const url = new URL(resource)
  const path = url.pathname === '/' ? '' : url.pathname
  return `${url.origin}${PRM_PATH}${path}`
}

/** The PRM document. */
export function protectedResourceMetadata(auth: JwtAuth, resource: string): Record<string, unknown> {
  return {
    resource,
    authorization_servers: [auth.issuer],
    bearer_methods_supported: ['header'],
    ...(auth.requiredScopes.length > 0 ? { scopes_supported: auth.requiredScopes } : {}),
  }
}

/** The challenge parameters of a jwt-mode refusal: where the PRM is, and the scopes to ask for. */
export function jwtChallengeParams(auth: JwtAuth, resource: string): Array<[string, string]> {
  return [['resource_metadata', metadataUrl(resource)], ...(auth.requiredScopes.length > 0 ? [['scope', auth.requiredScopes.join(' ')] as [string, string]] : [])]
}

/**
 * Answers a request for the PRM: GET/HEAD with the document, OPTIONS for browser preflights (the SDK
 * sends `MCP-Protocol-Version`, which needs one), 405 otherwise. Public metadata, so any origin may read it.
 */
export function servePrm(request: Request, auth: JwtAuth, resource: string): Response {
  const cors = { 'access-control-allow-origin': '*' }
  if (request.method === 'OPTIONS') {
    return new Response(null, {
      status: 204,
      headers: { ...cors, 'access-control-allow-methods': 'GET, OPTIONS', 'access-control-allow-headers': 'MCP-Protocol-Version, Accept', 'access-control-max-age': '600' },
    })
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response(null, { status: 405, headers: { allow: 'GET, HEAD, OPTIONS' } })
  }
  const body = request.method === 'HEAD' ? null : JSON.stringify(protectedResourceMetadata(auth, resource))
  return new Response(body, { status: 200, headers: { ...cors, 'content-type': 'application/json', 'cache-control': 'public, max-age=300' } })
}
