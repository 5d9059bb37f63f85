/**
 * Builds the target-URL policy from the Worker's environment and the hostnames in play.
 */
import { canonicalHost } from './origin-url'
import type { UrlPolicy } from './origin-url'

/** The firewall's own hostnames: the one this request came to and `FIREWALL_HOSTNAMES`. */
export function firewallHostnames(env: Env, requestHost: string): Set<string> {
  const own = new Set<string>([canonicalHost(requestHost)])
  for (const h of (env.FIREWALL_HOSTNAMES ?? '').split(',')) if (h.trim()) own.add(configuredHost(h.trim()))
  return own
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
