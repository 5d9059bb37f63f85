/**
 * `TenantConfigAuthority`: one SQLite-backed Durable Object per tenant (`getByName(<tenant id>)`) that
 * owns the tenant's config, its last `RETAINED_VERSIONS` versions, its admin keys and its tombstone,
 * and publishes the current version to KV (`tenant:<id>`), which the edge reads.
 *
 * Writes are serialised in the object (a promise queue: the object also awaits the host registry and
 * KV, during which other calls may arrive), so compare-and-swap (`If-Match`) is exact and no write is
 * ever lost: each one becomes a numbered version recording who made it. The order of a write is
 *   check permissions and precondition → claim hostnames (HostRegistry) → commit the version → publish.
 * KV is a copy: when publishing fails the write still stands, and an alarm retries with backoff until
 * KV holds the current version (each publish writes the newest version, so retries coalesce).
 */
import { DurableObject } from 'cloudflare:workers'
import { z } from 'zod'
import { rulesFieldIssues, TenantConfigWrite, TenantId } from './config'
import type { TenantConfig } from './config'
import { ConfigTable } from './config-store'
import type { StateRow, StoredVersion } from './config-store'
import { fieldIssues } from './issues'
import { KeyTable, MAX_ACTIVE_KEYS } from './key-store'
import { actorLabel, changesOperatorFields, keyMatches, KeyId, newKey, parseKey } from './keys'
import type { Actor, IssuedKey, KeyInfo } from './keys'
import { tenantPurgers } from './purge'
import { canonicalHost } from '../proxy/origin-url'
import { tenantKey } from './store'
import type { PublishedTenant } from './store'
import { CreateKeyInput, RemoveInput, RevokeKeyInput, RollbackInput, RotateKeyInput, WriteInput } from './authority-types'
import type { Expect, IssueKeyResult, KeyInfoResult, ReadResult, Refusal, RemoveResult, VersionInfo, VersionRecord, WriteResult } from './authority-types'
import { isRecord } from '../record'

const MAX_RETRY_MS = 600_000
/**
 * After a deletion's cleanup, the purgers run again this long after, this many times: admin routes in
 * other locations read "the tenant exists" from KV, which may show the deleted tenant for up to about a
 * minute (plus the isolate cache), so a secret or client key written there after the cleanup would stay
 * behind, unreachable and never erased.
 */
const LATE_SWEEP_MS = 90_000
const LATE_SWEEPS = 2
const SWEEPS_KEY = 'late-sweeps'
/** `meta` key naming the tenant a first write claims for, until it commits (the object stores nothing else yet). */
const FIRST_CLAIM_KEY = 'first-claim'
const DAY_MS = 86_400_000

