/**
 * Public, unauthenticated routes the firewall answers itself for client authentication:
 * - shared host `GET /.well-known/oauth-protected-resource/t/<id>/mcp`: the PRM of a jwt-mode tenant
 * - shared host `GET /t/<id>/jwks.json`: the tenant's identity-assertion public keys (for origins)
 * - tenant hostnames in apiKey/jwt mode: the discovery paths are answered here (the PRM for jwt mode,
 *   404 otherwise) instead of being forwarded to the origin, whose metadata describes another resource.
 */
import { FirewallError } from '../errors'
import type { LoadedTenant } from '../tenant/store'
import { identityJwks } from './assertion'
import { keyring } from './master-key'
import { PRM_PATH, resourceUrl, servePrm } from './prm'

const SHARED_PRM = /^\/\.well-known\/oauth-protected-resource\/t\/([a-z0-9-]{1,63})\/mcp$/
const SHARED_JWKS = /^\/t\/([a-z0-9-]{1,63})\/jwks\.json$/

export interface AuthRoute {
  tenant: string
  kind: 'prm' | 'jwks'
}

/** Matches the shared-host auth routes; the tenant still has to be loaded. */
export function sharedHostAuthRoute(pathname: string): AuthRoute | null {
  const prm = SHARED_PRM.exec(pathname)?.[1]
  if (prm) return { tenant: prm, kind: 'prm' }
  const jwks = SHARED_JWKS.exec(pathname)?.[1]
  return jwks ? { tenant: jwks, kind: 'jwks' } : null
}

/** Serves a shared-host auth route for a loaded tenant. */
export async function serveAuthRoute(request: Request, tenant: LoadedTenant, kind: AuthRoute['kind'], env: Env): Promise<Response> {
  const auth = tenant.record.config.auth
  if (kind === 'prm') {
    if (auth.mode !== 'jwt') throw new FirewallError({ kind: 'route_not_found' })
    return servePrm(request, auth, resourceUrl(auth, new URL(request.url), `/t/${tenant.id}/mcp`))
  }
  if (request.method !== 'GET') throw new FirewallError({ kind: 'method_not_allowed', allow: 'GET' })
  const ring = await keyring(env)
  if (!ring) {
    console.error(JSON.stringify({ event: 'secrets_master_key_missing', tenant: tenant.id }))
    throw new FirewallError({ kind: 'tenant_config_invalid' })
  }
  return new Response(JSON.stringify(await identityJwks(ring, tenant.id)), {
    headers: { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' },
  })
}

/**
 * A discovery request on a tenant hostname (`isDiscoveryPath`). `null` in passthrough mode: the caller
 * forwards it to the origin (Mode A). Otherwise the firewall answers: the PRM for jwt mode, 404 else.
 */
export function tenantHostDiscovery(request: Request, tenant: LoadedTenant, endpointPath: string): Response | null {
  const auth = tenant.record.config.auth
  if (auth.mode === 'passthrough') return null
  const url = new URL(request.url)
  const isPrm = url.pathname === PRM_PATH || url.pathname === `${PRM_PATH}${endpointPath}`
  if (!isPrm || auth.mode !== 'jwt') throw new FirewallError({ kind: 'route_not_found' })
  return servePrm(request, auth, resourceUrl(auth, url, endpointPath))
}
