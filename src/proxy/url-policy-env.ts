/**
 * The firewall's own hostnames from the Worker's environment (`FIREWALL_HOSTNAMES`): where its shared routes
 * are served, and what no origin URL may name; and the target-URL policy built from them.
 */
import { canonicalHost } from './origin-url'
import type { UrlPolicy } from './origin-url'

/** `FIREWALL_HOSTNAMES` as last parsed: it is read on every request, and changes only with a deploy. */
let parsed: { raw: string; hosts: ReadonlySet<string> } | undefined

/** The hostnames `FIREWALL_HOSTNAMES` lists, canonical; empty when it is unset or blank. */
export function listedFirewallHostnames(env: Env): ReadonlySet<string> {
  const raw = env.FIREWALL_HOSTNAMES ?? ''
  if (parsed?.raw !== raw) {
    const hosts = new Set<string>()
    for (const h of raw.split(',')) if (h.trim()) hosts.add(configuredHost(h.trim()))
    parsed = { raw, hosts }
  }
  return parsed.hosts
}

/** The firewall's own hostnames: the one this request came to and `FIREWALL_HOSTNAMES`. */
export function firewallHostnames(env: Env, requestHost: string): Set<string> {
  return new Set<string>([canonicalHost(requestHost), ...listedFirewallHostnames(env)])
}

let warnedUnlisted = false

/**
 * Whether a hostname no tenant is served on may serve the shared routes (admin API, `/t/<id>/…`). With
 * `FIREWALL_HOSTNAMES` set, only the hostnames it lists: any other is a tenant's hostname whose host record
 * this location has not seen (a claim propagating, a publish waiting for its retry) or a released one whose
 * Workers route stays, and must not expose the admin API or other tenants there. Unset (local development,
 * tests), every hostname does, since none is known to be the firewall's; a deployment (no
 * `ALLOW_PRIVATE_ORIGINS`) logs `firewall_hostnames_unset` once per isolate so the gap is seen.
 */
export function servesSharedRoutes(env: Env, host: string): boolean {
  const listed = listedFirewallHostnames(env)
  if (listed.size > 0) return listed.has(host)
  if (!warnedUnlisted && env.ALLOW_PRIVATE_ORIGINS !== 'true') {
    warnedUnlisted = true
    console.warn(JSON.stringify({ event: 'firewall_hostnames_unset', host }))
  }
  return true
}

/**
 * A hostname written in configuration, as requests and origin URLs name it once parsed: punycode for an
 * internationalised name, lower case, no port, no trailing dot. Kept as written (lower case) when no URL
 * can hold it, so it still matches what it did before.
 */
function configuredHost(raw: string): string {
  return canonicalHost(URL.parse(`https://${raw}/`)?.hostname ?? raw)
}

/** `ALLOW_PRIVATE_ORIGINS=true` is read from .dev.vars only; it never ships in wrangler.toml. */
export function urlPolicy(env: Env, requestHost: string, extraHosts: readonly string[] = []): UrlPolicy {
  const own = firewallHostnames(env, requestHost)
  for (const h of extraHosts) own.add(h)
  // In local development the firewall and its demo origin share 127.0.0.1; only the port differs.
  const allowPrivate = env.ALLOW_PRIVATE_ORIGINS === 'true'
  if (allowPrivate) for (const loop of ['127.0.0.1', 'localhost', '[::1]']) own.delete(loop)
  return { allowPrivate, ownHostnames: own }
}
