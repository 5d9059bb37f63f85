/**
 * Origin lists announced changed (`notifications/tools/list_changed`, `…/prompts/list_changed`) that no
 * edge has listed since, kept in the `ToolPins` object's SQLite and carried in every pin set, so an edge
 * in any isolate or location lists the origin before it decides the next call (src/tools/list-changed.ts).
 *
 * Table (docs/storage.md): list_changes(origin, kind, marker)
 */
import type { ListChangedArgs, ListCheckedArgs, ListedKind } from './pin-types'

export class ListChangeStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS list_changes (origin TEXT NOT NULL, kind TEXT NOT NULL, marker INTEGER NOT NULL, PRIMARY KEY (origin, kind))`)
  }

  /** Marks a list stale as of object version `version` (a later announcement moves the marker on). */
  mark(a: ListChangedArgs, version: number): void {
    this.sql.exec(`INSERT OR REPLACE INTO list_changes (origin, kind, marker) VALUES (?, ?, ?)`, a.origin, a.kind, version)
  }

  /** Clears a mark an edge listed after; true when one went. A mark newer than the edge's read stays. */
  checked(a: ListCheckedArgs): boolean {
    return this.sql.exec(`DELETE FROM list_changes WHERE origin = ? AND kind = ? AND marker <= ?`, a.origin, a.kind, a.marker).rowsWritten > 0
  }

  /** The stale lists of an origin, by kind. */
  of(origin: string): Partial<Record<ListedKind, number>> {
    const rows = this.sql.exec<{ kind: ListedKind; marker: number }>(`SELECT kind, marker FROM list_changes WHERE origin = ?`, origin).toArray()
    return Object.fromEntries(rows.map((r) => [r.kind, r.marker]))
  }

  purge(): void {
    this.sql.exec(`DELETE FROM list_changes`)
  }
}
