/**
 * The isolate's side of a tenant budget: allowances leased from the `TenantBudget` object and spent
 * locally, so most messages cost no object call.
 *
 * - A spend is covered locally when every limited metric of every scope it touches has a live lease
 *   with enough left; the debit is synchronous, so concurrent requests in the isolate cannot both
 *   spend the same allowance.
 * - Otherwise the object is asked: the uncovered scopes' old leases are retired (their spend reported),
 *   the spend is charged directly (all or nothing), and a new lease is requested on top. A response
 *   bigger than the local allowance is therefore charged to the object before it is released.
 * - A lease is used only until `expiresAt - SKEW_MS` by this isolate's clock: the object counts a lease
 *   it has not heard back about as spent in full once it expires, so a late spend would land in a
 *   window that is already closed.
 *   Every object call settles the leases that can no longer be spent, of any scope.
 * - One object call at a time per holder; concurrent spends wait for it and retry locally first, and
 *   fail with it when it fails.
 * - Lease size follows demand: doubled when a live lease runs short, set to twice its spending rate
 *   when it expires, never below 16 times the current spend; the object caps it (`leaseFraction`).
 */
import type { BudgetConfig } from './config'
import { limitsFor } from './config'
import type { Lease, Refusal, ReserveInput, ReserveResult, ScopeAmount, Settlement } from './rpc'
import type { Metric } from './windows'
import { budgetClock } from './windows'

/**
 * A lease is not spent in its last SKEW_MS: the object counts an expired lease as spent in full and
 * opens a new window at the boundary, so a spend by a clock running up to SKEW_MS behind the object's
 * still lands inside the lease's window. (Workers clocks are NTP-synchronised; `Date.now()` in a Worker
 * lags only by the CPU time since its last I/O.)
 */
export const SKEW_MS = 250
/** Longest a lease lives; it also ends at the first boundary of any window it reserved in. */
export const LEASE_TTL_MS = 10_000
/** The object grants no lease with less than this left: it could barely be spent. */
export const MIN_LEASE_MS = 2 * SKEW_MS
/** Smallest lease asked for, per metric. */
const MIN_WANT: Record<Metric, number> = { tokens: 4_096, requests: 16 }
/** Leases kept per ledger; beyond it the oldest are retired (per-session scopes can be many). */
const MAX_LEASES = 1_000
/** Settlements sent per call (the RPC accepts 512) and kept while the object is unreachable. */
const SETTLE_PER_CALL = 512
const MAX_UNSENT = 4_096

/** One scope's share of a spend. `probe`: at least one more token must be left (a request that will produce tokens). */
export type Spend = ScopeAmount

export type SpendOutcome = { ok: true } | { ok: false; refusal: Refusal } | { ok: false; unavailable: string }

/** The config a ledger call acts under. */
export interface LedgerContext {
  tenant: string
  configVersion: number
  config: BudgetConfig
}

interface LocalLease {
  id: string
  /** This isolate's clock when the lease arrived (to tell how fast it was spent). */
  installedAt: number
  expiresAt: number
  granted: Record<Metric, number>
  left: Record<Metric, number>
}

/** Leases of one tenant held by one isolate (a "lease holder"). */
export class LeaseLedger {
  readonly holder: string
  readonly #call: (input: ReserveInput) => Promise<ReserveResult>
  readonly #leases = new Map<string, LocalLease>()
  /** The size last asked for, per scope (lease sizing follows demand). */
  readonly #sizes = new Map<string, Record<Metric, number>>()
  #retired: Settlement[] = []
  #inflight: Promise<unknown> | undefined
  /** Object calls made (bench and tests). */
  calls = 0

  constructor(call: (input: ReserveInput) => Promise<ReserveResult>, holder: string = crypto.randomUUID()) {
    this.#call = call
    this.holder = holder
  }

