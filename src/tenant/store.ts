/**
 * Reads and writes published tenant config in KV, with a per-isolate cache.
 *
 * Keys (docs/storage.md): `tenant:<id>` holds a `PublishedTenant` record, `host:<hostname>` names the
 * tenant a hostname routes to. KV is eventually consistent and has no compare-and-swap, so this module
 * is the edge's read path and the minimal admin write path; the versioned authority is a Durable Object
 * that publishes here (control plane).
 */
import { z } from 'zod'
import { FirewallError } from '../errors'
import { Hostname, TenantConfig } from './config'

export const PublishedTenant = z
  .object({
    schema: z.literal(1),
    version: z.number().int().min(1),
    updatedAt: z.string(),
    config: TenantConfig,
  })
  .strict()
export type PublishedTenant = z.infer<typeof PublishedTenant>

export const HostRecord = z.object({ tenant: z.string() }).strict()

export const tenantKey = (id: string): string => `tenant:${id}`
export const hostKey = (hostname: string): string => `host:${hostname}`

/** How long a found config is reused by an isolate before KV is read again. */
export const CONFIG_TTL_MS = 10_000
/**
 * How long "no such tenant" (or "its record does not parse") is remembered, so floods of unknown ids, or of
 * requests to a tenant whose record is broken, cost one KV read (and one parse) per isolate and window.
 */
export const NEGATIVE_TTL_MS = 5_000
const MAX_CACHED = 5_000

export interface LoadedTenant {
  id: string
  record: PublishedTenant
}

type Cached<T> = { value: T | null; expires: number }

/** A bounded TTL cache; oldest entries are evicted first when full. */
class TtlCache<T> {
  readonly #entries = new Map<string, Cached<T>>()
  get(key: string, now: number): Cached<T> | undefined {
    const hit = this.#entries.get(key)
    return hit && hit.expires > now ? hit : undefined
  }
  /** The value held for `key`, expired or not. */
  last(key: string): T | null | undefined {
    return this.#entries.get(key)?.value
  }
  set(key: string, value: T | null, ttl: number, now: number): void {
    this.#entries.delete(key)
    if (this.#entries.size >= MAX_CACHED) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    this.#entries.set(key, { value, expires: now + ttl })
  }
  delete(key: string): void {
    this.#entries.delete(key)
  }
  clear(): void {
    this.#entries.clear()
  }
}

const tenants = new TtlCache<PublishedTenant>()
/** Tenants whose record did not parse; kept apart from `tenants` so its last good version still bounds what is served. */
const unreadable = new TtlCache<true>()
const hosts = new TtlCache<string>()

/** Forget everything this isolate cached (tests, and admin writes served by this isolate). */
export function clearTenantCache(id?: string): void {
  if (id === undefined) {
    tenants.clear()
    unreadable.clear()
    hosts.clear()
  } else {
    tenants.delete(id)
    unreadable.delete(id)
  }
}

/**
 * Loads a tenant's published config. Missing → `null` (negative-cached); present but malformed →
 * `tenant_config_invalid` (remembered as long as a miss), so a broken record fails closed instead of
 * forwarding with defaults. Read with
 * `TenantConfig`, which does not run custom rules' examples (`TenantConfigWrite` does, when the config is
 * written): a deploy that changes what an example does must not fail the tenant's traffic closed, and a
 * reload every `CONFIG_TTL_MS` must not spend request CPU on them.
 */
export async function loadTenant(kv: KVNamespace, id: string, now = Date.now()): Promise<LoadedTenant | null> {
  const cached = tenants.get(id, now)
  if (cached) return cached.value ? { id, record: cached.value } : null
  if (unreadable.get(id, now)) throw new FirewallError({ kind: 'tenant_config_invalid' })
  const raw = await kv.get(tenantKey(id), 'text')
  if (raw === null) {
    unreadable.delete(id)
    tenants.set(id, null, NEGATIVE_TTL_MS, now)
    return null
  }
  const read = parseRecord(raw)
  if (!read) {
    console.error(JSON.stringify({ event: 'tenant_config_invalid', tenant: id }))
    unreadable.set(id, true, NEGATIVE_TTL_MS, now)
    throw new FirewallError({ kind: 'tenant_config_invalid' })
  }
  unreadable.delete(id)
  // KV is eventually consistent: a read may return an older version than this isolate already served.
  // Versions only grow (an id is never reused), so the newer copy is kept and the old one never served again.
  const last = tenants.last(id)
  const record = last && last.version > read.version ? last : read
  tenants.set(id, record, CONFIG_TTL_MS, now)
  return { id, record }
}

/** The tenant a hostname routes to, or null. */
export async function tenantForHost(kv: KVNamespace, hostname: string, now = Date.now()): Promise<string | null> {
  // The Host is the client's: one no tenant can claim (an IPv6 literal, a name longer than DNS allows, and
  // so past KV's longest key, which KV refuses with an error) has no record, so KV is not asked.
  if (!Hostname.safeParse(hostname).success) return null
  const cached = hosts.get(hostname, now)
  if (cached) return cached.value
  const raw = await kv.get(hostKey(hostname), 'text')
  let tenant: string | null = null
  if (raw !== null) {
    const parsed = safeJson(raw)
    const host = HostRecord.safeParse(parsed)
    tenant = host.success ? host.data.tenant : null
  }
  hosts.set(hostname, tenant, tenant ? CONFIG_TTL_MS : NEGATIVE_TTL_MS, now)
  return tenant
}

/**
 * The tenant serving a hostname, loaded, or null when no tenant claims it. The host record and the
 * tenant's config are separate copies: a hostname its tenant no longer lists (moved to another tenant,
 * one copy not caught up yet) is served by nobody (404), never by its former tenant.
 */
export async function loadHostTenant(kv: KVNamespace, hostname: string): Promise<LoadedTenant | null> {
  const id = await tenantForHost(kv, hostname)
  if (!id) return null
  const tenant = await requireTenant(kv, id)
  if (!tenant.record.config.hosts.includes(hostname)) throw new FirewallError({ kind: 'route_not_found' })
  return tenant
}

/** A tenant the request names, loaded; -31005 (`tenant_not_found`) when there is none. */
export async function requireTenant(kv: KVNamespace, id: string): Promise<LoadedTenant> {
  const tenant = await loadTenant(kv, id)
  if (!tenant) throw new FirewallError({ kind: 'tenant_not_found' })
  return tenant
}

/** Reads the stored record without the cache (admin reads). Malformed records come back as `invalid`. */
export async function readTenantRecord(kv: KVNamespace, id: string): Promise<PublishedTenant | 'invalid' | null> {
  const raw = await kv.get(tenantKey(id), 'text')
  if (raw === null) return null
  return parseRecord(raw) ?? 'invalid'
}

function parseRecord(raw: string): PublishedTenant | null {
  const parsed = PublishedTenant.safeParse(safeJson(raw))
  return parsed.success ? parsed.data : null
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    return undefined
  }
}
