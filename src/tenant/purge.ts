/**
 * What else is erased when a tenant is deleted. The tenant's `TenantConfigAuthority` purges its own
 * config, versions and admin keys, releases its hostnames and unpublishes KV, then runs every purger
 * here. Purgers must be idempotent: a failure is retried by the authority's alarm until all succeed.
 *
 * Objects that a late write can reach after their purge (tool pins, budgets) erase it again by alarm. The
 * security event log is deliberately kept: it is the audit trail of what the tenant's traffic did.
 */
import { clientKeyKey, keysUnder, secretKey } from '../auth/storage'

/** Erases one kind of per-tenant state. */
export type TenantPurger = (env: Env, tenantId: string) => Promise<void>

/**
 * Encrypted tenant secrets and client API keys (src/auth/storage.ts): every KV key under their prefixes,
 * listed raw, so an entry that no longer parses (an old format, a torn write) is erased too.
 */
const authState: TenantPurger = async (env, tenantId) => {
  for (const prefix of [secretKey(tenantId, ''), clientKeyKey(tenantId, '')]) {
    for await (const key of keysUnder(env.CONFIG, prefix)) await env.CONFIG.delete(key.name)
  }
}

/**
 * Durable Object state keyed by the tenant: kill switch, tool pins, alert outbox, budgets. The kill switch
 * first: its purge stops the traffic (isolates with a cached config, open streams) that writes to the others.
 */
const objectState: TenantPurger = async (env, tenantId) => {
  await env.GUARD.getByName(tenantId).purge()
  await env.TOOL_PINS.getByName(tenantId).purge()
  await env.ALERTS.getByName(tenantId).purge({ tenant: tenantId })
  await env.BUDGET.getByName(tenantId).purge()
}

/** Every purger run on tenant deletion, in order. */
export const tenantPurgers: readonly TenantPurger[] = [authState, objectState]
