/**
 * The overspend bound, driven hard: many independent lease holders (simulated isolates, each its own
 * LeaseLedger with its own holder id) spend concurrently against the real TenantBudget object, some of
 * them die holding leases, and time moves past lease expiry mid-run. Whatever the interleaving:
 *
 *   delivered ≤ limit                  (the documented bound: no overspend)
 *   reserved ≤ leaseFraction × limit   (at every sample)
 *   used − provisional ≤ delivered ≤ used   (the record is exact but for dead holders' leases, counted in full)
 */
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import { BudgetConfig } from '../../src/budget/config'
import { LeaseLedger } from '../../src/budget/lease'
import type { LedgerContext } from '../../src/budget/lease'
import { LEASE_TTL_MS } from '../../src/budget/tenant-budget'
import { budgetClock } from '../../src/budget/windows'
import { mulberry32 as rng } from '../support/random'

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0)
let now = T0
budgetClock.now = () => now
afterEach(() => {
  now = T0
})

interface Holder {
  ledger: LeaseLedger
  delivered: number
  refused: number
  alive: boolean
}

async function drive(tenant: string, config: BudgetConfig, opts: { holders: number; doomed: number; messagesEach: number; seed: number }) {
  const ctx: LedgerContext = { tenant, configVersion: 1, config }
  const stub = env.BUDGET.getByName(tenant)
  const random = rng(opts.seed)
  const holders: Holder[] = Array.from({ length: opts.holders }, (_, i) => ({
    ledger: new LeaseLedger(async (input) => await stub.reserve(input), `holder-${i}`),
    delivered: 0,
    refused: 0,
    alive: true,
  }))
  const limit = config.tokensPerMinute ?? 0
  const cap = Math.floor(limit * config.leaseFraction)
  let maxReserved = 0
  const sample = async () => {
    const u = (await stub.usage({ tenant, configVersion: 1, config })).usage.find((r) => r.scope === 'tenant' && r.metric === 'tokens')
    maxReserved = Math.max(maxReserved, u?.reserved ?? 0)
  }
  const run = async (h: Holder) => {
    for (let i = 0; i < opts.messagesEach; i++) {
      // Mostly small messages, some bigger than any lease (charged directly before release).
      const tokens = random() < 0.15 ? 1_500 + Math.floor(random() * 3_000) : 1 + Math.floor(random() * 400)
      const out = await h.ledger.spend(ctx, [{ scope: 'tenant', tokens, requests: 0 }])
      if (out.ok) h.delivered += tokens
      else if (++h.refused >= 3) return // exhausted: this holder stops asking
      if (i % 10 === 0) await sample()
    }
  }
  // Phase 0: the doomed take a lease each, spend a little of it, and die without ever reporting back.
  const doomed = holders.slice(0, opts.doomed)
  for (const h of doomed) {
    if ((await h.ledger.spend(ctx, [{ scope: 'tenant', tokens: 10, requests: 0 }])).ok) h.delivered += 10
    h.alive = false
  }
  const living = holders.slice(opts.doomed)
  // Phase 1: the living run while the dead leases still hold their share; then time passes beyond every
  // lease's expiry (the dead leases now count in full); phase 2: the living go on until refused.
  await Promise.all(living.map(run))
  now += LEASE_TTL_MS + 1
  await Promise.all(living.map(run))
  await sample()
  const delivered = holders.reduce((n, h) => n + h.delivered, 0)
  const during = (await stub.usage({ tenant, configVersion: 1, config })).usage.find((r) => r.scope === 'tenant' && r.metric === 'tokens')
  // The living report what they spent; time moves on until every lease has expired.
  for (const h of holders) if (h.alive) await h.ledger.flush(ctx)
  now += LEASE_TTL_MS + 1
  const after = (await stub.usage({ tenant, configVersion: 1, config })).usage.find((r) => r.scope === 'tenant' && r.metric === 'tokens')
  const calls = holders.reduce((n, h) => n + h.ledger.calls, 0)
  const refusals = holders.reduce((n, h) => n + h.refused, 0)
  return { delivered, limit, cap, maxReserved, during, after, calls, refusals }
}

describe('overspend bound under concurrency (real object, simulated isolates)', () => {
  it('48 holders, 4 of them dying with leases, never deliver more than the limit', async () => {
    const config = BudgetConfig.parse({ tokensPerMinute: 200_000 })
    const r = await drive('bound-a', config, { holders: 48, doomed: 4, messagesEach: 40, seed: 7 })
    expect(r.refusals).toBeGreaterThan(0) // demand exceeded the limit, so the bound was exercised
    expect(r.delivered).toBeLessThanOrEqual(r.limit)
    expect(r.maxReserved).toBeLessThanOrEqual(r.cap)
    expect(r.during?.used ?? 0).toBeLessThanOrEqual(r.limit)
    // Exact record: every token charged was delivered, except leases of dead holders, counted in full.
    const after = r.after ?? { used: 0, provisional: 0, reserved: -1 }
    expect(after.reserved).toBe(0)
    expect(after.used - after.provisional).toBeLessThanOrEqual(r.delivered)
    expect(r.delivered).toBeLessThanOrEqual(after.used)
    expect(after.provisional).toBe(r.cap) // the dead took the whole lease cap with them (4 × a quarter)…
    expect(r.delivered).toBeGreaterThanOrEqual(r.limit - r.cap - 5_000) // …and that, plus one message, is all that went unused
  }, 60_000)

  it('holds with tiny leases too (leaseFraction 0.001: nearly every spend is a direct charge)', async () => {
    const config = BudgetConfig.parse({ tokensPerMinute: 30_000, leaseFraction: 0.001 })
    const r = await drive('bound-b', config, { holders: 32, doomed: 4, messagesEach: 25, seed: 11 })
    expect(r.refusals).toBeGreaterThan(0)
    expect(r.delivered).toBeLessThanOrEqual(r.limit)
    expect(r.maxReserved).toBeLessThanOrEqual(r.cap)
    const after = r.after ?? { used: 0, provisional: 0 }
    expect(after.used - after.provisional).toBeLessThanOrEqual(r.delivered)
    expect(r.delivered).toBeLessThanOrEqual(after.used)
  }, 60_000)
})
