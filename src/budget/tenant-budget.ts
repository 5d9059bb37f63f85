/**
 * `TenantBudget`: one SQLite-backed Durable Object per tenant that owns the exact accounting of its
 * token and request windows (tenant-wide, per client, per tool) and leases allowances to isolates.
 *
 * Invariant, per scope, metric and window instance: `used + reserved ≤ limit`, where `used` counts every
 * direct charge, every settled spend and every lease that expired unsettled (in full), and `reserved`
 * every open lease. A lease holder delivers tokens only out of a lease or a direct charge, so what is
 * delivered in a window never exceeds its limit (docs/budgets.md, "The bound"). `reserved` is further
 * capped at `leaseFraction × limit`, which bounds what leases can hold back from other isolates.
 *
 * Windows roll over by computation (a charge after a boundary lands in a new row); an alarm prunes old
 * rows. Every write happens inside the RPC method, in one synchronous transaction.
 */
import { DurableObject } from 'cloudflare:workers'
import { BudgetConfig, limitsFor } from './config'
import type { WindowLimit } from './config'
import { ReserveInput, UsageInput, parseRpc } from './rpc'
import type { Lease, Refusal, ReserveResult, UsageReport, UsageRow } from './rpc'
import { BudgetStore } from './store'
import type { LeaseRows } from './store'
import { budgetClock, windowEnd, windowStart, windowStarts } from './windows'
import type { Metric, Window } from './windows'
import { notifyThreshold } from './alerts'
import { LEASE_TTL_MS, MIN_LEASE_MS } from './lease'
import type { ThresholdAlert } from './alerts'

export { LEASE_TTL_MS }
/** A single lease holds at most 1/LEASE_SHARES of the lease cap (`leaseFraction × limit`). */
export const LEASE_SHARES = 4
const PRUNE_EVERY_MS = 3_600_000
/** History kept per window before pruning (the usage API reports current windows only). */
const KEEP_MS: Record<Window, number> = { minute: 2 * 3_600_000, hour: 2 * 86_400_000, day: 35 * 86_400_000, month: 400 * 86_400_000 }
/** Expired leases are kept this long for a late settlement to correct the record. */
const KEEP_EXPIRED_LEASES_MS = 86_400_000

interface Touched extends WindowLimit {
  scope: string
  start: number
}

