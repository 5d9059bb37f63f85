/**
 * `HostRegistry`: the one Durable Object (`getByName('global')`) that knows which tenant owns each
 * hostname, and the directory of tenant ids (with tombstones). It is the only writer of the `host:<name>`
 * keys in KV.
 *
 * Why one global object rather than one per hostname: a tenant claims its hostnames as a set, and one
 * object makes "all of them or none" a single SQLite transaction instead of a multi-object protocol with
 * compensation; it can also answer "is this origin one of our hostnames?" and list tenants exactly. It is
 * only called by admin writes (the edge reads KV), so one object's throughput (thousands of calls per
 * second) is far beyond what it serves. Being the only writer of `host:` keys also orders the KV writes
 * of a hostname that moves from one tenant to another (release, then claim), which separate writers
 * could not.
 *
 * KV writes go through an outbox: each change marks the hostname dirty with a sequence number, and a
 * serial flush writes the current owner (or deletes the key) and clears the mark only if no newer change
 * arrived meanwhile. A failed flush is retried by an alarm; the registry's table stays the truth.
 */
import { DurableObject } from 'cloudflare:workers'
import { z } from 'zod'
import { Hostname, TenantId } from './config'
import { hostKey } from './store'

/** Argument of {@link HostRegistry.assign}. */
export const AssignHosts = z
  .object({
    tenant: TenantId,
    hosts: z.array(Hostname).max(50),
    /** The hostname of the tenant's origin URL: it must not route back to this firewall. */
    originHost: z.string().min(1).max(253),
  })
  .strict()
export type AssignHosts = z.infer<typeof AssignHosts>

/** Outcome of a claim: `conflicts` name indexes into `hosts` that another tenant owns or uses as origin. */
export type AssignResult =
  | { ok: true; published: boolean }
  | { ok: false; error: 'host_conflict'; conflicts: Array<{ index: number; message: string }> }
  | { ok: false; error: 'origin_loop' }
  | { ok: false; error: 'tenant_deleted' }

/** A tenant in the directory. */
export interface TenantEntry {
  id: string
  createdAt: string
  deletedAt: string | null
  hosts: string[]
}

const RETRY_MS = 15_000

