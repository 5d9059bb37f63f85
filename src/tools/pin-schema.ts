/**
 * The schema version of the `ToolPins` object's SQLite and the migrations between versions, run once when
 * the object starts, before its stores open their tables.
 *
 * Table (docs/storage.md): meta(key, value)   schema_version, version (pin-rows.ts), purged (pin-store.ts)
 */
import { CallStore } from './call-store'
import { TaskStore } from './task-store'

/** 2: tasks record the identity that created them (task-store.ts). 3: call requests hold whole arguments (call-store.ts). */
const SCHEMA_VERSION = 3

/**
 * Creates the `meta` table, brings an object stored by an earlier version up to {@link SCHEMA_VERSION} in
 * one transaction, and records the version (and a pin set version of 0) on a new object.
 */
export function migrateSchema(storage: DurableObjectStorage): void {
  const sql = storage.sql
  sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
  const stored = sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'schema_version'`).toArray()[0]?.value
  if (stored === '1' || stored === '2') {
    storage.transactionSync(() => {
      if (stored === '1') TaskStore.migrateFrom1(sql)
      CallStore.migrateFrom2(sql)
      sql.exec(`UPDATE meta SET value = ? WHERE key = 'schema_version'`, String(SCHEMA_VERSION))
    })
  }
  sql.exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?), ('version', '0')`, String(SCHEMA_VERSION))
}
