/**
 * `ToolPins`: one SQLite-backed Durable Object per tenant (`env.TOOL_PINS.getByName(tenant)`) holding the
 * pinned definitions of its origins' tools, prompts and resource templates, the changes waiting for
 * review, and approvals of single sensitive calls. Strongly consistent; the edge reads it through
 * `pin-cache.ts` with a bounded staleness so it is not on every call.
 *
 * Tables (docs/storage.md):
 *   meta(key, value)                       schema_version, version (bumped on every change)
 *   pins(origin, kind, name, state, approved*, candidate*, first_seen)
 *   rejected(origin, kind, name, hash, definition, at, by)
 *   call_approvals(id, origin, tool, identity, arguments, requested_at, window_seconds, granted_*, expires_at, used_at)
 *   confirm_sessions, confirmations        the user's own confirmations by elicitation (confirm-store.ts)
 *   list_changes(origin, kind, marker)     lists the origin announced changed, not listed since (list-change-store.ts)
 *   tasks(origin, task_id, tool, expires_at, identity)   tasks the origin created (task-store.ts)
 *
 * `meta` also holds `purged` once the tenant was deleted: streams and isolates still serving the deleted
 * tenant may write again after the purge, and such a write arms an alarm that erases it.
 *
 * Arguments are validated here (zod) and refused with a null / error result, never half-applied.
 *
 * A pin's `state`: `approved` (the approved definition is what the origin serves), `pending` (a new or
 * changed definition waits for review; `candidate` holds it) or `rejected` (the origin serves a refused
 * definition). Only `approved` is visible and callable in enforce mode.
 */
import { DurableObject } from 'cloudflare:workers'
import { z } from 'zod'
import { sendAlert } from '../alerts/send'
import { comparisonOf } from './canonical'
import { sha256Hex } from '../hex'
import type { PinKind } from './canonical'
import { CallStore } from './call-store'
import { ConfirmStore } from './confirm-store'
import { TaskStore, type TaskRecord } from './task-store'
import { ListChangeStore } from './list-change-store'
import {
  AnswerConfirmationArgs,
  ApproveAllArgs,
  AwaitConfirmationArgs,
  CallRequestArgs,
  DecideArgs,
  DefinitionFinding,
  GrantCallArgs,
  RejectCallArgs,
  ListChangedArgs,
  ListCheckedArgs,
  MAX_PINS_PER_ORIGIN,
  MAX_REJECTED_PER_PIN,
  ObserveArgs,
  OpenConfirmationArgs,
  OpenContinuationArgs,
  OriginKey,
  PeekCallArgs,
  RedeemArgs,
  RestoreCallArgs,
  SessionArgs,
  TaskArgs,
  TaskListArgs,
  TaskLookupArgs,
  type CallApprovalView,
  type CallDecision,
  type ConfirmationOutcome,
  type DecideResult,
  type ObserveResult,
  type PinEntry,
  type PinSet,
  type PinState,
  type PinView,
} from './pin-types'

/** 2: tasks record the identity that created them (task-store.ts). 3: call requests hold whole arguments (call-store.ts). */
const SCHEMA_VERSION = 3
/** How long after a write to a purged object the alarm erases it. */
const ERASE_AFTER_MS = 60_000

