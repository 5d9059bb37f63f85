/**
 * The `admin_keys` table of a tenant's `TenantConfigAuthority`: hashed admin keys with expiry,
 * rotation and revocation. Synchronous SQL only; the Durable Object decides who may call what.
 */
import type { KeyInfo } from './keys'

/** Active keys a tenant may hold at once. */
export const MAX_ACTIVE_KEYS = 20
/** Revoked and expired keys are forgotten this long after they stopped working. */
const FORGET_AFTER_MS = 90 * 86_400_000

type KeyRow = {
  id: string
  hash: string
  label: string | null
  created_at: string
  created_by: string
  expires_at: string
  revoked_at: string | null
  revoked_by: string | null
  rotated_from: string | null
}

/** A key row to insert. */
export interface NewKeyRow {
  id: string
  hash: string
  label: string | null
  createdBy: string
  expiresAt: Date
  rotatedFrom: string | null
}

/** Hashed admin keys of one tenant, over the object's SQLite storage. */
export class KeyTable {
  readonly #sql: SqlStorage

  constructor(sql: SqlStorage) {
    this.#sql = sql
    sql.exec(`CREATE TABLE IF NOT EXISTS admin_keys (
      id TEXT PRIMARY KEY, hash TEXT NOT NULL, label TEXT, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
      expires_at TEXT NOT NULL, revoked_at TEXT, revoked_by TEXT, rotated_from TEXT)`)
  }

  /** Every key, newest first, without hashes. */
  list(now: Date): KeyInfo[] {
    return this.#sql.exec<KeyRow>(`SELECT * FROM admin_keys ORDER BY created_at DESC, id`).toArray().map((r) => info(r, now))
  }

  /** One key's row (with its hash), or null. */
  get(id: string): KeyRow | null {
    return this.#sql.exec<KeyRow>(`SELECT * FROM admin_keys WHERE id = ?`, id).toArray()[0] ?? null
  }

  /** The key's public record, or null. */
  info(id: string, now: Date): KeyInfo | null {
    const row = this.get(id)
    return row ? info(row, now) : null
  }

  /** Whether a rotation already replaced this key (its successor names it in `rotated_from`). */
  superseded(id: string): boolean {
    return this.#sql.exec(`SELECT 1 FROM admin_keys WHERE rotated_from = ? LIMIT 1`, id).toArray().length > 0
  }

  /** Keys that still work now. */
  activeCount(now: Date): number {
    return this.list(now).filter((k) => k.status === 'active').length
  }

  /** Inserts a key and forgets long-dead ones. */
  insert(k: NewKeyRow, now: Date): void {
    this.#sql.exec(
      `INSERT INTO admin_keys (id, hash, label, created_at, created_by, expires_at, rotated_from) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      k.id, k.hash, k.label, now.toISOString(), k.createdBy, k.expiresAt.toISOString(), k.rotatedFrom,
    )
    const cutoff = new Date(now.getTime() - FORGET_AFTER_MS).toISOString()
    this.#sql.exec(`DELETE FROM admin_keys WHERE COALESCE(revoked_at, expires_at) < ?`, cutoff)
  }

  /** Revokes a key at once (`at` = now) or later (a rotation's grace period, as an earlier expiry). */
  revoke(id: string, by: string, now: Date, at: Date = now): void {
    if (at.getTime() <= now.getTime()) {
      this.#sql.exec(`UPDATE admin_keys SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL`, now.toISOString(), by, id)
    } else {
      this.#sql.exec(`UPDATE admin_keys SET expires_at = MIN(expires_at, ?) WHERE id = ?`, at.toISOString(), id)
    }
  }

  /** Deletes every key (tenant deletion). */
  purge(): void {
    this.#sql.exec(`DELETE FROM admin_keys`)
  }
}

function info(r: KeyRow, now: Date): KeyInfo {
  const status = r.revoked_at ? 'revoked' : Date.parse(r.expires_at) <= now.getTime() ? 'expired' : 'active'
  return {
    id: r.id,
    label: r.label,
    status,
    createdAt: r.created_at,
    createdBy: r.created_by,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    revokedBy: r.revoked_by,
    rotatedFrom: r.rotated_from,
  }
}