export class HostRegistry extends DurableObject<Env> {
  readonly #sql: SqlStorage
  #flushing: Promise<boolean> = Promise.resolve(true)

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#sql = ctx.storage.sql
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, deleted_at TEXT, origin_host TEXT)`)
    this.#sql.exec(`CREATE INDEX IF NOT EXISTS tenants_by_origin ON tenants (origin_host)`)
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS hosts (hostname TEXT PRIMARY KEY, tenant TEXT NOT NULL, claimed_at TEXT NOT NULL)`)
    this.#sql.exec(`CREATE INDEX IF NOT EXISTS hosts_by_tenant ON hosts (tenant)`)
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS outbox (hostname TEXT PRIMARY KEY, seq INTEGER NOT NULL)`)
    this.#sql.exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1')`)
  }

  /**
   * Makes `hosts` exactly the set of hostnames `tenant` owns, or changes nothing: refused when any is
   * owned by another tenant or is another tenant's origin (a loop), when the origin is a registered
   * hostname, or when the tenant was deleted. Remembers the origin's hostname for later claims.
   * Registers the tenant id in the directory on first use. KV is written before this returns.
   */
  async assign(input: AssignHosts): Promise<AssignResult> {
    const { tenant, hosts, originHost } = AssignHosts.parse(input)
    const now = new Date().toISOString()
    const result = this.ctx.storage.transactionSync((): AssignResult => {
      const entry = this.#sql.exec<{ deleted_at: string | null }>(`SELECT deleted_at FROM tenants WHERE id = ?`, tenant).toArray()[0]
      if (entry?.deleted_at) return { ok: false, error: 'tenant_deleted' }
      if (hosts.includes(originHost) || this.#owner(originHost) !== null) return { ok: false, error: 'origin_loop' }
      const conflicts = hosts.flatMap((h, index) => {
        const owner = this.#owner(h)
        if (owner !== null && owner !== tenant) return [{ index, message: 'hostname belongs to another tenant' }]
        if (this.#originOf(h, tenant)) return [{ index, message: "hostname is another tenant's origin" }]
        return []
      })
      if (conflicts.length > 0) return { ok: false, error: 'host_conflict', conflicts }
      this.#sql.exec(`INSERT OR IGNORE INTO tenants (id, created_at) VALUES (?, ?)`, tenant, now)
      this.#sql.exec(`UPDATE tenants SET origin_host = ? WHERE id = ?`, originHost, tenant)
      const wanted = new Set(hosts)
      for (const h of this.#hostsOf(tenant)) {
        if (wanted.has(h)) continue
        this.#sql.exec(`DELETE FROM hosts WHERE hostname = ?`, h)
        this.#dirty(h)
      }
      for (const h of wanted) {
        if (this.#owner(h) === tenant) continue
        this.#sql.exec(`INSERT INTO hosts (hostname, tenant, claimed_at) VALUES (?, ?, ?)`, h, tenant, now)
        this.#dirty(h)
      }
      return { ok: true, published: true }
    })
    if (!result.ok) return result
    await this.#arm()
    return { ok: true, published: await this.#flush() }
  }

  /** Releases every hostname of `tenant` and marks its id deleted (a tombstone: never reused). */
  async release(input: { tenant: string }): Promise<{ published: boolean }> {
    const tenant = TenantId.parse(input.tenant)
    const now = new Date().toISOString()
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec(`INSERT OR IGNORE INTO tenants (id, created_at) VALUES (?, ?)`, tenant, now)
      this.#sql.exec(`UPDATE tenants SET deleted_at = COALESCE(deleted_at, ?), origin_host = NULL WHERE id = ?`, now, tenant)
      this.#dropHosts(tenant)
    })
    await this.#arm()
    return { published: await this.#flush() }
  }

  /**
   * Forgets a tenant whose first version was never committed (its authority restarted between the claim
   * and the commit): its hostnames are released and its id leaves the directory, free to be created
   * later. Unlike {@link release} it leaves no tombstone; a deleted tenant keeps its own.
   */
  async forget(input: { tenant: string }): Promise<{ published: boolean }> {
    const tenant = TenantId.parse(input.tenant)
    this.ctx.storage.transactionSync(() => {
      const entry = this.#sql.exec<{ deleted_at: string | null }>(`SELECT deleted_at FROM tenants WHERE id = ?`, tenant).toArray()[0]
      if (!entry || entry.deleted_at) return
      this.#dropHosts(tenant)
      this.#sql.exec(`DELETE FROM tenants WHERE id = ?`, tenant)
    })
    await this.#arm()
    return { published: await this.#flush() }
  }

  /** The tenant that owns a hostname, or null. */
  owner(hostname: string): string | null {
    return this.#owner(Hostname.parse(hostname))
  }

  /** The tenant directory, oldest first; deleted tenants only when asked. */
  list(input: { includeDeleted: boolean }): TenantEntry[] {
    const includeDeleted = z.boolean().parse(input.includeDeleted)
    const rows = this.#sql
      .exec<{ id: string; created_at: string; deleted_at: string | null }>(
        `SELECT id, created_at, deleted_at FROM tenants ${includeDeleted ? '' : 'WHERE deleted_at IS NULL'} ORDER BY created_at, id`,
      )
      .toArray()
    return rows.map((r) => ({ id: r.id, createdAt: r.created_at, deletedAt: r.deleted_at, hosts: this.#hostsOf(r.id) }))
  }

  /** Hostnames whose KV key is not yet written (0 once everything is published). */
  pending(): number {
    return this.#sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox`).one().n
  }

  /** Retries publishing after a failed KV write. */
  override async alarm(): Promise<void> {
    await this.#flush()
  }

  #owner(hostname: string): string | null {
    return this.#sql.exec<{ tenant: string }>(`SELECT tenant FROM hosts WHERE hostname = ?`, hostname).toArray()[0]?.tenant ?? null
  }

  /** True when a tenant other than `except` uses `hostname` as its origin. */
  #originOf(hostname: string, except: string): boolean {
    return this.#sql.exec(`SELECT id FROM tenants WHERE origin_host = ? AND id != ? LIMIT 1`, hostname, except).toArray().length > 0
  }

  #hostsOf(tenant: string): string[] {
    return this.#sql.exec<{ hostname: string }>(`SELECT hostname FROM hosts WHERE tenant = ? ORDER BY hostname`, tenant).toArray().map((r) => r.hostname)
  }

  #dirty(hostname: string): void {
    this.#sql.exec(
      `INSERT INTO outbox (hostname, seq) VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox))
       ON CONFLICT (hostname) DO UPDATE SET seq = excluded.seq`,
      hostname,
    )
  }

  /** Frees every hostname of `tenant`, each marked for KV (inside the caller's transaction). */
  #dropHosts(tenant: string): void {
    for (const h of this.#hostsOf(tenant)) {
      this.#sql.exec(`DELETE FROM hosts WHERE hostname = ?`, h)
      this.#dirty(h)
    }
  }

  /**
   * Arms the retry alarm while hostnames wait for KV, in the same turn as the change that marked them: if
   * the object restarts before the flush is done, the alarm finishes it instead of the next admin write.
   */
  async #arm(): Promise<void> {
    if (this.pending() > 0) await this.ctx.storage.setAlarm(Date.now() + RETRY_MS)
  }

  /** Writes every dirty hostname to KV, one flush at a time; false (and an alarm set) when KV failed. */
  #flush(): Promise<boolean> {
    this.#flushing = this.#flushing.then(() => this.#flushOnce())
    return this.#flushing
  }

  async #flushOnce(): Promise<boolean> {
    const dirty = this.#sql.exec<{ hostname: string; seq: number }>(`SELECT hostname, seq FROM outbox ORDER BY seq`).toArray()
    try {
      for (const { hostname, seq } of dirty) {
        const owner = this.#owner(hostname)
        if (owner === null) await this.env.CONFIG.delete(hostKey(hostname))
        else await this.env.CONFIG.put(hostKey(hostname), JSON.stringify({ tenant: owner }))
        this.#sql.exec(`DELETE FROM outbox WHERE hostname = ? AND seq = ?`, hostname, seq)
      }
      if (this.pending() > 0) return this.#flushOnce()
      await this.ctx.storage.deleteAlarm()
      return true
    } catch (err) {
      console.error(JSON.stringify({ event: 'host_publish_failed', error: String(err) }))
      await this.ctx.storage.setAlarm(Date.now() + RETRY_MS)
      return false
    }
  }
}