export class TenantConfigAuthority extends DurableObject<Env> {
  readonly #config: ConfigTable
  readonly #keys: KeyTable
  #queue: Promise<unknown> = Promise.resolve()

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
    ctx.storage.sql.exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1')`)
    this.#config = new ConfigTable(ctx.storage.sql)
    this.#keys = new KeyTable(ctx.storage.sql)
  }

  /** The current config, or whether the tenant is absent, deleted or stored invalid. */
  read(input: { tenant: string }): ReadResult {
    const state = this.#state(input.tenant)
    if (!state) return { status: 'absent' }
    if (state.status === 'deleted') return { status: 'deleted' }
    const current = this.#config.get(state.version)
    if (!current?.config) return { status: 'invalid', version: state.version }
    return { status: 'active', record: { tenant: state.tenant, version: current.version, updatedAt: current.updatedAt, updatedBy: current.updatedBy, config: current.config } }
  }

  /** The retained versions, newest first; null unless the tenant exists. */
  versions(input: { tenant: string }): VersionInfo[] | null {
    return this.#state(input.tenant)?.status === 'active' ? this.#config.list() : null
  }

  /** One retained version with its config, or null. */
  version(input: { tenant: string; version: number }): VersionRecord | null {
    return this.#state(input.tenant)?.status === 'active' ? this.#config.record(z.number().int().parse(input.version)) : null
  }

  /** Creates or replaces the config (or only its policy) under a precondition. */
  write(input: WriteInput): Promise<WriteResult> {
    const w = WriteInput.parse(input)
    return this.#serial(async () => {
      const state = this.#state(w.tenant)
      if (state?.status === 'deleted') return refuse('tenant_deleted')
      const current = state ? this.#config.get(state.version) : null
      const refusal = this.#permission(w.actor, w.tenant, current !== null) ?? precondition(w.expect, current?.version ?? 0)
      if (refusal) return refusal
      if (w.change.kind === 'policy' && !current) return refuse('not_found')
      const base = isRecord(current?.raw) ? current.raw : {}
      const parsed = TenantConfigWrite.safeParse(w.change.kind === 'policy' ? { ...base, policy: w.change.policy } : w.change.config)
      if (!parsed.success) return { ok: false, error: 'invalid_config', issues: fieldIssues(parsed.error) }
      if (w.actor.kind === 'key' && changesOperatorFields(current?.raw, parsed.data)) return refuse('forbidden')
      const action = !current ? 'create' : w.change.kind === 'policy' ? 'policy' : 'update'
      return this.#commit(w.tenant, parsed.data, w.actor, action, null, current)
    })
  }

  /** Makes a retained version current again, as a new version (history is never rewritten). */
  rollback(input: RollbackInput): Promise<WriteResult> {
    const r = RollbackInput.parse(input)
    return this.#serial(async () => {
      const state = this.#state(r.tenant)
      if (!state) return refuse('not_found')
      if (state.status === 'deleted') return refuse('tenant_deleted')
      const current = this.#config.get(state.version)
      const refusal = this.#permission(r.actor, r.tenant, true) ?? precondition(r.expect, state.version)
      if (refusal) return refusal
      const target = this.#config.get(r.version)
      if (!target) return refuse('version_not_found')
      if (!target.config) return { ok: false, error: 'invalid_config', issues: [{ path: '(root)', message: `version ${r.version} no longer passes the config schema` }] }
      // A rollback writes the version again, so it passes what any write passes on this deploy.
      const issues = rulesFieldIssues(target.config.policy.rules, ['policy', 'rules'])
      if (issues.length > 0) return { ok: false, error: 'invalid_config', issues }
      if (r.actor.kind === 'key' && changesOperatorFields(current?.raw, target.config)) return refuse('forbidden')
      return this.#commit(r.tenant, target.config, r.actor, 'rollback', target.version, current)
    })
  }

  /** Deletes the tenant: purges config, versions and keys, keeps a tombstone so the id is never reused. */
  remove(input: RemoveInput): Promise<RemoveResult> {
    const r = RemoveInput.parse(input)
    return this.#serial(async () => {
      if (r.actor.kind !== 'operator') return refuse('forbidden')
      const state = this.#state(r.tenant)
      if (!state || state.status === 'deleted') return refuse('not_found')
      const refusal = precondition(r.expect, state.version)
      if (refusal) return refusal
      this.ctx.storage.transactionSync(() => {
        this.#config.markDeleted(actorLabel(r.actor), new Date().toISOString())
        this.#keys.purge()
      })
      return { ok: true, published: await this.#reconcile() }
    })
  }

  /** The tenant's admin keys (never the keys or their hashes); null unless the tenant exists. */
  listKeys(input: { tenant: string }): KeyInfo[] | null {
    return this.#state(input.tenant)?.status === 'active' ? this.#keys.list(new Date()) : null
  }

  /** Issues a new admin key (operator only). The key is in the result and nowhere else. */
  async createKey(input: CreateKeyInput): Promise<IssueKeyResult> {
    const k = CreateKeyInput.parse(input)
    if (k.actor.kind !== 'operator') return { ok: false, error: 'forbidden' }
    const material = await newKey(k.tenant)
    const now = new Date()
    if (this.#state(k.tenant)?.status !== 'active') return { ok: false, error: 'not_found' }
    if (this.#keys.activeCount(now) >= MAX_ACTIVE_KEYS) return { ok: false, error: 'too_many_keys' }
    const expiresAt = new Date(now.getTime() + k.expiresInDays * DAY_MS)
    this.#keys.insert({ id: material.keyId, hash: material.hash, label: k.label, createdBy: 'operator', expiresAt, rotatedFrom: null }, now)
    return { ok: true, value: this.#issued(material.keyId, material.key, now) }
  }

  /**
   * Replaces a key with a new one (new id and secret) that keeps its label; the old key stops working
   * after `graceSeconds`. The operator rotates any key, a key only itself, keeping its expiry (only the
   * operator extends it): a key that could rotate another would take over its holder's key and its expiry.
   */
  async rotateKey(input: RotateKeyInput): Promise<IssueKeyResult> {
    const k = RotateKeyInput.parse(input)
    const material = await newKey(k.tenant)
    const now = new Date()
    if (this.#state(k.tenant)?.status !== 'active') return { ok: false, error: 'not_found' }
    if (this.#permission(k.actor, k.tenant, true) || !mayHandleKey(k.actor, k.keyId)) return { ok: false, error: 'forbidden' }
    const old = this.#keys.get(k.keyId)
    if (!old) return { ok: false, error: 'not_found' }
    // A key in its grace period after a rotation still works, but it has been replaced: rotating it again
    // would fork one key into several live ones that revoking it does not reach.
    if (this.#keys.info(k.keyId, now)?.status !== 'active' || this.#keys.superseded(k.keyId)) return { ok: false, error: 'key_inactive' }
    // With a grace period both keys are live for a while: the limit counts them, or a chain of rotations
    // would keep the operator from issuing any key.
    if (k.graceSeconds > 0 && this.#keys.activeCount(now) >= MAX_ACTIVE_KEYS) return { ok: false, error: 'too_many_keys' }
    const extend = k.actor.kind === 'operator' && k.expiresInDays !== null
    const expiresAt = extend ? new Date(now.getTime() + (k.expiresInDays ?? 0) * DAY_MS) : new Date(old.expires_at)
    const by = actorLabel(k.actor)
    this.ctx.storage.transactionSync(() => {
      this.#keys.insert({ id: material.keyId, hash: material.hash, label: old.label, createdBy: by, expiresAt, rotatedFrom: old.id }, now)
      this.#keys.revoke(old.id, by, now, new Date(now.getTime() + k.graceSeconds * 1000))
    })
    return { ok: true, value: this.#issued(material.keyId, material.key, now) }
  }

  /** Revokes a key at once (the operator any key, a key only itself). Revoking a revoked key is a no-op. */
  revokeKey(input: RevokeKeyInput): KeyInfoResult {
    const k = RevokeKeyInput.parse(input)
    const now = new Date()
    if (this.#state(k.tenant)?.status !== 'active') return { ok: false, error: 'not_found' }
    if (this.#permission(k.actor, k.tenant, true) || !mayHandleKey(k.actor, k.keyId)) return { ok: false, error: 'forbidden' }
    if (!this.#keys.get(k.keyId)) return { ok: false, error: 'not_found' }
    this.#keys.revoke(k.keyId, actorLabel(k.actor), now)
    const value = this.#keys.info(k.keyId, now)
    return value ? { ok: true, value } : { ok: false, error: 'not_found' }
  }

  /** The key id when `key` is a live admin key of this tenant; null otherwise (no reason given). */
  async verifyKey(input: { tenant: string; key: string }): Promise<{ keyId: string } | null> {
    const tenant = TenantId.parse(input.tenant)
    const key = z.string().max(200).parse(input.key)
    const claimed = parseKey(key)
    if (!claimed || claimed.tenant !== tenant) return null
    const row = this.#keys.get(claimed.keyId)
    if (!row || !(await keyMatches(key, row.hash))) return null
    if (this.#state(tenant)?.status !== 'active' || this.#keys.info(row.id, new Date())?.status !== 'active') return null
    return { keyId: KeyId.parse(row.id) }
  }

  /** Retries whatever KV publishing or deletion cleanup failed; after a deletion, sweeps late writes. */
  override async alarm(): Promise<void> {
    await this.#serial(async () => {
      if (await this.#reconcile()) await this.#lateSweep()
      await this.#reclaim()
      await this.#forgetFirstClaim()
    })
  }

  /**
   * Claims the current config's hostnames again. A write claims its hostnames before it commits: when
   * the object restarts in between, the registry holds the uncommitted set (the committed hostnames
   * released, and free for another tenant to take) until this puts it back.
   */
  async #reclaim(): Promise<void> {
    const s = this.#config.state()
    const config = s?.status === 'active' ? this.#config.get(s.version)?.config : null
    if (!s || !config) return
    try {
      const claim = await this.#claim(s.tenant, config)
      if (!claim.ok) console.error(JSON.stringify({ event: 'tenant_reclaim_failed', tenant: s.tenant, error: claim.error }))
    } catch (err) {
      console.error(JSON.stringify({ event: 'tenant_reclaim_failed', tenant: s.tenant, error: String(err) }))
      await this.ctx.storage.setAlarm(retryAt(s.attempts + 1))
    }
  }

  /**
   * Forgets the claim of a first write the object restarted in before it committed: the registry would
   * otherwise list a tenant this object never stored and hold its hostnames. `release` would mark the id
   * deleted, so a later create of it would be refused.
   */
  async #forgetFirstClaim(): Promise<void> {
    const tenant = this.ctx.storage.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, FIRST_CLAIM_KEY).toArray()[0]?.value
    if (tenant === undefined || this.#config.state()) return
    try {
      await this.env.HOST_REGISTRY.getByName('global').forget({ tenant })
      this.ctx.storage.sql.exec(`DELETE FROM meta WHERE key = ?`, FIRST_CLAIM_KEY)
    } catch (err) {
      console.error(JSON.stringify({ event: 'tenant_reclaim_failed', tenant, error: String(err) }))
      await this.ctx.storage.setAlarm(retryAt(1))
    }
  }

  /** Claims `config`'s hostnames for `tenant` in the host registry (and notes its origin's host, for loop checks). */
  #claim(tenant: string, config: TenantConfig) {
    return this.env.HOST_REGISTRY.getByName('global').assign({ tenant, hosts: config.hosts, originHost: canonicalHost(new URL(config.origin.url).hostname) })
  }

  /** Runs the purgers again for a deleted tenant while late sweeps remain (see LATE_SWEEP_MS). */
  async #lateSweep(): Promise<void> {
    const s = this.#config.state()
    if (!s || s.status !== 'deleted' || !s.cleanup_done) return
    const left = (await this.ctx.storage.get<number>(SWEEPS_KEY)) ?? 0
    if (left <= 0) return
    for (const purge of tenantPurgers) await purge(this.env, s.tenant)
    await this.ctx.storage.put(SWEEPS_KEY, left - 1)
    if (left > 1) await this.ctx.storage.setAlarm(Date.now() + LATE_SWEEP_MS)
  }

  async #commit(tenant: string, config: TenantConfig, actor: Actor, action: VersionInfo['action'], rollbackOf: number | null, current: StoredVersion | null): Promise<WriteResult> {
    // Armed before the claim: a restart while the registry is called leaves it to the alarm (#reclaim,
    // or #forgetFirstClaim for a first write, which notes its tenant: nothing else names it yet).
    if (!current) this.ctx.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, FIRST_CLAIM_KEY, tenant)
    await this.ctx.storage.setAlarm(retryAt(this.#config.state()?.attempts ?? 0))
    const claim = await this.#claim(tenant, config)
    if (!claim.ok) {
      if (claim.error !== 'host_conflict') return refuse(claim.error)
      return { ok: false, error: 'host_conflict', issues: claim.conflicts.map((c) => ({ path: `hosts.${c.index}`, message: c.message })) }
    }
    const version = (current?.version ?? 0) + 1
    const at = new Date().toISOString()
    const by = actorLabel(actor)
    this.ctx.storage.transactionSync(() => {
      this.#config.commit({ tenant, version, config, actor: by, action, rollbackOf, at })
      this.ctx.storage.sql.exec(`DELETE FROM meta WHERE key = ?`, FIRST_CLAIM_KEY)
    })
    // `published` is false when either KV write (hostnames or config) is still pending an alarm retry.
    const published = (await this.#reconcile()) && claim.published
    return { ok: true, created: current === null, published, record: { tenant, version, updatedAt: at, updatedBy: by, config } }
  }

  /** Brings KV (and, after a deletion, the registry and purgers) in line with this object's state. */
  async #reconcile(): Promise<boolean> {
    const s = this.#config.state()
    if (!s) return true
    const current = s.status === 'active' && s.published_version < s.version ? this.#config.get(s.version) : null
    const cleanup = s.status === 'deleted' && !s.cleanup_done
    // Armed in the same turn as the commit or tombstone that made this work, before any await: if the
    // object is restarted (a deploy, an eviction) while KV or the registry is being called, the alarm
    // finishes the work instead of nothing ever doing it.
    if (current?.config || cleanup) await this.ctx.storage.setAlarm(retryAt(s.attempts))
    try {
      if (current?.config) {
        const record: PublishedTenant = { schema: 1, version: current.version, updatedAt: current.updatedAt, config: current.config }
        await this.env.CONFIG.put(tenantKey(s.tenant), JSON.stringify(record))
        this.#config.setPublished(current.version)
        await this.ctx.storage.deleteAlarm()
      }
      if (cleanup) {
        await this.env.HOST_REGISTRY.getByName('global').release({ tenant: s.tenant })
        await this.env.CONFIG.delete(tenantKey(s.tenant))
        for (const purge of tenantPurgers) await purge(this.env, s.tenant)
        this.#config.setCleanupDone()
        await this.ctx.storage.put(SWEEPS_KEY, LATE_SWEEPS)
        await this.ctx.storage.setAlarm(Date.now() + LATE_SWEEP_MS)
      }
      this.#config.setAttempts(0)
      return true
    } catch (err) {
      const attempts = s.attempts + 1
      console.error(JSON.stringify({ event: 'tenant_publish_failed', tenant: s.tenant, attempts, error: String(err) }))
      this.#config.setAttempts(attempts)
      await this.ctx.storage.setAlarm(retryAt(attempts))
      return false
    }
  }

  /** Operator, or a live key of this very tenant; a key may only act on an existing tenant. */
  #permission(actor: Actor, tenant: string, exists: boolean): Refusal | null {
    if (actor.kind === 'operator') return null
    const live = exists && actor.tenant === tenant && this.#keys.info(actor.keyId, new Date())?.status === 'active'
    return live ? null : refuse('forbidden')
  }

  #state(tenant: string): StateRow | null {
    const s = this.#config.state()
    // One object per tenant id: a call naming another tenant is a routing bug, never served.
    if (s && s.tenant !== TenantId.parse(tenant)) throw new Error('tenant id does not match this object')
    return s
  }

  #issued(keyId: string, key: string, now: Date): IssuedKey {
    const value = this.#keys.info(keyId, now)
    if (!value) throw new Error('issued key not found')
    return { ...value, key }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => undefined)
    return run
  }
}

/** When to retry after `attempts` failed publishes: 5 s, doubling, capped at MAX_RETRY_MS. */
function retryAt(attempts: number): number {
  return Date.now() + Math.min(5_000 * 2 ** attempts, MAX_RETRY_MS)
}

function precondition(expect: Expect, current: number): Refusal | null {
  const ok =
    expect.kind === 'any' ||
    (expect.kind === 'exists' && current > 0) ||
    (expect.kind === 'absent' && current === 0) ||
    (expect.kind === 'version' && expect.version === current)
  return ok ? null : { ok: false, error: 'version_mismatch', current }
}

function refuse(error: 'not_found' | 'tenant_deleted' | 'forbidden' | 'version_not_found' | 'origin_loop'): Refusal {
  return { ok: false, error }
}


/** The operator handles any key; a tenant key only itself (it may not rotate or revoke its tenant's other keys). */
function mayHandleKey(actor: Actor, keyId: string): boolean {
  return actor.kind === 'operator' || actor.keyId === keyId
}
