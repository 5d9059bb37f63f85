/**
 * Which tool each task runs (2025-11-25 tasks), and whom it belongs to, kept in the `ToolPins` object's
 * SQLite. A task-augmented `tools/call` answers with a task id; its result comes later, from
 * `tasks/result`, which names only the task. The firewall records the tool when the task is created so
 * that result is checked against the tool's output schema, charged to the tool's budget and stopped by
 * the tool's kill switch, as a direct call's result is, whichever isolate serves it. It records the
 * verified identity of the caller that created it too (apiKey and jwt mode): the origin sees the
 * firewall's credential for every client, so only the firewall can keep one client's tasks from another.
 *
 * Table (docs/storage.md): tasks(origin, task_id, tool, expires_at, identity)
 */
import type { TaskArgs, TaskListArgs, TaskLookupArgs } from './pin-types'

/** Tasks remembered per tenant; past it, the oldest go first. */
const MAX_TASKS = 10_000

/** What the store knows of a task: its tool, and the identity whose call created it (null: none verified, or recorded before identities were). */
export interface TaskRecord {
  tool: string
  identity: string | null
}

export class TaskStore {
  /**
   * Schema version 1 → 2: tasks gain `identity`. The rows already there keep null, so no verified caller
   * can use them (the creator was never recorded); without client authentication they work as before.
   */
  static migrateFrom1(sql: SqlStorage): void {
    sql.exec(`CREATE TABLE IF NOT EXISTS tasks (origin TEXT NOT NULL, task_id TEXT NOT NULL, tool TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (origin, task_id))`)
    sql.exec(`ALTER TABLE tasks ADD COLUMN identity TEXT`)
  }

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS tasks (origin TEXT NOT NULL, task_id TEXT NOT NULL, tool TEXT NOT NULL, expires_at INTEGER NOT NULL, identity TEXT, PRIMARY KEY (origin, task_id))`)
  }

  remember(a: TaskArgs, now: number): void {
    this.sql.exec(`DELETE FROM tasks WHERE expires_at < ?`, now)
    this.sql.exec(`INSERT OR REPLACE INTO tasks (origin, task_id, tool, expires_at, identity) VALUES (?, ?, ?, ?, ?)`, a.origin, a.taskId, a.tool, now + a.ttlMs, a.identity)
    this.sql.exec(`DELETE FROM tasks WHERE rowid IN (SELECT rowid FROM tasks ORDER BY expires_at DESC LIMIT -1 OFFSET ?)`, MAX_TASKS)
  }

  task(a: TaskLookupArgs, now: number): TaskRecord | null {
    const row = this.sql.exec<{ tool: string; identity: string | null }>(`SELECT tool, identity FROM tasks WHERE origin = ? AND task_id = ? AND expires_at >= ?`, a.origin, a.taskId, now).toArray()[0]
    return row ? { tool: row.tool, identity: row.identity } : null
  }

  /** Which of `taskIds` were created by `identity` (and have not expired). */
  owned(a: TaskListArgs, now: number): string[] {
    const owned: string[] = []
    for (const taskId of new Set(a.taskIds)) {
      if (this.sql.exec(`SELECT 1 FROM tasks WHERE origin = ? AND task_id = ? AND identity = ? AND expires_at >= ?`, a.origin, taskId, a.identity, now).toArray().length > 0) owned.push(taskId)
    }
    return owned
  }

  purge(): void {
    this.sql.exec(`DELETE FROM tasks`)
  }
}
