/**
 * Reading a tenant's kill state on the hot path with a bounded staleness.
 *
 *   isolate memory (FRESH_MS) → Cache API, one copy per location → TenantGuard object
 *
 * Every copy carries the time it was read from the object, and no copy is used once it is MAX_AGE_MS
 * old, so a kill bites everywhere within MAX_AGE_MS (plus clock skew between machines). An isolate
 * looks past its own memory at most once per FRESH_MS while its copy is young enough (a copy taken
 * from the location's cache may already be most of MAX_AGE_MS old: it serves until then, instead of
 * sending every request in between to the cache). The object sees at most one read per location per
 * MAX_AGE_MS plus one per isolate per FRESH_MS, and the location that took the admin call drops its
 * copies at once. If the object cannot be reached, the last known
 * state holds until it is STALE_LIMIT_MS old; after that the tenant's requests are refused
 * (503, -31003 "Endpoint unavailable"): a kill state that cannot be read never counts as "not killed".
 */
import { FirewallError } from '../errors'
import type { KillState } from './tenant-guard'
import { FRESH_MS, MAX_AGE_MS, STALE_LIMIT_MS } from './bounds'

export { FRESH_MS, MAX_AGE_MS, STALE_LIMIT_MS }

interface Known {
  state: KillState
  /** When it was read from the object (not when it was copied). */
  readAt: number
}

/** This isolate's copies, with when the isolate last looked past its memory for each. */
const known = new Map<string, Known & { checkedAt: number }>()

export type KillCheck = { ok: true; state: KillState } | { ok: false; reason: 'guard_unreachable' }

export interface KillStateDeps {
  env: Env
  /** Injected clock (tests); defaults to Date.now. */
  now?: () => number
  /** The per-location cache; defaults to `caches.default`. */
  cache?: Cache
  /** Reads the object; defaults to the tenant's TenantGuard (tests inject an unreachable one). */
  read?: (tenant: string) => Promise<KillState>
}

const cacheKey = (tenant: string): string => `https://kill-state.internal/${encodeURIComponent(tenant)}`

/** The tenant's kill state, never more than MAX_AGE_MS old while the object answers. */
export async function killState(tenant: string, deps: KillStateDeps): Promise<KillCheck> {
  const now = (deps.now ?? Date.now)()
  const hit = known.get(tenant)
  if (hit && now - hit.checkedAt < FRESH_MS && now - hit.readAt < MAX_AGE_MS) return { ok: true, state: hit.state }
  const cache = deps.cache ?? caches.default
  const shared = await readCache(cache, tenant)
  if (shared && now - shared.readAt < MAX_AGE_MS) {
    known.set(tenant, { ...shared, checkedAt: now })
    return { ok: true, state: shared.state }
  }
  const read = deps.read ?? ((t: string) => deps.env.GUARD.getByName(t).state())
  try {
    const fresh: Known = { state: await read(tenant), readAt: now }
    known.set(tenant, { ...fresh, checkedAt: now })
    await cache
      .put(cacheKey(tenant), new Response(JSON.stringify(fresh), { headers: { 'cache-control': `max-age=${Math.ceil(MAX_AGE_MS / 1000)}` } }))
      .catch(() => undefined)
    return { ok: true, state: fresh.state }
  } catch (err) {
    console.error(JSON.stringify({ event: 'guard_unreachable', tenant, error: String(err) }))
    const last = [hit, shared].filter((k): k is Known => k !== undefined).sort((a, b) => b.readAt - a.readAt)[0]
    if (last && now - last.readAt < STALE_LIMIT_MS) return { ok: true, state: last.state }
    return { ok: false, reason: 'guard_unreachable' }
  }
}

/**
 * A tenant that may reach its origin now: enabled in its config and not stopped by the kill switch.
 * Throws the refusal (-31003, or `guard_unavailable` when the kill state cannot be read); returns the
 * kill state for its per-tool list.
 */
export async function servingState(tenant: { id: string; record: { config: { enabled: boolean } } }, env: Env): Promise<KillState> {
  if (!tenant.record.config.enabled) throw new FirewallError({ kind: 'tenant_disabled' })
  const kill = await killState(tenant.id, { env })
  if (!kill.ok) throw new FirewallError({ kind: 'guard_unavailable' })
  if (kill.state.killed) throw new FirewallError({ kind: 'tenant_disabled' })
  return kill.state
}

async function readCache(cache: Cache, tenant: string): Promise<Known | undefined> {
  try {
    const res = await cache.match(cacheKey(tenant))
    return res ? ((await res.json()) as Known) : undefined
  } catch {
    return undefined // a broken cache is only a missed optimisation
  }
}

/** Drops this isolate's and this location's copies (after an admin change, and in tests). */
export async function forgetKillState(tenant: string, cache: Cache = caches.default): Promise<void> {
  known.delete(tenant)
  await cache.delete(cacheKey(tenant)).catch(() => false)
}
