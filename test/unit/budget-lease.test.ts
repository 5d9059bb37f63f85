/**
 * The isolate side (LeaseLedger) against the real object: at steady state almost every message is
 * spent locally, lease size follows demand (also across a window boundary), a spend bigger than the
 * local allowance is charged to the object before it counts as delivered, and one object call at a
 * time serves concurrent spends.
 */
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import { BudgetConfig } from '../../src/budget/config'
import { LeaseLedger } from '../../src/budget/lease'
import type { LedgerContext } from '../../src/budget/lease'
import { budgetClock } from '../../src/budget/windows'

const T0 = Date.UTC(2026, 3, 10, 9, 0, 0)
let now = T0
budgetClock.now = () => now
afterEach(() => {
  now = T0
})

function ledgerFor(tenant: string, budget: object): { ledger: LeaseLedger; ctx: LedgerContext } {
  const stub = env.BUDGET.getByName(tenant)
  return { ledger: new LeaseLedger(async (input) => await stub.reserve(input)), ctx: { tenant, configVersion: 1, config: BudgetConfig.parse(budget) } }
}

describe('LeaseLedger', () => {
  it('spends almost every message locally at steady state, across a minute boundary', async () => {
    const { ledger, ctx } = ledgerFor('lease-steady', { tokensPerMinute: 1_000_000_000, requestsPerMinute: 10_000_000 })
    now = T0 + 30_000
    let messages = 0
    // 300 exchanges a second for 60 s of (injected) time: a request (10 tokens of arguments) and a 3,200-token result each.
    for (let i = 0; i < 18_000; i++) {
      now += 1000 / 300
      expect((await ledger.spend(ctx, [{ scope: 'tenant', tokens: 10, requests: 1, probe: true }])).ok).toBe(true)
      expect((await ledger.spend(ctx, [{ scope: 'tenant', tokens: 3_200, requests: 0 }])).ok).toBe(true)
      messages += 2
    }
    // Calls per 100 messages: lease renewals, plus direct charges in the last SKEW_MS before the boundary.
    expect((100 * ledger.calls) / messages).toBeLessThan(1)
  }, 60_000)

  it('charges a spend bigger than its lease to the object first, and refuses it there when it does not fit', async () => {
    const { ledger, ctx } = ledgerFor('lease-big', { tokensPerMinute: 100_000, leaseFraction: 0.1 })
    expect(await ledger.spend(ctx, [{ scope: 'tenant', tokens: 100, requests: 0 }])).toEqual({ ok: true })
    const left = ledger.left('tenant')?.tokens ?? 0
    expect(left).toBeGreaterThan(0)
    const calls = ledger.calls
    expect(await ledger.spend(ctx, [{ scope: 'tenant', tokens: 99_950, requests: 0 }])).toMatchObject({ ok: false, refusal: { metric: 'tokens', window: 'minute' } })
    expect(ledger.calls).toBe(calls + 1)
    expect(await ledger.spend(ctx, [{ scope: 'tenant', tokens: 50_000, requests: 0 }])).toEqual({ ok: true })
    await ledger.flush(ctx)
    const usage = await env.BUDGET.getByName('lease-big').usage({ tenant: 'lease-big', configVersion: 1, config: ctx.config })
    expect(usage.usage).toMatchObject([{ used: 50_100, reserved: 0, provisional: 0 }])
  })

  it('settles a lease it can no longer spend with its next object call, whatever scope that call is for', async () => {
    const { ledger, ctx } = ledgerFor('lease-idle', { tokensPerMinute: 1_000_000, perClient: { tokensPerHour: 1_000_000 }, leaseFraction: 0.1 })
    expect(await ledger.spend(ctx, [{ scope: 'tenant', tokens: 100, requests: 0 }, { scope: 'client:a', tokens: 100, requests: 0 }])).toEqual({ ok: true })
    expect(ledger.left('client:a')?.tokens).toBeGreaterThan(0) // a lease for client a, which then goes quiet here
    now += 11_000 // past the lease's life: the object counts it as spent in full until it hears back
    expect(await ledger.spend(ctx, [{ scope: 'tenant', tokens: 100, requests: 0 }, { scope: 'client:b', tokens: 100, requests: 0 }])).toEqual({ ok: true })
    const usage = await env.BUDGET.getByName('lease-idle').usage({ tenant: 'lease-idle', configVersion: 1, config: ctx.config })
    // Client a spent 100 tokens: this holder called the object since, so its lease is settled, not counted whole.
    expect(usage.usage.find((r) => r.scope === 'client:a')).toMatchObject({ used: 100, provisional: 0, reserved: 0 })
  })

  it('serves concurrent spends with one object call at a time', async () => {
    const { ledger, ctx } = ledgerFor('lease-herd', { tokensPerMinute: 1_000_000_000 })
    const results = await Promise.all(Array.from({ length: 50 }, () => ledger.spend(ctx, [{ scope: 'tenant', tokens: 50, requests: 0 }])))
    expect(results.every((r) => r.ok)).toBe(true)
    expect(ledger.calls).toBe(1)
  })

  it('fails every spend that waited on a call the object did not answer, instead of queueing one timeout after another', async () => {
    const config = BudgetConfig.parse({ tokensPerMinute: 1_000_000 })
    const ctx = { tenant: 'lease-down', configVersion: 1, config }
    // The object answers nothing: every call fails after its timeout (here 100 ms).
    const ledger = new LeaseLedger(() => new Promise((_, reject) => setTimeout(() => reject(new Error('budget object timed out')), 100)))
    const results = await Promise.all(Array.from({ length: 5 }, () => ledger.spend(ctx, [{ scope: 'tenant', tokens: 10, requests: 0 }])))
    expect(results).toEqual(Array.from({ length: 5 }, () => ({ ok: false, unavailable: 'Error: budget object timed out' })))
    expect(ledger.calls).toBe(1) // one timeout for all of them, not one each in turn
    expect(await ledger.spend(ctx, [{ scope: 'tenant', tokens: 10, requests: 0 }])).toMatchObject({ ok: false }) // a later spend asks again
    expect(ledger.calls).toBe(2)
  })
})
