/**
 * Wiring only: routing by hostname and path, the admin API, and the one mapping of errors to the wire.
 *
 * - A hostname listed in a tenant's `hosts` serves only that tenant's endpoint path (exact match: no
 *   case, slash or percent-encoding variants) and its OAuth discovery paths; everything else is 404.
 * - A hostname in `FIREWALL_HOSTNAMES` serves `/t/:tenant/mcp`, its auth routes and the admin API under
 *   `/admin/v1`; any other is -31005 everywhere. Unset (local development), every other hostname does.
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { FirewallError, errorBody, toWire } from './errors'
import { adminRoutes } from './tenant/admin'
import { loadHostTenant, requireTenant } from './tenant/store'
import type { LoadedTenant } from './tenant/store'
import { handleMcp } from './proxy/mcp-endpoint'
import { handleDiscovery, isDiscoveryPath } from './proxy/discovery'
import { authAdminRoutes, isAuthAdminPath } from './auth/admin-routes'
import { isKillPath, killRoutes } from './guard/admin-routes'
import { servingState } from './guard/kill-state'
import { canonicalHost } from './proxy/origin-url'
import { servesSharedRoutes } from './proxy/url-policy-env'
import { alertRoutes, isAlertsPath } from './alerts/admin-routes'
import { isToolsPath, toolRoutes } from './tools/admin-routes'
import { isUsagePath, usageRoutes } from './budget/admin-routes'
import { serveAuthRoute, sharedHostAuthRoute, tenantHostDiscovery } from './auth/routes'
import { limitAdmin } from './abuse/admin-guard'
import { errorCorsHeaders, rememberBrowserOrigin } from './proxy/cors'
import type { BrowserOriginVariables } from './proxy/cors'

type AppEnv = { Bindings: Env; Variables: { requestId: string } & BrowserOriginVariables }
/** What `limitAdmin` wraps: any admin sub-app. */
type AdminApp = { fetch(request: Request, env: Env, ctx: Context<AppEnv>['executionCtx']): Response | Promise<Response> }

const TENANT_PATH = /^\/t\/([a-z0-9-]{1,63})\/mcp$/
/** On a tenant hostname, the endpoint path is the origin URL's path (e.g. /mcp). */
const endpointPath = (tenant: LoadedTenant): string => new URL(tenant.record.config.origin.url).pathname

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  const admin = adminRoutes()
  const authAdmin = authAdminRoutes()
  const kill = killRoutes()
  const alerts = alertRoutes()
  const tools = toolRoutes()
  const usage = usageRoutes()

  app.use('*', async (c, next) => {
    c.set('requestId', crypto.randomUUID())
    await next()
  })

  app.all('*', async (c) => {
    const url = new URL(c.req.url)
    const host = canonicalHost(url.hostname)
    const tenant = await loadHostTenant(c.env.CONFIG, host)
    if (tenant) {
      if (url.pathname === endpointPath(tenant)) return mcp(c, tenant)
      // apiKey/jwt tenants answer discovery themselves (their PRM); passthrough forwards it, so a disabled
      // or killed tenant is refused here as on its endpoint.
      if (isDiscoveryPath(url.pathname)) {
        rememberBrowserOrigin(c, tenant.record.config.allowedOrigins)
        await servingState(tenant, c.env)
        return tenantHostDiscovery(c.req.raw, tenant, endpointPath(tenant)) ?? handleDiscovery(c.req.raw, tenant, c.env, c.get('requestId'))
      }
      throw new FirewallError({ kind: 'route_not_found' })
    }
    // A hostname no tenant is served on here but the Worker receives is not necessarily the firewall's: a
    // tenant's whose host record has not reached this location, or one released while its route stays.
    if (!servesSharedRoutes(c.env, host)) throw new FirewallError({ kind: 'tenant_not_found' })
    // Secrets and client keys, then the public PRM and identity JWKS routes.
    // Every admin sub-app runs behind the per-IP admin limits, checked before any token is compared.
    const adminFetch = (sub: AdminApp) => limitAdmin(c.req.raw, c.env, c.get('requestId'), () => adminRequest(c, sub))
    if (isAuthAdminPath(url.pathname)) return adminFetch(authAdmin)
    if (isKillPath(url.pathname)) return adminFetch(kill)
    if (isAlertsPath(url.pathname)) return adminFetch(alerts) // webhook deliveries and test alerts
    if (isToolsPath(url.pathname)) return adminFetch(tools) // pins, pending changes, call approvals
    if (isUsagePath(url.pathname)) return adminFetch(usage) // tokens and requests used per window
    const authRoute = sharedHostAuthRoute(url.pathname)
    if (authRoute) return serveAuthRoute(c.req.raw, await requireTenant(c.env.CONFIG, authRoute.tenant), authRoute.kind, c.env)
    if (url.pathname.startsWith('/admin/v1/')) {
      return adminFetch(admin)
    }
    const match = TENANT_PATH.exec(url.pathname)
    if (match?.[1]) return mcp(c, await requireTenant(c.env.CONFIG, match[1]))
    throw new FirewallError({ kind: 'route_not_found' })
  })

  app.onError((err, c) => {
    const requestId = c.get('requestId') ?? 'unknown'
    const problem = err instanceof FirewallError ? err.problem : { kind: 'internal' as const }
    if (!(err instanceof FirewallError)) {
      console.error(JSON.stringify({ event: 'internal_error', requestId, error: String(err), stack: err.stack }))
    }
    const wire = toWire(problem)
    const id = err instanceof FirewallError ? err.id : null
    return new Response(errorBody(wire, id, requestId), {
      status: wire.status,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...(wire.headers ?? {}), ...errorCorsHeaders(c) },
    })
  })

  return app
}

/**
 * An admin sub-app's answer, under this request's own id: the sub-app records writes with it (never
 * the id a caller sent) and the response carries it, as every other response does.
 */
async function adminRequest(c: Context<AppEnv>, sub: AdminApp): Promise<Response> {
  const requestId = c.get('requestId')
  const headers = new Headers(c.req.raw.headers)
  headers.set('x-request-id', requestId)
  const res = await sub.fetch(new Request(c.req.raw, { headers }), c.env, c.executionCtx)
  const out = new Response(res.body, res)
  out.headers.set('x-request-id', requestId)
  return out
}

function mcp(c: Context<AppEnv>, tenant: LoadedTenant): Promise<Response> {
  rememberBrowserOrigin(c, tenant.record.config.allowedOrigins)
  return handleMcp({
    request: c.req.raw,
    env: c.env,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    tenant,
    requestId: c.get('requestId'),
  })
}