interface PinRow extends Record<string, SqlStorageValue> {
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

export class ToolPins extends DurableObject<Env> {
  readonly #sql: SqlStorage
  readonly #calls: CallStore
  readonly #confirmations: ConfirmStore
  readonly #tasks: TaskStore
  readonly #listChanges: ListChangeStore
  /** The tenant was deleted (`meta.purged`): whatever is written from now on is erased by the alarm. */
  #purged: boolean
  /** A write since the last erase armed the alarm (this instance's memory: a restart arms it again). */
  #eraseArmed = false

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#sql = ctx.storage.sql
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS pins (
      origin TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
      approved TEXT, approved_hash TEXT, approved_at TEXT, approved_by TEXT,
      candidate TEXT, candidate_hash TEXT, candidate_since TEXT, candidate_reason TEXT, candidate_findings TEXT,
      decided_at TEXT, decided_by TEXT, first_seen TEXT NOT NULL,
      PRIMARY KEY (origin, kind, name))`)
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS rejected (
      origin TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL, definition TEXT NOT NULL,
      at TEXT NOT NULL, by TEXT NOT NULL, PRIMARY KEY (origin, kind, name, hash))`)
    const stored = this.#sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'schema_version'`).toArray()[0]?.value
    if (stored === '1' || stored === '2') {
      ctx.storage.transactionSync(() => {
        if (stored === '1') TaskStore.migrateFrom1(this.#sql)
        CallStore.migrateFrom2(this.#sql)
        this.#sql.exec(`UPDATE meta SET value = ? WHERE key = 'schema_version'`, String(SCHEMA_VERSION))
      })
    }
    this.#sql.exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?), ('version', '0')`, String(SCHEMA_VERSION))
    this.#calls = new CallStore(this.#sql)
    this.#confirmations = new ConfirmStore(this.#sql, this.#calls)
    this.#tasks = new TaskStore(this.#sql)
    this.#listChanges = new ListChangeStore(this.#sql)
    this.#purged = this.#sql.exec(`SELECT 1 FROM meta WHERE key = 'purged'`).toArray().length > 0
  }

  /** Every pin of an origin, for the edge cache. Null for an invalid origin key. */
  pinSet(origin: string): PinSet | null {
    const o = OriginKey.safeParse(origin)
    return o.success ? this.#set(o.data) : null
  }

  /**
   * Records definitions seen in a list: first-seen and scan-clean ones are approved, first-seen held
   * ones and changed ones become pending (one `tools.pending` alert per call that made any), a served
   * refused definition marks its pin rejected, and the approved definition served again clears that.
   * The approved definition with new text in volatile fields is pending when its scan holds it, and
   * otherwise stored as the approved text. Null for invalid arguments (nothing is written).
   */
  async observe(args: unknown): Promise<ObserveResult | null> {
    const parsed = ObserveArgs.safeParse(args)
    if (!parsed.success) return null
    const a = parsed.data
    // Hashes first: everything after the await runs without a break, so no other call interleaves.
    const hashes = await Promise.all(a.items.map((i) => sha256Hex(i.definition)))
    const now = new Date().toISOString()
    const pending: ObserveResult['pending'] = []
    let changed = false
    a.items.forEach((item, i) => {
      const hash = hashes[i] as string
      const row = this.#row(a.origin, item.kind, item.name)
      const findings = JSON.stringify(item.scan.findings)
      if (!row) {
        if (this.#count(a.origin) >= MAX_PINS_PER_ORIGIN) return
        if (item.scan.held) {
          this.#sql.exec(
            `INSERT INTO pins (origin, kind, name, state, candidate, candidate_hash, candidate_since, candidate_reason, candidate_findings, first_seen) VALUES (?, ?, ?, 'pending', ?, ?, ?, 'new', ?, ?)`,
            a.origin, item.kind, item.name, item.definition, hash, now, findings, now,
          )
          pending.push({ kind: item.kind, name: item.name, change: 'added' })
        } else {
          this.#sql.exec(
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
          this.#sql.exec(
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
        this.#sql.exec(
          `UPDATE pins SET state = 'rejected', candidate = ?, candidate_hash = ?, candidate_since = ?, candidate_reason = 'changed', candidate_findings = ? WHERE origin = ? AND kind = ? AND name = ?`,
          refused.definition, refused.hash, now, findings, a.origin, item.kind, item.name,
        )
        changed = true
        return
      }
      const reason = row.approved === null ? 'new' : 'changed'
      this.#sql.exec(
        `UPDATE pins SET state = 'pending', candidate = ?, candidate_hash = ?, candidate_since = ?, candidate_reason = ?, candidate_findings = ?, decided_at = NULL, decided_by = NULL WHERE origin = ? AND kind = ? AND name = ?`,
        item.definition, hash, now, reason, findings, a.origin, item.kind, item.name,
      )
      pending.push({ kind: item.kind, name: item.name, change: reason === 'new' ? 'added' : 'changed' })
      changed = true
    })
    if (changed) this.#bump()
    this.#written()
    if (pending.length > 0) {
      const tools = pending.map((p) => ({ name: p.kind === 'tool' ? p.name : `${p.kind}:${p.name}`.slice(0, 200), change: p.change }))
      this.ctx.waitUntil(sendAlert(this.env, a.tenant, { type: 'tools.pending', data: { tools } }))
    }
    return { set: this.#set(a.origin), pending }
  }

  /** Every pin of every origin (or one), with definitions, for the admin API. */
  list(origin?: string): PinView[] {
    if (origin === undefined) return this.#sql.exec<PinRow>(`SELECT * FROM pins ORDER BY origin, kind, name`).toArray().map(view)
    const o = OriginKey.safeParse(origin)
    return o.success ? this.#sql.exec<PinRow>(`SELECT * FROM pins WHERE origin = ? ORDER BY kind, name`, o.data).toArray().map(view) : []
  }

  /** Approves or rejects the definition under review. */
  decide(args: unknown): DecideResult {
    const parsed = DecideArgs.safeParse(args)
    if (!parsed.success) return { ok: false, error: 'invalid_request' }
    const a = parsed.data
    const row = this.#row(a.origin, a.kind, a.name)
    if (!row) return { ok: false, error: 'not_found' }
    const reviewable = row.state === 'pending' || (a.decision === 'approve' && row.state === 'rejected')
    if (!reviewable || row.candidate === null || row.candidate_hash === null) return { ok: false, error: 'nothing_pending' }
    if (a.expectHash !== undefined && a.expectHash !== row.candidate_hash) return { ok: false, error: 'hash_mismatch' }
    const now = new Date().toISOString()
    if (a.decision === 'approve') this.#approve(row, a.by, now)
    else {
      this.#sql.exec(
        `INSERT OR REPLACE INTO rejected (origin, kind, name, hash, definition, at, by) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        a.origin, a.kind, a.name, row.candidate_hash, row.candidate, now, a.by,
      )
      this.#sql.exec(
        `DELETE FROM rejected WHERE origin = ? AND kind = ? AND name = ? AND hash NOT IN (SELECT hash FROM rejected WHERE origin = ? AND kind = ? AND name = ? ORDER BY at DESC LIMIT ?)`,
        a.origin, a.kind, a.name, a.origin, a.kind, a.name, MAX_REJECTED_PER_PIN,
      )
      this.#sql.exec(`UPDATE pins SET state = 'rejected', decided_at = ?, decided_by = ? WHERE origin = ? AND kind = ? AND name = ?`, now, a.by, a.origin, a.kind, a.name)
    }
    this.#bump()
    this.#written()
    const after = this.#row(a.origin, a.kind, a.name)
    return after ? { ok: true, pin: view(after) } : { ok: false, error: 'not_found' }
  }

  /** Approves every pending definition of an origin (optionally of one kind): the deploy pipeline's step. Null for invalid arguments. */
  approveAll(args: unknown): PinView[] | null {
    const parsed = ApproveAllArgs.safeParse(args)
    if (!parsed.success) return null
    const a = parsed.data
    const rows = this.#sql
      .exec<PinRow>(`SELECT * FROM pins WHERE origin = ? AND state = 'pending' ${a.kind ? 'AND kind = ?' : ''} ORDER BY kind, name`, ...(a.kind ? [a.origin, a.kind] : [a.origin]))
      .toArray()
    const now = new Date().toISOString()
    for (const row of rows) this.#approve(row, a.by, now)
    if (rows.length > 0) this.#bump()
    this.#written()
    return rows.map((r) => this.#row(r.origin, r.kind as PinKind, r.name)).filter((r): r is PinRow => r !== null).map(view)
  }

  /** A sensitive call: consumes a granted, unexpired approval for exactly this call, or records a request. Null for invalid arguments. */
  requestCall(args: unknown): CallDecision | null {
    const a = CallRequestArgs.safeParse(args)
    return a.success ? this.#written(this.#calls.request(a.data, Date.now())) : null
  }

  /**
   * Whether `requestCall` would grant this call now, without recording a request or using the grant up:
   * monitor mode logs what enforce mode would do and leaves the operator's grant for it. Null for invalid arguments.
   */
  callGranted(args: unknown): boolean | null {
    const a = PeekCallArgs.safeParse(args)
    return a.success ? this.#calls.granted(a.data.callHash, Date.now()) : null
  }

  /** Grants a requested call; it may then run once within its window. Null when no such request exists. */
  grantCall(args: unknown): CallApprovalView | null {
    const a = GrantCallArgs.safeParse(args)
    return a.success ? this.#written(this.#calls.grant(a.data, Date.now())) : null
  }

  /** Drops a waiting request or revokes an unused grant (see CallStore.reject). Null when there is none. */
  rejectCall(args: unknown): CallApprovalView | null {
    const a = RejectCallArgs.safeParse(args)
    return a.success ? this.#written(this.#calls.reject(a.data.id, Date.now())) : null
  }

  /** Gives back a grant `requestCall` consumed for a call the firewall then refused (see CallStore.restore). */
  restoreCall(args: unknown): boolean {
    const a = RestoreCallArgs.safeParse(args)
    return a.success ? this.#written(this.#calls.restore(a.data, Date.now())) : false
  }

  /** Calls waiting for an approval, or granted and not yet used. */
  listCalls(): CallApprovalView[] {
    return this.#calls.list(Date.now())
  }

  /** Remembers a legacy session whose `initialize` declared form elicitation. False for invalid arguments. */
  rememberSession(args: unknown): boolean {
    const a = SessionArgs.safeParse(args)
    if (a.success) this.#written(this.#confirmations.rememberSession(a.data, Date.now()))
    return a.success
  }

  /** Opens a user confirmation of a sensitive call; null when it cannot be asked (see ConfirmStore.open) or for invalid arguments. */
  openConfirmation(args: unknown): { id: string } | null {
    const a = OpenConfirmationArgs.safeParse(args)
    return a.success ? this.#written(this.#confirmations.open(a.data, Date.now())) : null
  }

  /** Wraps an origin's MRTR state on an approved call. Null for invalid arguments or too many open. */
  openContinuation(args: unknown): { id: string } | null {
    const a = OpenContinuationArgs.safeParse(args)
    return a.success ? this.#written(this.#confirmations.openContinuation(a.data, Date.now())) : null
  }

  /** Uses up a firewall `requestState` presented on a 2026-07-28 retry. */
  redeemConfirmation(args: unknown): ConfirmationOutcome {
    const a = RedeemArgs.safeParse(args)
    return a.success ? this.#written(this.#confirmations.redeem(a.data, Date.now())) : 'invalid'
  }

  /** A legacy client's answer to the firewall's question; wakes the isolate holding the call. */
  answerConfirmation(args: unknown): boolean {
    const a = AnswerConfirmationArgs.safeParse(args)
    return a.success ? this.#written(this.#confirmations.answer(a.data, Date.now())) : false
  }

  /** Resolves with the outcome of a legacy confirmation once answered, or `timeout`. */
  async awaitConfirmation(args: unknown): Promise<ConfirmationOutcome> {
    const a = AwaitConfirmationArgs.safeParse(args)
    return a.success ? this.#written(await this.#confirmations.await(a.data)) : 'invalid'
  }

  /**
   * The origin announced a changed list: until an edge has listed it again, every edge lists it before the
   * next call (the version bump makes cached copies give way). The origin's pins, or null for invalid arguments.
   */
  listChanged(args: unknown): PinSet | null {
    const a = ListChangedArgs.safeParse(args)
    if (!a.success) return null
    this.#bump()
    this.#listChanges.mark(a.data, this.#version())
    this.#written()
    return this.#set(a.data.origin)
  }

  /** An edge judged a complete list read after `marker`: the list is no longer stale. The origin's pins, or null for invalid arguments. */
  listChecked(args: unknown): PinSet | null {
    const a = ListCheckedArgs.safeParse(args)
    if (!a.success) return null
    if (this.#listChanges.checked(a.data)) this.#bump()
    this.#written()
    return this.#set(a.data.origin)
  }

  /** Remembers the tool a task runs. False for invalid arguments. */
  rememberTask(args: unknown): boolean {
    const a = TaskArgs.safeParse(args)
    if (a.success) this.#written(this.#tasks.remember(a.data, Date.now()))
    return a.success
  }

  /** The tool a task runs and the identity that created it, or null when it is not known (or expired, or the arguments are invalid). */
  task(args: unknown): TaskRecord | null {
    const a = TaskLookupArgs.safeParse(args)
    return a.success ? this.#tasks.task(a.data, Date.now()) : null
  }

  /** Which of a `tasks/list` page's task ids the identity created; null for invalid arguments. */
  ownedTasks(args: unknown): string[] | null {
    const a = TaskListArgs.safeParse(args)
    return a.success ? this.#tasks.owned(a.data, Date.now()) : null
  }

  /** Removes everything (tenant deletion). */
  purge(): void {
    this.#erase()
  }

  /** Erases what was written after the purge (see `#written`). */
  override alarm(): void {
    if (this.#purged) this.#erase()
  }

  /**
   * Erases everything and remembers that it did. A stream opened before the deletion, or an isolate that
   * still holds the deleted tenant's config, may write again (pins, a task and its identity, a call's
   * arguments): that write arms the alarm (`#written`), which erases it too.
   */
  #erase(): void {
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec(`DELETE FROM pins`)
      this.#sql.exec(`DELETE FROM rejected`)
      this.#calls.purge()
      this.#confirmations.purge()
      this.#tasks.purge()
      this.#listChanges.purge()
      this.#bump()
      this.#sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('purged', '1')`)
    })
    this.#purged = true
    this.#eraseArmed = false
  }

  /** After a write: on a purged object, arms the alarm that erases it. Returns `value` (the write's answer). */
  #written<T>(value?: T): T {
    if (this.#purged && !this.#eraseArmed) {
      this.#eraseArmed = true
      void this.ctx.storage.setAlarm(Date.now() + ERASE_AFTER_MS)
    }
    return value as T
  }

