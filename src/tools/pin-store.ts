/**
 * `ToolPins`: one SQLite-backed Durable Object per tenant (`env.TOOL_PINS.getByName(tenant)`) holding the
 * pinned definitions of its origins' tools, prompts and resource templates, the changes waiting for
 * review, and approvals of single sensitive calls. Strongly consistent; the edge reads it through
 * `pin-cache.ts` with a bounded staleness so it is not on every call.
 *
 * Tables (docs/storage.md):
 *   meta(key, value)                       schema_version (pin-schema.ts), version (bumped on every change; pin-rows.ts)
 *   pins(origin, kind, name, state, approved*, candidate*, first_seen)   (pin-rows.ts)
 *   rejected(origin, kind, name, hash, definition, at, by)               (pin-rows.ts)
 *   call_approvals(id, origin, tool, identity, arguments, requested_at, window_seconds, granted_*, expires_at, used_at)   (call-store.ts)
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
import { sendAlert } from '../alerts/send'
import { sha256Hex } from '../hex'
import type { PinKind } from './canonical'
import { CallStore } from './call-store'
import { ConfirmStore } from './confirm-store'
import { TaskStore, type TaskRecord } from './task-store'
import { ListChangeStore } from './list-change-store'
import { migrateSchema } from './pin-schema'
import { PinRowStore, pinView, type PinRow } from './pin-rows'
import {
  AnswerConfirmationArgs,
  ApproveAllArgs,
  AwaitConfirmationArgs,
  CallRequestArgs,
  DecideArgs,
  GrantCallArgs,
  RejectCallArgs,
  ListChangedArgs,
  ListCheckedArgs,
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
  type PinSet,
  type PinView,
} from './pin-types'

/** How long after a write to a purged object the alarm erases it. */
const ERASE_AFTER_MS = 60_000

export class ToolPins extends DurableObject<Env> {
  readonly #sql: SqlStorage
  readonly #calls: CallStore
  readonly #confirmations: ConfirmStore
  readonly #tasks: TaskStore
  readonly #listChanges: ListChangeStore
  readonly #pins: PinRowStore
  /** The tenant was deleted (`meta.purged`): whatever is written from now on is erased by the alarm. */
  #purged: boolean
  /** A write since the last erase armed the alarm (this instance's memory: a restart arms it again). */
  #eraseArmed = false

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#sql = ctx.storage.sql
    migrateSchema(ctx.storage)
    this.#calls = new CallStore(this.#sql)
    this.#confirmations = new ConfirmStore(this.#sql, this.#calls)
    this.#tasks = new TaskStore(this.#sql)
    this.#listChanges = new ListChangeStore(this.#sql)
    this.#pins = new PinRowStore(this.#sql, this.#listChanges)
    this.#purged = this.#sql.exec(`SELECT 1 FROM meta WHERE key = 'purged'`).toArray().length > 0
  }

  /** Every pin of an origin, for the edge cache. Null for an invalid origin key. */
  pinSet(origin: string): PinSet | null {
    const o = OriginKey.safeParse(origin)
    return o.success ? this.#pins.set(o.data) : null
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
    const { changed, pending } = this.#pins.observe(a, hashes, new Date().toISOString())
    if (changed) this.#pins.bump()
    this.#written()
    if (pending.length > 0) {
      const tools = pending.map((p) => ({ name: p.kind === 'tool' ? p.name : `${p.kind}:${p.name}`.slice(0, 200), change: p.change }))
      this.ctx.waitUntil(sendAlert(this.env, a.tenant, { type: 'tools.pending', data: { tools } }))
    }
    return { set: this.#pins.set(a.origin), pending }
  }

  /** Every pin of every origin (or one), with definitions, for the admin API. */
  list(origin?: string): PinView[] {
    if (origin === undefined) return this.#pins.list()
    const o = OriginKey.safeParse(origin)
    return o.success ? this.#pins.list(o.data) : []
  }

  /** Approves or rejects the definition under review. */
  decide(args: unknown): DecideResult {
    const parsed = DecideArgs.safeParse(args)
    if (!parsed.success) return { ok: false, error: 'invalid_request' }
    const a = parsed.data
    const row = this.#pins.row(a.origin, a.kind, a.name)
    if (!row) return { ok: false, error: 'not_found' }
    const reviewable = row.state === 'pending' || (a.decision === 'approve' && row.state === 'rejected')
    if (!reviewable || row.candidate === null || row.candidate_hash === null) return { ok: false, error: 'nothing_pending' }
    if (a.expectHash !== undefined && a.expectHash !== row.candidate_hash) return { ok: false, error: 'hash_mismatch' }
    const now = new Date().toISOString()
    if (a.decision === 'approve') this.#pins.approve(row, a.by, now)
    else this.#pins.reject(row, a.by, now)
    this.#pins.bump()
    this.#written()
    const after = this.#pins.row(a.origin, a.kind, a.name)
    return after ? { ok: true, pin: pinView(after) } : { ok: false, error: 'not_found' }
  }

  /** Approves every pending definition of an origin (optionally of one kind): the deploy pipeline's step. Null for invalid arguments. */
  approveAll(args: unknown): PinView[] | null {
    const parsed = ApproveAllArgs.safeParse(args)
    if (!parsed.success) return null
    const a = parsed.data
    const rows = this.#pins.pending(a.origin, a.kind)
    const now = new Date().toISOString()
    for (const row of rows) this.#pins.approve(row, a.by, now)
    if (rows.length > 0) this.#pins.bump()
    this.#written()
    return rows.map((r) => this.#pins.row(r.origin, r.kind as PinKind, r.name)).filter((r): r is PinRow => r !== null).map(pinView)
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
    this.#pins.bump()
    this.#listChanges.mark(a.data, this.#pins.version())
    this.#written()
    return this.#pins.set(a.data.origin)
  }

  /** An edge judged a complete list read after `marker`: the list is no longer stale. The origin's pins, or null for invalid arguments. */
  listChecked(args: unknown): PinSet | null {
    const a = ListCheckedArgs.safeParse(args)
    if (!a.success) return null
    if (this.#listChanges.checked(a.data)) this.#pins.bump()
    this.#written()
    return this.#pins.set(a.data.origin)
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
      this.#pins.purge()
      this.#calls.purge()
      this.#confirmations.purge()
      this.#tasks.purge()
      this.#listChanges.purge()
      this.#pins.bump()
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
}
