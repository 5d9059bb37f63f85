/**
 * Approvals of single sensitive calls (`policy.tools.requireApproval`), kept in the `ToolPins` object's
 * SQLite. A call is identified by the SHA-256 of its canonical {origin, tool, identity, arguments}; its
 * approval id is the first 24 hex digits. The first attempt records a request and is refused; an
 * operator (or tenant admin key) grants it; the same call then runs once within the window. The request
 * holds the call's arguments whole (the object refuses a cut), so what an operator grants is what runs.
 */
import { unseenEscaped } from './unseen'
import { MAX_WAITING_CALLS, MAX_WAITING_CALLS_PER_IDENTITY, approvalIdOf, type CallApprovalView, type CallDecision, type CallRequestArgs, type GrantCallArgs, type RestoreCallArgs } from './pin-types'

/** Requests nobody granted are forgotten after this long (at most MAX_WAITING_CALLS wait meanwhile). */
const REQUEST_TTL_MS = 7 * 24 * 3600 * 1000
/** A used grant is kept this long, so that a call refused after it was granted (budget) can give it back. */
const RESTORE_GRACE_MS = 60 * 1000

interface CallRow extends Record<string, SqlStorageValue> {
  id: string
  origin: string
  tool: string
  identity: string | null
  arguments: string
  requested_at: number
  window_seconds: number
  granted_at: number | null
  granted_by: string | null
  expires_at: number | null
  used_at: number | null
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS call_approvals (
  id TEXT PRIMARY KEY, origin TEXT NOT NULL, tool TEXT NOT NULL, identity TEXT, arguments TEXT NOT NULL,
  requested_at INTEGER NOT NULL, window_seconds INTEGER NOT NULL,
  granted_at INTEGER, granted_by TEXT, expires_at INTEGER, used_at INTEGER)`

export class CallStore {
  /**
   * Schema version 2 → 3: requests hold their arguments whole. Version 2 cut them at 8 KB (ending the text
   * in `…`, which no JSON text ends in), and since keys are sorted a caller chose what the cut hid: such
   * rows are forgotten, granted ones too, and the call, asked again, is recorded whole or refused.
   */
  static migrateFrom2(sql: SqlStorage): void {
    sql.exec(CREATE_TABLE)
    sql.exec(`DELETE FROM call_approvals WHERE substr(arguments, -1) = '…'`)
  }

  constructor(private readonly sql: SqlStorage) {
    sql.exec(CREATE_TABLE)
  }

  request(a: CallRequestArgs, now: number): CallDecision {
    this.sql.exec(
      `DELETE FROM call_approvals WHERE (granted_at IS NULL AND requested_at < ?) OR used_at < ? OR expires_at < ?`,
      now - REQUEST_TTL_MS, now - RESTORE_GRACE_MS, now,
    )
    const id = approvalIdOf(a.callHash)
    const row = this.sql.exec<CallRow>(`SELECT * FROM call_approvals WHERE id = ?`, id).toArray()[0]
    if (row && row.expires_at !== null && row.expires_at >= now && row.used_at === null) {
      this.sql.exec(`UPDATE call_approvals SET used_at = ? WHERE id = ?`, now, id)
      return { granted: true, usedAt: now }
    }
    // A used grant ran its call: this is a new one, asking afresh.
    if (!row || row.used_at !== null) {
      if (this.#full(a.identity)) return { granted: false, full: true }
      this.sql.exec(
        `INSERT OR REPLACE INTO call_approvals (id, origin, tool, identity, arguments, requested_at, window_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        id, a.origin, a.tool, a.identity, a.arguments, now, a.windowSeconds,
      )
    }
    return { granted: false, id }
  }

  /** Whether `request` would grant the call `callHash` at `now` (a read: nothing is recorded or used). */
  granted(callHash: string, now: number): boolean {
    const rows = this.sql.exec(`SELECT 1 FROM call_approvals WHERE id = ? AND expires_at >= ? AND used_at IS NULL`, approvalIdOf(callHash), now).toArray()
    return rows.length > 0
  }

  /**
   * True when no request can be added for `identity`: the tenant has MAX_WAITING_CALLS waiting (or granted
   * and unused; expired ones are gone by now), or this identity its share. Used rows are not counted: they
   * go a minute after their use and are never listed.
   */
  #full(identity: string | null): boolean {
    const waiting = (where: string, ...bindings: SqlStorageValue[]) =>
      this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM call_approvals WHERE used_at IS NULL${where}`, ...bindings).one().n
    if (waiting('') >= MAX_WAITING_CALLS) return true
    return identity !== null && waiting(' AND identity = ?', identity) >= MAX_WAITING_CALLS_PER_IDENTITY
  }

  /**
   * Gives back a grant `request` consumed at `usedAt` for a call that never left the firewall (its
   * budget refused it): the operator approved a call, not an attempt. Nothing when the grant expired
   * meanwhile, or the same call asked again since (that attempt recorded a new request).
   */
  restore(a: RestoreCallArgs, now: number): boolean {
    const cursor = this.sql.exec(`UPDATE call_approvals SET used_at = NULL WHERE id = ? AND used_at = ? AND expires_at >= ?`, a.id, a.usedAt, now)
    return cursor.rowsWritten > 0
  }

  grant(a: GrantCallArgs, now: number): CallApprovalView | null {
    const row = this.sql.exec<CallRow>(`SELECT * FROM call_approvals WHERE id = ? AND used_at IS NULL`, a.id).toArray()[0]
    if (!row) return null
    this.sql.exec(`UPDATE call_approvals SET granted_at = ?, granted_by = ?, expires_at = ? WHERE id = ?`, now, a.by, now + row.window_seconds * 1000, a.id)
    const after = this.sql.exec<CallRow>(`SELECT * FROM call_approvals WHERE id = ?`, a.id).toArray()[0]
    return after ? callView(after) : null
  }

  /**
   * Records that the user confirmed a call through elicitation, and that the call is running now: the
   * grant is used as it is made, so it can never serve a second call.
   */
  grantOnce(id: string, by: string, now: number): void {
    this.sql.exec(`UPDATE call_approvals SET granted_at = ?, granted_by = ?, expires_at = ?, used_at = ? WHERE id = ? AND used_at IS NULL`, now, by, now, now, id)
  }

  /**
   * An operator's no: drops a waiting request, or revokes a grant not yet used (it would otherwise run its
   * call within its window). The same call asked again is a new request. Null when there is no such row.
   */
  reject(id: string, now: number): CallApprovalView | null {
    const row = this.sql.exec<CallRow>(`SELECT * FROM call_approvals WHERE id = ? AND used_at IS NULL AND (expires_at IS NULL OR expires_at >= ?)`, id, now).toArray()[0]
    if (!row) return null
    this.sql.exec(`DELETE FROM call_approvals WHERE id = ?`, id)
    return callView(row)
  }

  list(now: number): CallApprovalView[] {
    return this.sql
      .exec<CallRow>(`SELECT * FROM call_approvals WHERE used_at IS NULL AND (expires_at IS NULL OR expires_at >= ?) ORDER BY requested_at DESC LIMIT ?`, now, MAX_WAITING_CALLS)
      .toArray()
      .map(callView)
  }

  purge(): void {
    this.sql.exec(`DELETE FROM call_approvals`)
  }
}

function callView(r: CallRow): CallApprovalView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
  return {
    id: r.id,
    origin: r.origin,
    tool: r.tool,
    identity: r.identity,
    arguments: unseenEscaped(r.arguments),
    requestedAt: new Date(r.requested_at).toISOString(),
    windowSeconds: r.window_seconds,
    grantedAt: iso(r.granted_at),
    grantedBy: r.granted_by,
    expiresAt: iso(r.expires_at),
  }
}