export class TenantBudget extends DurableObject<Env> {
  readonly #store: BudgetStore
  #config: { version: number; config: BudgetConfig } | undefined
  #alarmChecked = false

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#store = new BudgetStore(ctx.storage.sql)
  }

  /**
   * Settles the caller's retired leases, charges `need` (all or nothing), then leases up to `want` on top.
   * Refused: nothing is charged or leased (settlements still apply), and the refusal names the window.
   */
  async reserve(raw: ReserveInput): Promise<ReserveResult> {
    const input = parseRpc(ReserveInput, raw)
    const now = budgetClock.now()
    const alerts: ThresholdAlert[] = []
    const result = this.ctx.storage.transactionSync(() => {
      const store = this.#store
      const config = this.#configFor(input.configVersion, input.config)
      store.countCall()
      store.expireDue(now)
      for (const s of input.settle) store.settle(input.holder, s.lease, s)
      const refusal = this.#check(config, input.need, now)
      if (refusal) return { ok: false as const, refusal, now }
      const touched: Touched[] = []
      for (const n of input.need) {
        for (const wl of limitsFor(config, n.scope)) {
          const amount = wl.metric === 'tokens' ? n.tokens : n.requests
          const start = windowStart(wl.window, now)
          if (amount > 0) store.add(n.scope, wl.metric, wl.window, start, { used: amount })
          touched.push({ ...wl, scope: n.scope, start })
        }
      }
      const leases: Lease[] = []
      for (const w of input.want) {
        const lease = this.#grant(config, input.holder, w, now, touched)
        if (lease) leases.push(lease)
      }
      this.#thresholds(config, touched, alerts)
      return { ok: true as const, leases, now }
    })
    await this.#ensureAlarm(now)
    for (const alert of alerts) this.ctx.waitUntil(notifyThreshold(this.env, input.tenant, alert))
    return result
  }

  /** Used, reserved and remaining per limited window, current instances only. */
  usage(raw: UsageInput): UsageReport {
    const input = parseRpc(UsageInput, raw)
    const now = budgetClock.now()
    return this.ctx.storage.transactionSync(() => {
      const config = this.#configFor(input.configVersion, input.config)
      this.#store.expireDue(now)
      const starts = windowStarts(now)
      const read = this.#store.rowsAt(starts)
      const rows = new Map(read.rows.map((r) => [`${r.scope}\u0000${r.metric}\u0000${r.window}`, r]))
      const scopes = new Set(['tenant', ...Object.keys(config.perTool ?? {}).map((t) => `tool:${t}`), ...[...rows.values()].map((r) => r.scope)])
      const usage: UsageRow[] = []
      for (const scope of scopes) {
        for (const { metric, window, limit } of limitsFor(config, scope)) {
          const r = rows.get(`${scope}\u0000${metric}\u0000${window}`) ?? { used: 0, reserved: 0, provisional: 0 }
          const start = starts[window]
          usage.push({
            scope, metric, window, limit, used: r.used, provisional: r.provisional, reserved: r.reserved,
            remaining: Math.max(0, limit - r.used - r.reserved),
            windowStart: new Date(start).toISOString(),
            resetsAt: new Date(windowEnd(window, start)).toISOString(),
          })
        }
      }
      return { tenant: input.tenant, unit: 'o200k tokens' as const, at: new Date(now).toISOString(), usage, clientsTruncated: read.truncated, calls: Number(this.#store.meta('calls') ?? 0) }
    })
  }

  /** Erases all accounting (tenant deletion). */
  async purge(): Promise<void> {
    this.#erase()
    await this.ctx.storage.deleteAlarm()
  }

  /**
   * Erases everything and remembers that it did. Isolates keep a deleted tenant's config cached for a while
   * and may charge it once more: that write arms the alarm again (`#ensureAlarm`), which erases it too.
   */
  #erase(): void {
    this.ctx.storage.transactionSync(() => {
      this.#store.purge()
      this.#store.setMeta('purged', '1')
    })
    this.#config = undefined
    this.#alarmChecked = false
  }

  override async alarm(): Promise<void> {
    if (this.#store.meta('purged') !== null) return this.#erase()
    const now = budgetClock.now()
    const before = { minute: now - KEEP_MS.minute, hour: now - KEEP_MS.hour, day: now - KEEP_MS.day, month: now - KEEP_MS.month }
    this.ctx.storage.transactionSync(() => {
      this.#store.expireDue(now)
      this.#store.prune(before, now - KEEP_EXPIRED_LEASES_MS)
    })
    await this.ctx.storage.setAlarm(Date.now() + PRUNE_EVERY_MS)
  }

  /** The newest config seen: a caller still on an older version cannot loosen the limits. */
  #configFor(version: number, offered: BudgetConfig): BudgetConfig {
    if (!this.#config) {
      const v = this.#store.meta('config_version')
      const c = this.#store.meta('config')
      if (v !== null && c !== null) this.#config = { version: Number(v), config: BudgetConfig.parse(JSON.parse(c)) }
    }
    if (!this.#config || version > this.#config.version) {
      this.#config = { version, config: offered }
      this.#store.setMeta('config_version', String(version))
      this.#store.setMeta('config', JSON.stringify(offered))
    }
    return this.#config.config
  }

  /** The refusal for `need`, if any window would overrun: the one that resets last. */
  #check(config: BudgetConfig, need: ReserveInput['need'], now: number): Refusal | null {
    let worst: Refusal | null = null
    for (const n of need) {
      for (const { metric, window, limit } of limitsFor(config, n.scope)) {
        const amount = metric === 'tokens' ? n.tokens + (n.probe ? 1 : 0) : n.requests
        if (amount === 0) continue
        const start = windowStart(window, now)
        const row = this.#store.row(n.scope, metric, window, start)
        if (row.used + row.reserved + amount <= limit) continue
        const resetsAt = windowEnd(window, start)
        if (!worst || resetsAt > worst.resetsAt) worst = { scope: n.scope, metric, window, limit, resetsAt }
      }
    }
    return worst
  }

  /**
   * Leases what the windows allow of `want`: all leases of a window together hold at most
   * `leaseFraction × limit`, one lease at most a quarter of that.
   */
  #grant(config: BudgetConfig, holder: string, want: ReserveInput['want'][number], now: number, touched: Touched[]): Lease | null {
    const limits = limitsFor(config, want.scope)
    const grant: Record<Metric, number> = { tokens: 0, requests: 0 }
    const limited: Record<Metric, boolean> = { tokens: false, requests: false }
    for (const m of ['tokens', 'requests'] as const) grant[m] = want[m]
    let expiresAt = now + LEASE_TTL_MS
    for (const { metric, window, limit } of limits) {
      const start = windowStart(window, now)
      const row = this.#store.row(want.scope, metric, window, start)
      const cap = Math.floor(limit * config.leaseFraction)
      // One lease takes at most a quarter of the cap, so a busy isolate cannot hold all of it alone.
      const room = Math.min(limit - row.used - row.reserved, cap - row.reserved, Math.ceil(cap / LEASE_SHARES))
      grant[metric] = Math.max(0, Math.min(grant[metric], room))
      limited[metric] = true
      expiresAt = Math.min(expiresAt, windowEnd(window, start))
    }
    if (!limited.tokens) grant.tokens = 0
    if (!limited.requests) grant.requests = 0
    if ((grant.tokens === 0 && grant.requests === 0) || expiresAt - now < MIN_LEASE_MS) return null
    const rows: LeaseRows = []
    for (const wl of limits) {
      const start = windowStart(wl.window, now)
      if (grant[wl.metric] === 0) continue
      rows.push([wl.metric, wl.window, start])
      this.#store.add(want.scope, wl.metric, wl.window, start, { reserved: grant[wl.metric] })
      touched.push({ ...wl, scope: want.scope, start })
    }
    const id = crypto.randomUUID()
    this.#store.insertLease({ id, holder, scope: want.scope, tokens: grant.tokens, requests: grant.requests, rows, expiresAt })
    return { id, scope: want.scope, tokens: grant.tokens, requests: grant.requests, expiresAt }
  }

  /** Thresholds first crossed (by used + reserved) in the touched windows, each announced once. */
  #thresholds(config: BudgetConfig, touched: Touched[], out: ThresholdAlert[]): void {
    const seen = new Set<string>()
    for (const t of touched) {
      const key = `${t.scope}\u0000${t.metric}\u0000${t.window}`
      if (seen.has(key)) continue
      seen.add(key)
      const row = this.#store.row(t.scope, t.metric, t.window, t.start)
      for (const threshold of config.alertThresholds) {
        if (row.used + row.reserved < threshold * t.limit) continue
        if (this.#store.markAlert(t.scope, t.metric, t.window, t.start, threshold)) {
          out.push({ scope: t.scope, metric: t.metric, window: t.window, threshold, used: row.used + row.reserved, limit: t.limit })
        }
      }
    }
  }

  async #ensureAlarm(now: number): Promise<void> {
    if (this.#alarmChecked) return
    this.#alarmChecked = true
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Math.max(now, Date.now()) + PRUNE_EVERY_MS)
  }
}
