/**
 * The SQLite tables of a `TenantBudget` object (docs/storage.md). Synchronous, called only inside the
 * object's RPC methods and alarm, within one `transactionSync`.
 *
 * - `windows`: per (scope, metric, window, start) the amounts `used` (settled, charged, or expired
 *   unsettled), `provisional` (the expired-unsettled part of `used`) and `reserved` (open leases).
 * - `leases`: every lease not yet settled; `rows` lists the window rows it reserved in.
 * - `alerts`: thresholds already announced per window instance, so each is sent once.
 * - `meta`: `schema_version`, the newest `config_version` / `config` seen, the `calls` counter, and `purged`
 *   once the tenant's accounting was erased.
 */
import type { Metric, Window } from './windows'

export const SCHEMA_VERSION = 1

/** One window row's amounts. */
export type WindowAmounts = {
  used: number
  reserved: number
  provisional: number
}

/** The window rows a lease reserved in. */
export type LeaseRows = Array<[Metric, Window, number]>

type LeaseRow = { id: string; holder: string; scope: string; tokens: number; requests: number; rows: string; expires_at: number; state: string }
type WindowRow = { scope: string; metric: string; window: string; start: number; used: number; reserved: number; provisional: number }

export class BudgetStore {
  readonly #sql: SqlStorage