  #approve(row: PinRow, by: string, now: string): void {
    this.#sql.exec(
      `UPDATE pins SET state = 'approved', approved = candidate, approved_hash = candidate_hash, approved_at = ?, approved_by = ?,
         candidate = NULL, candidate_hash = NULL, candidate_since = NULL, candidate_reason = NULL, candidate_findings = NULL, decided_at = ?, decided_by = ?
       WHERE origin = ? AND kind = ? AND name = ?`,
      now, by, now, by, row.origin, row.kind, row.name,
    )
    this.#sql.exec(`DELETE FROM rejected WHERE origin = ? AND kind = ? AND name = ? AND hash = ?`, row.origin, row.kind, row.name, row.candidate_hash)
  }

  #row(origin: string, kind: PinKind, name: string): PinRow | null {
    return this.#sql.exec<PinRow>(`SELECT * FROM pins WHERE origin = ? AND kind = ? AND name = ?`, origin, kind, name).toArray()[0] ?? null
  }

  #rejected(origin: string, kind: PinKind, name: string): Array<{ hash: string; definition: string }> {
    return this.#sql.exec<{ hash: string; definition: string }>(`SELECT hash, definition FROM rejected WHERE origin = ? AND kind = ? AND name = ? ORDER BY at DESC`, origin, kind, name).toArray()
  }

  #count(origin: string): number {
    return this.#sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM pins WHERE origin = ?`, origin).one().n
  }

  #set(origin: string): PinSet {
    const rejected = new Map<string, string[]>()
    for (const r of this.#sql.exec<{ kind: string; name: string; definition: string }>(`SELECT kind, name, definition FROM rejected WHERE origin = ?`, origin)) {
      const key = `${r.kind}\n${r.name}`
      rejected.set(key, [...(rejected.get(key) ?? []), r.definition])
    }
    const entries: PinEntry[] = this.#sql
      .exec<PinRow>(`SELECT kind, name, state, approved, candidate FROM pins WHERE origin = ?`, origin)
      .toArray()
      .map((r) => ({ kind: r.kind as PinKind, name: r.name, state: r.state as PinState, approved: r.approved, candidate: r.candidate, rejected: rejected.get(`${r.kind}\n${r.name}`) ?? [] }))
    const stale = this.#listChanges.of(origin)
    return { origin, version: this.#version(), entries, ...(Object.keys(stale).length > 0 ? { stale } : {}) }
  }

  #version(): number {
    return Number(this.#sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'version'`).one().value)
  }

  #bump(): void {
    this.#sql.exec(`UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'`)
  }
}

function view(r: PinRow): PinView {
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