  /** Spends from local leases when they cover all of it (true), else spends nothing (false). Synchronous. */
  trySpend(ctx: LedgerContext, spends: readonly Spend[]): boolean {
    const now = budgetClock.now()
    for (const s of spends) if (!this.#covered(ctx.config, s, now)) return false
    for (const s of spends) this.#debit(ctx.config, s, 1)
    return true
  }

  /** Spends, asking the object for whatever local leases cannot cover. */
  async spend(ctx: LedgerContext, spends: readonly Spend[]): Promise<SpendOutcome> {
    // One object call at a time per holder: a call in flight may bring leases that cover this spend too.
    // When that call fails (the object threw or did not answer in time), a spend it does not cover fails
    // with it instead of making a call of its own: spends queued behind a dead object would otherwise
    // each wait out one more timeout in turn, and the failure mode would apply only after all of them.
    let failed: string | undefined
    for (;;) {
      if (this.trySpend(ctx, spends)) return { ok: true }
      if (failed !== undefined) return { ok: false, unavailable: failed }
      if (!this.#inflight) break
      failed = await this.#inflight.then(() => undefined, (err: unknown) => String(err))
    }
    const now = budgetClock.now()
    const local: Spend[] = []
    const need: Spend[] = []
    for (const s of spends) (this.#covered(ctx.config, s, now) ? local : need).push(s)
    const debited = local.map((s) => ({ s, lease: this.#debit(ctx.config, s, 1) }))
    const want = need.map((s) => this.#want(ctx.config, s, now))
    for (const s of need) this.#retire(s.scope)
    this.#retireSpent(now)
    const settle = this.#retired.splice(0, SETTLE_PER_CALL)
    const call = this.#call({ tenant: ctx.tenant, configVersion: ctx.configVersion, config: ctx.config, holder: this.holder, settle, need, want })
    this.#inflight = call
    this.calls++
    let result: ReserveResult
    try {
      result = await call
    } catch (err) {
      // Settlements are idempotent (a settled lease is gone), so they are simply sent again next time.
      this.#keepUnsent(settle)
      this.#undo(ctx.config, debited)
      return { ok: false, unavailable: String(err) }
    } finally {
      if (this.#inflight === call) this.#inflight = undefined
    }
    if (!result.ok) {
      this.#undo(ctx.config, debited)
      return { ok: false, refusal: result.refusal }
    }
    for (const lease of result.leases) this.#install(lease)
    return { ok: true }
  }

  /** Retires every lease and reports them (a lease holder shutting down; tests). */
  async flush(ctx: LedgerContext): Promise<void> {
    for (const scope of [...this.#leases.keys()]) this.#retire(scope)
    if (this.#retired.length === 0) return
    const settle = this.#retired.splice(0, SETTLE_PER_CALL)
    this.calls++
    try {
      await this.#call({ tenant: ctx.tenant, configVersion: ctx.configVersion, config: ctx.config, holder: this.holder, settle, need: [], want: [] })
    } catch {
      this.#keepUnsent(settle)
    }
  }

  /**
   * Puts settlements back for the next call. Past MAX_UNSENT the oldest are dropped: the object then
   * counts those leases in full (it over-counts, never over-spends).
   */
  #keepUnsent(settle: Settlement[]): void {
    this.#retired.unshift(...settle)
    if (this.#retired.length > MAX_UNSENT) this.#retired.splice(0, this.#retired.length - MAX_UNSENT)
  }

  /** What this holder has left locally of a scope's lease (tests, bench). */
  left(scope: string): Record<Metric, number> | undefined {
    const l = this.#leases.get(scope)
    return l ? { ...l.left } : undefined
  }

  #covered(config: BudgetConfig, s: Spend, now: number): boolean {
    const limits = limitsFor(config, s.scope)
    if (limits.length === 0) return true
    const lease = this.#leases.get(s.scope)
    const live = lease !== undefined && now < lease.expiresAt - SKEW_MS
    for (const { metric } of limits) {
      const amount = metric === 'tokens' ? s.tokens + (s.probe ? 1 : 0) : s.requests
      if (amount === 0) continue
      if (!live || lease.left[metric] < amount) return false
    }
    return true
  }

  /** Debits (sign 1) or credits back (sign -1) a covered spend; returns the lease it touched. */
  #debit(config: BudgetConfig, s: Spend, sign: 1 | -1, only?: LocalLease): LocalLease | undefined {
    const lease = this.#leases.get(s.scope)
    if (!lease || (only && lease !== only)) return undefined
    const limits = limitsFor(config, s.scope)
    if (limits.some((l) => l.metric === 'tokens')) lease.left.tokens -= sign * s.tokens
    if (limits.some((l) => l.metric === 'requests')) lease.left.requests -= sign * s.requests
    return lease
  }

  #undo(config: BudgetConfig, debited: Array<{ s: Spend; lease: LocalLease | undefined }>): void {
    // Only into the lease it came from: if that lease was retired meanwhile, its report already
    // counted the spend, which over-counts (never over-spends).
    for (const { s, lease } of debited) if (lease) this.#debit(config, s, -1, lease)
  }

  #retire(scope: string): void {
    const lease = this.#leases.get(scope)
    if (!lease) return
    this.#leases.delete(scope)
    this.#retired.push({ lease: lease.id, tokens: lease.granted.tokens - lease.left.tokens, requests: lease.granted.requests - lease.left.requests })
  }

  /**
   * Retires every other lease this holder can no longer spend, so the call about to be made settles it. A
   * lease of a scope that went quiet here (a client now served by another isolate, a tool called once) would
   * otherwise go unreported while this holder lives and calls the object for other scopes, and count in full
   * until its window resets: an hour, a day, a month of a client's or a tool's budget gone unspent. The size
   * its spending rate asks for is kept for the scope's next lease.
   */
  #retireSpent(now: number): void {
    for (const [scope, lease] of this.#leases) {
      if (now < lease.expiresAt - SKEW_MS) continue
      this.#sizes.set(scope, { tokens: rateSize(lease, 'tokens', now), requests: rateSize(lease, 'requests', now) })
      this.#retire(scope)
    }
  }

  #install(lease: Lease): void {
    this.#retire(lease.scope)
    if (this.#leases.size >= MAX_LEASES) {
      const oldest = this.#leases.keys().next()
      if (!oldest.done) this.#retire(oldest.value)
    }
    const granted = { tokens: lease.tokens, requests: lease.requests }
    this.#leases.set(lease.scope, { id: lease.id, installedAt: budgetClock.now(), expiresAt: lease.expiresAt, granted, left: { ...granted } })
  }

  /**
   * The lease to ask for with an uncovered spend: twice the last size when the live lease ran short
   * (demand outgrew it); when it expired, twice its spending rate over a full lease lifetime (a lease
   * cut short by a window boundary does not shrink the next one); the last size when there was none.
   * Never less than MIN_WANT or 16 times this spend; the object caps it.
   */
  #want(config: BudgetConfig, s: Spend, now: number): Spend {
    const lease = this.#leases.get(s.scope)
    const last = this.#sizes.get(s.scope)
    const limits = limitsFor(config, s.scope)
    const size = (m: Metric): number => {
      if (!limits.some((l) => l.metric === m)) return 0
      const previous = last?.[m] ?? MIN_WANT[m]
      let next = previous
      if (lease && now < lease.expiresAt - SKEW_MS) next = 2 * previous
      else if (lease) next = rateSize(lease, m, now)
      // Never more than the largest limit of the metric: the object could not grant it anyway.
      const ceiling = Math.max(...limits.filter((l) => l.metric === m).map((l) => l.limit))
      return Math.min(ceiling, Math.max(MIN_WANT[m], 16 * s[m], next))
    }
    const want = { scope: s.scope, tokens: size('tokens'), requests: size('requests') }
    if (this.#sizes.size >= MAX_LEASES) this.#sizes.clear()
    this.#sizes.set(s.scope, { tokens: want.tokens, requests: want.requests })
    return want
  }
}

/** Twice what a lease's holder spent of it per full lease lifetime (one cut short by a window boundary does not shrink the next). */
function rateSize(lease: LocalLease, m: Metric, now: number): number {
  return Math.ceil((2 * (lease.granted[m] - lease.left[m]) * LEASE_TTL_MS) / Math.max(1_000, Math.min(now, lease.expiresAt) - lease.installedAt))
}