  constructor(sql: SqlStorage) {
    this.#sql = sql
    sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
    sql.exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?), ('calls', '0')`, String(SCHEMA_VERSION))
    sql.exec(`CREATE TABLE IF NOT EXISTS windows (
      scope TEXT NOT NULL, metric TEXT NOT NULL, window TEXT NOT NULL, start INTEGER NOT NULL,
      used INTEGER NOT NULL DEFAULT 0, reserved INTEGER NOT NULL DEFAULT 0, provisional INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (scope, metric, window, start)
    )`)
    sql.exec(`CREATE TABLE IF NOT EXISTS leases (
      id TEXT PRIMARY KEY, holder TEXT NOT NULL, scope TEXT NOT NULL, tokens INTEGER NOT NULL, requests INTEGER NOT NULL,
      rows TEXT NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL
    )`)
    sql.exec(`CREATE INDEX IF NOT EXISTS leases_due ON leases (state, expires_at)`)
    sql.exec(`CREATE TABLE IF NOT EXISTS alerts (
      scope TEXT NOT NULL, metric TEXT NOT NULL, window TEXT NOT NULL, start INTEGER NOT NULL, threshold REAL NOT NULL,
      PRIMARY KEY (scope, metric, window, start, threshold)
    )`)
  }

  meta(key: string): string | null {
    return this.#sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0]?.value ?? null
  }

  setMeta(key: string, value: string): void {
    this.#sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, value)
  }

  countCall(): void {
    this.#sql.exec(`UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'calls'`)
  }

  row(scope: string, metric: Metric, window: Window, start: number): WindowAmounts {
    const r = this.#sql
      .exec<WindowAmounts>(`SELECT used, reserved, provisional FROM windows WHERE scope = ? AND metric = ? AND window = ? AND start = ?`, scope, metric, window, start)
      .toArray()[0]
    return r ?? { used: 0, reserved: 0, provisional: 0 }
  }

  /** Adds (possibly negative) deltas to a window row, creating it at zero first. */
  add(scope: string, metric: Metric, window: Window, start: number, d: Partial<WindowAmounts>): void {
    this.#sql.exec(
      `INSERT INTO windows (scope, metric, window, start, used, reserved, provisional) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope, metric, window, start) DO UPDATE SET used = used + excluded.used, reserved = reserved + excluded.reserved, provisional = provisional + excluded.provisional`,
      scope, metric, window, start, d.used ?? 0, d.reserved ?? 0, d.provisional ?? 0,
    )
  }

  /**
   * Rows of the given window instances (`start` per window), for the usage report: every tenant and tool
   * row (their number is bounded by the config), and at most `maxClientRows` client and session rows, whose
   * number a client choosing session ids could grow without end. `truncated`: client rows were left out.
   */
  rowsAt(starts: Record<Window, number>, maxClientRows = 5000): { rows: WindowRow[]; truncated: boolean } {
    const current = `((window = 'minute' AND start = ?) OR (window = 'hour' AND start = ?) OR (window = 'day' AND start = ?) OR (window = 'month' AND start = ?))`
    const at = [starts.minute, starts.hour, starts.day, starts.month]
    const clientScope = `(scope LIKE 'client:%' OR scope LIKE 'session:%')`
    const fixed = this.#sql.exec<WindowRow>(`SELECT * FROM windows WHERE ${current} AND NOT ${clientScope} ORDER BY scope, metric, window`, ...at).toArray()
    const clients = this.#sql.exec<WindowRow>(`SELECT * FROM windows WHERE ${current} AND ${clientScope} ORDER BY scope, metric, window LIMIT ?`, ...at, maxClientRows + 1).toArray()
    const truncated = clients.length > maxClientRows
    return { rows: [...fixed, ...(truncated ? clients.slice(0, maxClientRows) : clients)], truncated }
  }

  insertLease(l: { id: string; holder: string; scope: string; tokens: number; requests: number; rows: LeaseRows; expiresAt: number }): void {
    this.#sql.exec(
      `INSERT INTO leases (id, holder, scope, tokens, requests, rows, expires_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'open')`,
      l.id, l.holder, l.scope, l.tokens, l.requests, JSON.stringify(l.rows), l.expiresAt,
    )
  }

  /**
   * Open leases whose time is up count as spent in full (`used`, marked `provisional`): their holder may
   * have spent all of it and been evicted before reporting. A late settlement gives back the unspent part.
   */
  expireDue(now: number): void {
    const due = this.#sql.exec<LeaseRow>(`SELECT * FROM leases WHERE state = 'open' AND expires_at <= ?`, now).toArray()
    for (const l of due) {
      for (const [metric, window, start] of parseRows(l.rows)) {
        const amount = metric === 'tokens' ? l.tokens : l.requests
        this.add(l.scope, metric, window, start, { reserved: -amount, used: amount, provisional: amount })
      }
      this.#sql.exec(`UPDATE leases SET state = 'expired' WHERE id = ?`, l.id)
    }
  }

  /** Applies a holder's report of what it spent of a lease; unknown or foreign leases are ignored. */
  settle(holder: string, lease: string, spent: { tokens: number; requests: number }): void {
    const l = this.#sql.exec<LeaseRow>(`SELECT * FROM leases WHERE id = ? AND holder = ?`, lease, holder).toArray()[0]
    if (!l) return
    for (const [metric, window, start] of parseRows(l.rows)) {
      const granted = metric === 'tokens' ? l.tokens : l.requests
      const used = Math.min(granted, metric === 'tokens' ? spent.tokens : spent.requests)
      if (l.state === 'open') this.add(l.scope, metric, window, start, { reserved: -granted, used })
      else this.add(l.scope, metric, window, start, { used: used - granted, provisional: -granted })
    }
    this.#sql.exec(`DELETE FROM leases WHERE id = ?`, lease)
  }

  /** Records that `threshold` was announced for a window instance; false when it already was. */
  markAlert(scope: string, metric: Metric, window: Window, start: number, threshold: number): boolean {
    return this.#sql.exec(`INSERT OR IGNORE INTO alerts (scope, metric, window, start, threshold) VALUES (?, ?, ?, ?, ?)`, scope, metric, window, start, threshold).rowsWritten > 0
  }

  /** Deletes window rows and alert marks older than `before` (epoch ms), and expired leases past `leasesBefore`. */
  prune(before: Record<Window, number>, leasesBefore: number): void {
    for (const table of ['windows', 'alerts'] as const) {
      this.#sql.exec(
        `DELETE FROM ${table} WHERE (window = 'minute' AND start < ?) OR (window = 'hour' AND start < ?) OR (window = 'day' AND start < ?) OR (window = 'month' AND start < ?)`,
        before.minute, before.hour, before.day, before.month,
      )
    }
    this.#sql.exec(`DELETE FROM leases WHERE state = 'expired' AND expires_at < ?`, leasesBefore)
  }

  /** Erases everything but the schema version (tenant deletion). */
  purge(): void {
    for (const table of ['windows', 'leases', 'alerts'] as const) this.#sql.exec(`DELETE FROM ${table}`)
    this.#sql.exec(`DELETE FROM meta WHERE key NOT IN ('schema_version', 'calls')`)
  }
}

function parseRows(json: string): LeaseRows {
  return JSON.parse(json) as LeaseRows
}
