/**
 * Which tool each task runs (2025-11-25 tasks), kept in the `ToolPins` object's SQLite. A task-augmented
 * `tools/call` answers with a task id; its result comes later, from `tasks/result`, which names only the
 * task. The firewall records the tool when the task is created so that result is checked against the
 * tool's output schema, charged to the tool's budget and stopped by the tool's kill switch, as a direct
 * call's result is, whichever isolate serves it.
 *
 * Table (docs/storage.md): tasks(origin, task_id, tool, expires_at)
 */
import type { TaskArgs, TaskLookupArgs } from './pin-types'

/** Tasks remembered per tenant; past it, the oldest go first. */
const MAX_TASKS = 10_000

export class TaskStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS tasks (origin TEXT NOT NULL, task_id TEXT NOT NULL, tool TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (origin, task_id))`)
  }

  remember(a: TaskArgs, now: number): void {
    this.sql.exec(`DELETE FROM tasks WHERE expires_at < ?`, now)
    this.sql.exec(`INSERT OR REPLACE INTO tasks (origin, task_id, tool, expires_at) VALUES (?, ?, ?, ?)`, a.origin, a.taskId, a.tool, now + a.ttlMs)
    this.sql.exec(`DELETE FROM tasks WHERE rowid IN (SELECT rowid FROM tasks ORDER BY expires_at DESC LIMIT -1 OFFSET ?)`, MAX_TASKS)
  }

  tool(a: TaskLookupArgs, now: number): string | null {
    const row = this.sql.exec<{ tool: string }>(`SELECT tool FROM tasks WHERE origin = ? AND task_id = ? AND expires_at >= ?`, a.origin, a.taskId, now).toArray()[0]
    return row?.tool ?? null
  }

  purge(): void {
    this.sql.exec(`DELETE FROM tasks`)
  }
}
