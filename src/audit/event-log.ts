/**
 * `SecurityEventLog`: one SQLite-backed Durable Object per tenant that keeps its security events
 * (blocks, redactions, flags, monitor-mode hits). Workers keep only about 256 KB of logs per
 * invocation, so long streams cannot rely on log lines; this sink never samples or drops an event
 * the Worker hands it, and keeps the newest `RETAIN` rows.
 */
import { DurableObject } from 'cloudflare:workers'
import { z } from 'zod'
import type { VerdictEvent } from './events'

/** One admin write: who made it (operator or key id), the method and path, and the status answered. */
export const AdminWrite = z
  .object({ ts: z.string(), actor: z.string().max(200), method: z.string().max(10), path: z.string().max(500), status: z.number().int(), requestId: z.string().max(100) })
  .strict()
export type AdminWrite = z.infer<typeof AdminWrite>

const RETAIN = 10_000
const SCHEMA_VERSION = 1

export class SecurityEventLog extends DurableObject<Env> {
  readonly #sql: SqlStorage

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#sql = ctx.storage.sql
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, body TEXT NOT NULL)`)
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS admin_writes (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, body TEXT NOT NULL)`)
    this.#sql.exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)`, String(SCHEMA_VERSION))
  }

  /** Records one successful admin write (who, what, when); the newest `RETAIN` are kept. */
  recordAdminWrite(write: AdminWrite): void {
    const w = AdminWrite.parse(write)
    this.#sql.exec(`INSERT INTO admin_writes (ts, body) VALUES (?, ?)`, w.ts, JSON.stringify(w))
    this.#sql.exec(`DELETE FROM admin_writes WHERE seq <= (SELECT MAX(seq) FROM admin_writes) - ?`, RETAIN)
  }

  /** The newest admin writes first. */
  listAdminWrites(limit: number): AdminWrite[] {
    const rows = this.#sql.exec<{ body: string }>(`SELECT body FROM admin_writes ORDER BY seq DESC LIMIT ?`, Math.min(limit, 1000)).toArray()
    return rows.map((r) => JSON.parse(r.body) as AdminWrite)
  }

  /** Appends a batch of events and trims the log to the newest `RETAIN` rows. */
  append(events: VerdictEvent[]): number {
    for (const e of events) this.#sql.exec(`INSERT INTO events (ts, body) VALUES (?, ?)`, e.ts, JSON.stringify(e))
    this.#sql.exec(`DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?`, RETAIN)
    return events.length
  }

  /** The newest events first. */
  list(limit: number): VerdictEvent[] {
    const rows = this.#sql.exec<{ body: string }>(`SELECT body FROM events ORDER BY seq DESC LIMIT ?`, Math.min(limit, 1000)).toArray()
    return rows.map((r) => JSON.parse(r.body) as VerdictEvent)
  }
}
