/**
 * The pinned definitions of a tenant's origins (tools, prompts, resource templates), kept in the `ToolPins`
 * object's SQLite: one row per definition with its approved text and the candidate under review, the
 * definitions an operator refused, and the pin set version that tells edge caches to give way.
 *
 * Tables (docs/storage.md):
 *   pins(origin, kind, name, state, approved*, candidate*, first_seen)
 *   rejected(origin, kind, name, hash, definition, at, by)
 *   meta('version')   bumped on every change (the table itself is pin-schema.ts's)
 */
import { z } from 'zod'
import { comparisonOf } from './canonical'
import type { PinKind } from './canonical'
import type { ListChangeStore } from './list-change-store'
import { DefinitionFinding, MAX_PINS_PER_ORIGIN, MAX_REJECTED_PER_PIN, type ObserveArgs, type ObserveResult, type PinEntry, type PinSet, type PinState, type PinView } from './pin-types'

export interface PinRow extends Record<string, SqlStorageValue> {
  origin: string
  kind: string
  name: string
  state: string
  approved: string | null
  approved_hash: string | null
  approved_at: string | null
  approved_by: string | null
  candidate: string | null
  candidate_hash: string | null
  candidate_since: string | null
  candidate_reason: string | null
  candidate_findings: string | null
  decided_at: string | null
  decided_by: string | null
  first_seen: string
}

