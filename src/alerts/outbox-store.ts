/**
 * The `deliveries` table of an `AlertOutbox` (docs/storage.md): one row per (alert, webhook), pending
 * until delivered, failed (attempts or age exhausted) or cancelled (the webhook was removed or no longer
 * subscribes). Times are epoch milliseconds.
 */

const STATUSES = ['pending', 'delivered', 'failed', 'cancelled'] as const
export type DeliveryStatus = (typeof STATUSES)[number]

/** True for a status this table writes. */
export function isDeliveryStatus(s: string): s is DeliveryStatus {
  return (STATUSES as readonly string[]).includes(s)
}

export type DeliveryRow = {
  seq: number
  event_id: string
  webhook_id: string
  type: string
  url: string
  body: string
  created_at: number
  status: string
  attempts: number
  next_at: number | null
  last_attempt_at: number | null
  last_status: number | null
  last_error: string | null
}

/** A delivery as the admin API lists it. */
export interface DeliveryInfo {
  eventId: string
  webhookId: string
  type: string
  url: string
  status: DeliveryStatus
  attempts: number
  createdAt: string
  lastAttemptAt: string | null
  nextAttemptAt: string | null
  lastStatus: number | null
  lastError: string | null
}

export interface NewDelivery {
  eventId: string
  webhookId: string
  type: string
  url: string
  body: string
  createdAt: number
  nextAt: number
}

const SCHEMA_VERSION = 1

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

export class DeliveryTable {
  readonly #sql: SqlStorage

  constructor(sql: SqlStorage) {
    this.#sql = sql
    sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
    sql.exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)`, String(SCHEMA_VERSION))
    sql.exec(`CREATE TABLE IF NOT EXISTS deliveries (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      event_id TEXT NOT NULL,
      webhook_id TEXT NOT NULL,
      type TEXT NOT NULL,
      url TEXT NOT NULL,
      body TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      status TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_at INTEGER,
      last_attempt_at INTEGER,
      last_status INTEGER,
      last_error TEXT,
      UNIQUE (event_id, webhook_id)
    )`)
    sql.exec(`CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at)`)
  }

  /** The tenant this object serves, recorded by the first alert; null before that. */
  tenant(): string | null {
    return this.#sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'tenant'`).toArray()[0]?.value ?? null
  }

  setTenant(tenant: string): void {
    this.#sql.exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('tenant', ?)`, tenant)
  }

  insert(d: NewDelivery): void {
    this.#sql.exec(
      `INSERT OR IGNORE INTO deliveries (event_id, webhook_id, type, url, body, created_at, status, attempts, next_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?)`,
      d.eventId, d.webhookId, d.type, d.url, d.body, d.createdAt, d.nextAt,
    )
  }

  /**
   * A pending delivery of `type` to `webhookId` not yet attempted nor due at `now` (what a new summary
   * merges into). A due row may be on its way to the receiver already: merged into, its new counts would
   * never be sent, or be sent later under an event id the receiver has already seen.
   */
  unsent(webhookId: string, type: string, now: number): DeliveryRow | null {
    return (
      this.#sql
        .exec<DeliveryRow>(`SELECT * FROM deliveries WHERE status = 'pending' AND attempts = 0 AND next_at > ? AND webhook_id = ? AND type = ? ORDER BY seq DESC LIMIT 1`, now, webhookId, type)
        .toArray()[0] ?? null
    )
  }

  setBody(seq: number, body: string): void {
    this.#sql.exec(`UPDATE deliveries SET body = ? WHERE seq = ?`, body, seq)
  }

  /** Pending deliveries of one webhook. */
  pendingCountFor(webhookId: string): number {
    return this.#sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending' AND webhook_id = ?`, webhookId).one().n
  }

  /**
   * Pending deliveries due at `now`, in turns across webhooks (each one's oldest first, then each one's
   * second…): a receiver whose retries pile up faster than they are tried cannot fill every batch and
   * hold back the other webhooks' alerts behind its backlog.
   */
  due(now: number, limit: number): DeliveryRow[] {
    return this.#sql
      .exec<DeliveryRow>(
        `SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY webhook_id ORDER BY next_at, seq) AS turn FROM deliveries WHERE status = 'pending' AND next_at <= ?) ORDER BY turn, next_at, seq LIMIT ?`,
        now, limit,
      )
      .toArray()
  }

  /** When the earliest pending delivery is due, or null when none is pending. */
  nextDue(): number | null {
    return this.#sql.exec<{ at: number | null }>(`SELECT MIN(next_at) AS at FROM deliveries WHERE status = 'pending'`).one().at
  }

  /** Records an attempt: still `pending` with its next time, or finished (`nextAt` null). */
  recordAttempt(seq: number, a: { status: DeliveryStatus; at: number; url: string; nextAt: number | null; httpStatus: number | null; error: string | null }): void {
    this.#sql.exec(
      `UPDATE deliveries SET status = ?, url = ?, attempts = attempts + 1, next_at = ?, last_attempt_at = ?, last_status = ?, last_error = ? WHERE seq = ?`,
      a.status, a.url, a.nextAt, a.at, a.httpStatus, a.error, seq,
    )
  }

  /** Finishes a delivery without an attempt (its webhook is gone, or the tenant is). */
  cancel(seq: number, reason: string): void {
    this.#sql.exec(`UPDATE deliveries SET status = 'cancelled', next_at = NULL, last_error = ? WHERE seq = ?`, reason, seq)
  }

  /** Keeps the newest `retain` finished rows; pending rows are never trimmed. */
  trim(retain: number): void {
    this.#sql.exec(
      `DELETE FROM deliveries WHERE status != 'pending' AND seq NOT IN (SELECT seq FROM deliveries WHERE status != 'pending' ORDER BY seq DESC LIMIT ?)`,
      retain,
    )
  }

  /** Newest first, optionally one status only. */
  list(limit: number, status?: DeliveryStatus): DeliveryInfo[] {
    const rows = status
      ? this.#sql.exec<DeliveryRow>(`SELECT * FROM deliveries WHERE status = ? ORDER BY seq DESC LIMIT ?`, status, limit).toArray()
      : this.#sql.exec<DeliveryRow>(`SELECT * FROM deliveries ORDER BY seq DESC LIMIT ?`, limit).toArray()
    return rows.map((r) => ({
      eventId: r.event_id,
      webhookId: r.webhook_id,
      type: r.type,
      url: r.url,
      status: isDeliveryStatus(r.status) ? r.status : 'failed',
      attempts: r.attempts,
      createdAt: new Date(r.created_at).toISOString(),
      lastAttemptAt: iso(r.last_attempt_at),
      nextAttemptAt: iso(r.next_at),
      lastStatus: r.last_status,
      lastError: r.last_error,
    }))
  }

  /** Deletes every delivery (tenant deletion). */
  purge(): void {
    this.#sql.exec(`DELETE FROM deliveries`)
  }
}
