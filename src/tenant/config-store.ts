/**
 * The `state` and `versions` tables of a tenant's `TenantConfigAuthority`: the tenant's lifecycle (active
 * or deleted, the current and the published version, pending cleanup) and its retained config versions.
 * Synchronous SQL only; the Durable Object orders the calls.
 */
import { z } from 'zod'
import { TenantConfig } from './config'
import { RETAINED_VERSIONS } from './authority-types'
import type { VersionInfo, VersionRecord } from './authority-types'

/** The one row of `state`. */
export type StateRow = {
  tenant: string
  status: string
  version: number
  published_version: number
  cleanup_done: number
  attempts: number
}

type VersionRow = { version: number; created_at: string; actor: string; action: string; rollback_of: number | null; config: string }

/**
 * A stored version. `config` is null when the stored JSON no longer passes today's schema (the schema
 * changed since it was written): the operator can still replace it, and it is never published. It is
 * read with `TenantConfig`, not `TenantConfigWrite`: custom-rule examples this deploy's engine no longer
 * confirms leave an accepted config readable (the next write must fix them).
 */
export interface StoredVersion {
  version: number
  updatedAt: string
  updatedBy: string
  raw: unknown
  config: TenantConfig | null
}

const Action = z.enum(['create', 'update', 'policy', 'rollback'])

/** Lifecycle and version history of one tenant, over the object's SQLite storage. */
export class ConfigTable {
  readonly #sql: SqlStorage

  constructor(sql: SqlStorage) {
    this.#sql = sql
    sql.exec(`CREATE TABLE IF NOT EXISTS state (
      one INTEGER PRIMARY KEY CHECK (one = 1), tenant TEXT NOT NULL, status TEXT NOT NULL, version INTEGER NOT NULL,
      published_version INTEGER NOT NULL DEFAULT 0, deleted_at TEXT, deleted_by TEXT,
      cleanup_done INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0)`)
    sql.exec(`CREATE TABLE IF NOT EXISTS versions (
      version INTEGER PRIMARY KEY, created_at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
      rollback_of INTEGER, config TEXT NOT NULL)`)
  }

  /** The lifecycle row, or null before the first write. */
  state(): StateRow | null {
    return this.#sql.exec<StateRow>(`SELECT tenant, status, version, published_version, cleanup_done, attempts FROM state`).toArray()[0] ?? null
  }

  /** A retained version, or null. */
  get(version: number): StoredVersion | null {
    const row = this.#row(version)
    return row ? parse(row) : null
  }

  /** One retained version with its history entry, when its config is valid. */
  record(version: number): VersionRecord | null {
    const row = this.#row(version)
    const config = row ? parse(row).config : null
    return row && config ? { ...info(row), config } : null
  }

  /** The history, newest first. */
  list(): VersionInfo[] {
    return this.#sql.exec<VersionRow>(`SELECT * FROM versions ORDER BY version DESC`).toArray().map(info)
  }

  /** Records a new current version and drops the ones beyond retention. Call inside a transaction. */
  commit(v: { tenant: string; version: number; config: TenantConfig; actor: string; action: VersionInfo['action']; rollbackOf: number | null; at: string }): void {
    this.#sql.exec(
      `INSERT INTO state (one, tenant, status, version) VALUES (1, ?, 'active', ?) ON CONFLICT (one) DO UPDATE SET version = excluded.version`,
      v.tenant, v.version,
    )
    this.#sql.exec(
      `INSERT INTO versions (version, created_at, actor, action, rollback_of, config) VALUES (?, ?, ?, ?, ?, ?)`,
      v.version, v.at, v.actor, v.action, v.rollbackOf, JSON.stringify(v.config),
    )
    this.#sql.exec(`DELETE FROM versions WHERE version <= ?`, v.version - RETAINED_VERSIONS)
  }

  /** The tombstone: marks the tenant deleted (cleanup pending) and erases every version. */
  markDeleted(by: string, at: string): void {
    this.#sql.exec(`UPDATE state SET status = 'deleted', deleted_at = ?, deleted_by = ?, cleanup_done = 0`, at, by)
    this.#sql.exec(`DELETE FROM versions`)
  }

  setPublished(version: number): void {
    this.#sql.exec(`UPDATE state SET published_version = MAX(published_version, ?)`, version)
  }

  setCleanupDone(): void {
    this.#sql.exec(`UPDATE state SET cleanup_done = 1`)
  }

  setAttempts(n: number): void {
    this.#sql.exec(`UPDATE state SET attempts = ?`, n)
  }

  #row(version: number): VersionRow | null {
    return this.#sql.exec<VersionRow>(`SELECT * FROM versions WHERE version = ?`, version).toArray()[0] ?? null
  }
}

function parse(row: VersionRow): StoredVersion {
  const raw: unknown = JSON.parse(row.config)
  const parsed = TenantConfig.safeParse(raw)
  if (!parsed.success) console.error(JSON.stringify({ event: 'stored_config_invalid', version: row.version, issues: parsed.error.issues.length }))
  return { version: row.version, updatedAt: row.created_at, updatedBy: row.actor, raw, config: parsed.success ? parsed.data : null }
}

function info(r: VersionRow): VersionInfo {
  return { version: r.version, createdAt: r.created_at, actor: r.actor, action: Action.parse(r.action), rollbackOf: r.rollback_of }
}