export class PinRowStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly listChanges: ListChangeStore,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS pins (
      origin TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
      approved TEXT, approved_hash TEXT, approved_at TEXT, approved_by TEXT,
      candidate TEXT, candidate_hash TEXT, candidate_since TEXT, candidate_reason TEXT, candidate_findings TEXT,
      decided_at TEXT, decided_by TEXT, first_seen TEXT NOT NULL,
      PRIMARY KEY (origin, kind, name))`)
    sql.exec(`CREATE TABLE IF NOT EXISTS rejected (
      origin TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL, definition TEXT NOT NULL,
      at TEXT NOT NULL, by TEXT NOT NULL, PRIMARY KEY (origin, kind, name, hash))`)
  }

  /**
   * Records the definitions of one list (`hashes[i]` is the SHA-256 of `a.items[i].definition`): see
   * `ToolPins.observe`. Whether any row changed, and the definitions that became pending.
   */
  observe(a: ObserveArgs, hashes: readonly string[], now: string): { changed: boolean; pending: ObserveResult['pending'] } {
    const pending: ObserveResult['pending'] = []
    let changed = false
    a.items.forEach((item, i) => {
      const hash = hashes[i] as string
      const row = this.row(a.origin, item.kind, item.name)
      const findings = JSON.stringify(item.scan.findings)
      if (!row) {
        if (this.#count(a.origin) >= MAX_PINS_PER_ORIGIN) return
        if (item.scan.held) {
          this.sql.exec(
            `INSERT INTO pins (origin, kind, name, state, candidate, candidate_hash, candidate_since, candidate_reason, candidate_findings, first_seen) VALUES (?, ?, ?, 'pending', ?, ?, ?, 'new', ?, ?)`,
            a.origin, item.kind, item.name, item.definition, hash, now, findings, now,
          )
          pending.push({ kind: item.kind, name: item.name, change: 'added' })
        } else {
          this.sql.exec(
            `INSERT INTO pins (origin, kind, name, state, approved, approved_hash, approved_at, approved_by, first_seen) VALUES (?, ?, ?, 'approved', ?, ?, ?, 'auto', ?)`,
            a.origin, item.kind, item.name, item.definition, hash, now, now,
          )
        }
        changed = true
        return
      }
      // A pending review keeps priority: it is decided before anything newer is looked at.
      if (row.state === 'pending') return
      const cmp = comparisonOf(item.kind, item.definition, a.volatile)
      const approvedForm = row.approved !== null && comparisonOf(item.kind, row.approved, a.volatile) === cmp
      // Volatile fields are left out of the comparison, never out of the scan: text that differs only there
      // is no change, but it reaches the model, so it is held when its scan holds it.
      if (approvedForm && (item.definition === row.approved || !item.scan.held)) {
        if (row.state === 'rejected' || item.definition !== row.approved) {
          // The origin serves the approved definition again (a refused one no longer applies), perhaps with
          // new volatile text that scanned clean: stored as served, so the same text is not scanned again.
          this.sql.exec(
            `UPDATE pins SET state = 'approved', approved = ?, approved_hash = ?, candidate = NULL, candidate_hash = NULL, candidate_since = NULL, candidate_reason = NULL, candidate_findings = NULL WHERE origin = ? AND kind = ? AND name = ?`,
            item.definition, hash, a.origin, item.kind, item.name,
          )
          changed = true
        }
        return
      }
      // A refused definition is recognised by its comparison form, or, when that is the approved one's, by its text.
      const matches = (def: string | null) => def !== null && (approvedForm ? def === item.definition : comparisonOf(item.kind, def, a.volatile) === cmp)
      if (matches(row.candidate)) return
      const refused = this.#rejected(a.origin, item.kind, item.name).find((r) => matches(r.definition))
      if (refused) {
        this.sql.exec(
          `UPDATE pins SET state = 'rejected', candidate = ?, candidate_hash = ?, candidate_since = ?, candidate_reason = 'changed', candidate_findings = ? WHERE origin = ? AND kind = ? AND name = ?`,
          refused.definition, refused.hash, now, findings, a.origin, item.kind, item.name,
        )
        changed = true
        return
      }
      const reason = row.approved === null ? 'new' : 'changed'
      this.sql.exec(
        `UPDATE pins SET state = 'pending', candidate = ?, candidate_hash = ?, candidate_since = ?, candidate_reason = ?, candidate_findings = ?, decided_at = NULL, decided_by = NULL WHERE origin = ? AND kind = ? AND name = ?`,
        item.definition, hash, now, reason, findings, a.origin, item.kind, item.name,
      )
      pending.push({ kind: item.kind, name: item.name, change: reason === 'new' ? 'added' : 'changed' })
      changed = true
    })
    return { changed, pending }
  }

  /** Every pin, or every pin of one (valid) origin, with definitions. */
  list(origin?: string): PinView[] {
    if (origin === undefined) return this.sql.exec<PinRow>(`SELECT * FROM pins ORDER BY origin, kind, name`).toArray().map(pinView)
    return this.sql.exec<PinRow>(`SELECT * FROM pins WHERE origin = ? ORDER BY kind, name`, origin).toArray().map(pinView)
  }

  /** The pending pins of an origin (optionally of one kind). */
  pending(origin: string, kind?: PinKind): PinRow[] {
    return this.sql
      .exec<PinRow>(`SELECT * FROM pins WHERE origin = ? AND state = 'pending' ${kind ? 'AND kind = ?' : ''} ORDER BY kind, name`, ...(kind ? [origin, kind] : [origin]))
      .toArray()
  }

  /** Makes the candidate of `row` its approved definition; a refusal of the same definition no longer applies. */
  approve(row: PinRow, by: string, now: string): void {
    this.sql.exec(
      `UPDATE pins SET state = 'approved', approved = candidate, approved_hash = candidate_hash, approved_at = ?, approved_by = ?,
         candidate = NULL, candidate_hash = NULL, candidate_since = NULL, candidate_reason = NULL, candidate_findings = NULL, decided_at = ?, decided_by = ?
       WHERE origin = ? AND kind = ? AND name = ?`,
      now, by, now, by, row.origin, row.kind, row.name,
    )
    this.sql.exec(`DELETE FROM rejected WHERE origin = ? AND kind = ? AND name = ? AND hash = ?`, row.origin, row.kind, row.name, row.candidate_hash)
  }

  /** Refuses the candidate of `row` (with its hash and definition): remembered, the newest MAX_REJECTED_PER_PIN per pin. */
  reject(row: PinRow, by: string, now: string): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO rejected (origin, kind, name, hash, definition, at, by) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      row.origin, row.kind, row.name, row.candidate_hash, row.candidate, now, by,
    )
    this.sql.exec(
      `DELETE FROM rejected WHERE origin = ? AND kind = ? AND name = ? AND hash NOT IN (SELECT hash FROM rejected WHERE origin = ? AND kind = ? AND name = ? ORDER BY at DESC LIMIT ?)`,
      row.origin, row.kind, row.name, row.origin, row.kind, row.name, MAX_REJECTED_PER_PIN,
    )
    this.sql.exec(`UPDATE pins SET state = 'rejected', decided_at = ?, decided_by = ? WHERE origin = ? AND kind = ? AND name = ?`, now, by, row.origin, row.kind, row.name)
  }

  row(origin: string, kind: PinKind, name: string): PinRow | null {
    return this.sql.exec<PinRow>(`SELECT * FROM pins WHERE origin = ? AND kind = ? AND name = ?`, origin, kind, name).toArray()[0] ?? null
  }

  /** Every pin of an origin, for the edge cache, with its refused definitions and stale lists. */
  set(origin: string): PinSet {
    const rejected = new Map<string, string[]>()
    for (const r of this.sql.exec<{ kind: string; name: string; definition: string }>(`SELECT kind, name, definition FROM rejected WHERE origin = ?`, origin)) {
      const key = `${r.kind}\n${r.name}`
      rejected.set(key, [...(rejected.get(key) ?? []), r.definition])
    }
    const entries: PinEntry[] = this.sql
      .exec<PinRow>(`SELECT kind, name, state, approved, candidate FROM pins WHERE origin = ?`, origin)
      .toArray()
      .map((r) => ({ kind: r.kind as PinKind, name: r.name, state: r.state as PinState, approved: r.approved, candidate: r.candidate, rejected: rejected.get(`${r.kind}\n${r.name}`) ?? [] }))
    const stale = this.listChanges.of(origin)
    return { origin, version: this.version(), entries, ...(Object.keys(stale).length > 0 ? { stale } : {}) }
  }

  version(): number {
    return Number(this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'version'`).one().value)
  }

  bump(): void {
    this.sql.exec(`UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'`)
  }

  purge(): void {
    this.sql.exec(`DELETE FROM pins`)
    this.sql.exec(`DELETE FROM rejected`)
  }

  #rejected(origin: string, kind: PinKind, name: string): Array<{ hash: string; definition: string }> {
    return this.sql.exec<{ hash: string; definition: string }>(`SELECT hash, definition FROM rejected WHERE origin = ? AND kind = ? AND name = ? ORDER BY at DESC`, origin, kind, name).toArray()
  }

  #count(origin: string): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM pins WHERE origin = ?`, origin).one().n
  }
}

/** A pin row as the admin API shows it. */
export function pinView(r: PinRow): PinView {
  return {
    origin: r.origin,
    kind: r.kind as PinKind,
    name: r.name,
    state: r.state as PinState,
    firstSeen: r.first_seen,
    approved: r.approved !== null && r.approved_hash !== null ? { hash: r.approved_hash, definition: r.approved, at: r.approved_at ?? '', by: r.approved_by ?? '' } : null,
    candidate:
      r.candidate !== null && r.candidate_hash !== null
        ? {
            hash: r.candidate_hash,
            definition: r.candidate,
            since: r.candidate_since ?? '',
            reason: r.candidate_reason === 'new' ? 'new' : 'changed',
            findings: parseFindings(r.candidate_findings),
            decidedAt: r.decided_at,
            decidedBy: r.decided_by,
          }
        : null,
  }
}

function parseFindings(text: string | null): Array<z.infer<typeof DefinitionFinding>> {
  if (text === null) return []
  try {
    const parsed = z.array(DefinitionFinding).safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : []
  } catch {
    return []
  }
}
