/**
 * The TenantBudget object through its RPC interface (real SQLite-backed object in workerd): charges and
 * refusals that name the window, leases capped by leaseFraction, settlement, expired leases counted in
 * full, window rollover, scopes kept apart, the newest config winning, and persistence across a restart.
 */
import { env } from 'cloudflare:workers'
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { afterEach, describe, expect, it } from 'vitest'
import { BudgetConfig } from '../../src/budget/config'
import type { ReserveInput, ReserveResult } from '../../src/budget/rpc'
import { LEASE_TTL_MS } from '../../src/budget/tenant-budget'
import { budgetClock } from '../../src/budget/windows'

const T0 = Date.UTC(2026, 5, 30, 23, 59, 0) // a minute before the end of June (UTC)
let now = T0
budgetClock.now = () => now
afterEach(() => {
  now = T0
})

const cfg = (c: object): BudgetConfig => BudgetConfig.parse(c)
const stub = (tenant: string) => env.BUDGET.getByName(tenant)
const call = async (tenant: string, config: BudgetConfig, part: Partial<ReserveInput>, version = 1): Promise<ReserveResult> =>
  await stub(tenant).reserve({ tenant, configVersion: version, config, holder: 'h1', settle: [], need: [], want: [], ...part })
const usageOf = async (tenant: string, config: BudgetConfig) => (await stub(tenant).usage({ tenant, configVersion: 1, config })).usage
const row = async (tenant: string, config: BudgetConfig, scope: string, metric: string, window: string) =>
  (await usageOf(tenant, config)).find((r) => r.scope === scope && r.metric === metric && r.window === window)

describe('TenantBudget charges', () => {
  it('charges what fits and refuses the rest with the window and its reset, charging nothing', async () => {
    const config = cfg({ tokensPerMinute: 1000, requestsPerMinute: 5 })
    expect(await call('b-charge', config, { need: [{ scope: 'tenant', tokens: 900, requests: 1 }] })).toEqual({ ok: true, leases: [], now: T0 })
    const refused = await call('b-charge', config, { need: [{ scope: 'tenant', tokens: 101, requests: 1 }] })
    expect(refused).toEqual({ ok: false, now: T0, refusal: { scope: 'tenant', metric: 'tokens', window: 'minute', limit: 1000, resetsAt: T0 + 60_000 } })
    expect(await usageOf('b-charge', config)).toEqual([
      { scope: 'tenant', metric: 'tokens', window: 'minute', limit: 1000, used: 900, provisional: 0, reserved: 0, remaining: 100, windowStart: new Date(T0).toISOString(), resetsAt: new Date(T0 + 60_000).toISOString() },
      { scope: 'tenant', metric: 'requests', window: 'minute', limit: 5, used: 1, provisional: 0, reserved: 0, remaining: 4, windowStart: new Date(T0).toISOString(), resetsAt: new Date(T0 + 60_000).toISOString() },
    ])
  })

  it('names the window that resets last when several would overrun', async () => {
    const config = cfg({ tokensPerMinute: 100, tokensPerMonth: 100 })
    now = T0 - 3_600_000
    await call('b-latest', config, { need: [{ scope: 'tenant', tokens: 100, requests: 0 }] })
    const refused = await call('b-latest', config, { need: [{ scope: 'tenant', tokens: 1, requests: 0 }] })
    expect(refused).toMatchObject({ ok: false, refusal: { window: 'month', resetsAt: Date.UTC(2026, 6, 1) } })
  })

  it('a probe needs one token left beyond the charge', async () => {
    const config = cfg({ tokensPerMinute: 10 })
    await call('b-probe', config, { need: [{ scope: 'tenant', tokens: 10, requests: 0 }] })
    expect(await call('b-probe', config, { need: [{ scope: 'tenant', tokens: 0, requests: 1 }] })).toMatchObject({ ok: true }) // requests are unlimited
    expect(await call('b-probe', config, { need: [{ scope: 'tenant', tokens: 0, requests: 1, probe: true }] })).toMatchObject({ ok: false, refusal: { metric: 'tokens' } })
  })

  it('is all or nothing across scopes, and keeps clients and tools apart', async () => {
    const config = cfg({ tokensPerMinute: 1000, perClient: { tokensPerMinute: 100 }, perTool: { search: { requestsPerMinute: 1 } } })
    expect(await call('b-scopes', config, { need: [{ scope: 'tenant', tokens: 100, requests: 1 }, { scope: 'client:a', tokens: 100, requests: 1 }] })).toMatchObject({ ok: true })
    const refused = await call('b-scopes', config, { need: [{ scope: 'tenant', tokens: 1, requests: 1 }, { scope: 'client:a', tokens: 1, requests: 1 }] })
    expect(refused).toMatchObject({ ok: false, refusal: { scope: 'client:a', metric: 'tokens' } })
    expect(await call('b-scopes', config, { need: [{ scope: 'tenant', tokens: 100, requests: 1 }, { scope: 'client:b', tokens: 100, requests: 1 }, { scope: 'tool:search', tokens: 100, requests: 1 }] })).toMatchObject({ ok: true })
    expect(await call('b-scopes', config, { need: [{ scope: 'tool:search', tokens: 0, requests: 1 }] })).toMatchObject({ ok: false, refusal: { scope: 'tool:search', metric: 'requests' } })
    expect(await row('b-scopes', config, 'tenant', 'tokens', 'minute')).toMatchObject({ used: 200 }) // the refused charge added nothing
    expect(await row('b-scopes', config, 'client:a', 'tokens', 'minute')).toMatchObject({ used: 100, remaining: 0 })
    expect(await row('b-scopes', config, 'client:b', 'tokens', 'minute')).toMatchObject({ used: 100 })
  })

  it('reports tenant and tool rows in full however many session rows a client sprays, and says when client rows were left out', async () => {
    const config = cfg({ tokensPerMinute: 1000, perClient: { tokensPerMinute: 100 }, perTool: { zz_tool: { tokensPerMinute: 50 } } })
    await call('b-spray', config, { need: [{ scope: 'tenant', tokens: 7, requests: 1 }, { scope: 'tool:zz_tool', tokens: 7, requests: 1 }] })
    // 5,001 session rows, written directly (as that many requests with fresh Mcp-Session-Ids would).
    await runInDurableObject(stub('b-spray'), (_i, state) => {
      for (let i = 0; i <= 5000; i++) {
        state.storage.sql.exec(`INSERT INTO windows (scope, metric, window, start, used, reserved, provisional) VALUES (?, 'tokens', 'minute', ?, 1, 0, 0)`, `session:${String(i).padStart(5, '0')}`, T0)
      }
    })
    const report = await stub('b-spray').usage({ tenant: 'b-spray', configVersion: 1, config })
    expect(report.clientsTruncated).toBe(true)
    expect(report.usage.find((r) => r.scope === 'tenant')).toMatchObject({ used: 7, remaining: 993 })
    expect(report.usage.find((r) => r.scope === 'tool:zz_tool')).toMatchObject({ used: 7, remaining: 43 })
    expect(report.usage.filter((r) => r.scope.startsWith('session:'))).toHaveLength(5000)
    expect((await stub('b-charge').usage({ tenant: 'b-charge', configVersion: 1, config })).clientsTruncated).toBe(false)
  })

  it('validates its arguments', async () => {
    const config = cfg({ tokensPerMinute: 10 })
    await expect(call('b-invalid', config, { need: [{ scope: 'nobody', tokens: 1, requests: 0 }] })).rejects.toThrow('invalid budget RPC arguments: need.0.scope: invalid scope')
    await expect(call('b-invalid', config, { need: [{ scope: 'tenant', tokens: -1, requests: 0 }] })).rejects.toThrow(/need\.0\.tokens/)
  })
})

describe('TenantBudget leases', () => {
  it('leases at most leaseFraction of each window in total, a quarter of that per lease, never past what is left', async () => {
    const config = cfg({ tokensPerMinute: 100_000, requestsPerMinute: 1000 })
    const want = [{ scope: 'tenant', tokens: 1_500, requests: 100 }]
    expect(await call('b-lease', config, { want })).toMatchObject({ ok: true, leases: [{ scope: 'tenant', tokens: 500, requests: 5, expiresAt: T0 + LEASE_TTL_MS }] })
    for (const holder of ['h2', 'h3', 'h4']) expect(await call('b-lease', config, { holder, want })).toMatchObject({ ok: true, leases: [{ tokens: 500, requests: 5 }] })
    // 2% of 100k = 2000 tokens and 2% of 1000 = 20 requests in reserve at most: nothing is left to lease.
    expect(await call('b-lease', config, { holder: 'h5', want })).toEqual({ ok: true, leases: [], now: T0 })
    expect(await row('b-lease', config, 'tenant', 'tokens', 'minute')).toMatchObject({ used: 0, reserved: 2_000, remaining: 98_000 })
    // Near the end of a window a lease is cut to what is left.
    const small = cfg({ tokensPerMinute: 100_000, leaseFraction: 0.1 })
    await call('b-lease-end', small, { need: [{ scope: 'tenant', tokens: 99_900, requests: 0 }] })
    expect(await call('b-lease-end', small, { want: [{ scope: 'tenant', tokens: 5_000, requests: 0 }] })).toMatchObject({ leases: [{ tokens: 100, requests: 0 }] })
  })

  it('ends a lease at the first window boundary', async () => {
    const config = cfg({ tokensPerMinute: 100_000 })
    now = T0 + 55_000
    expect(await call('b-boundary', config, { want: [{ scope: 'tenant', tokens: 100, requests: 0 }] })).toMatchObject({ leases: [{ expiresAt: T0 + 60_000 }] })
    now = T0 + 59_600 // too little left to be worth a lease: spends go to the object until the boundary
    expect(await call('b-boundary', config, { holder: 'h2', want: [{ scope: 'tenant', tokens: 100, requests: 0 }] })).toEqual({ ok: true, leases: [], now })
  })

  it('settles what was spent and gives the rest back; only the holder can settle', async () => {
    const config = cfg({ tokensPerMinute: 100_000, leaseFraction: 0.1 })
    const r = await call('b-settle', config, { want: [{ scope: 'tenant', tokens: 1_000, requests: 0 }] })
    const lease = r.ok ? r.leases[0] : undefined
    if (!lease) throw new Error('no lease')
    await call('b-settle', config, { holder: 'intruder', settle: [{ lease: lease.id, tokens: 0, requests: 0 }] })
    expect(await row('b-settle', config, 'tenant', 'tokens', 'minute')).toMatchObject({ used: 0, reserved: 1_000 })
    await call('b-settle', config, { settle: [{ lease: lease.id, tokens: 300, requests: 0 }] })
    expect(await row('b-settle', config, 'tenant', 'tokens', 'minute')).toMatchObject({ used: 300, reserved: 0, provisional: 0 })
    await call('b-settle', config, { settle: [{ lease: lease.id, tokens: 300, requests: 0 }] }) // again: already settled, nothing changes
    expect(await row('b-settle', config, 'tenant', 'tokens', 'minute')).toMatchObject({ used: 300, reserved: 0 })
  })

  it('counts a lease that expires unsettled in full, and corrects it when the holder reports late', async () => {
    const config = cfg({ tokensPerMinute: 100_000, leaseFraction: 0.1 })
    const r = await call('b-expire', config, { want: [{ scope: 'tenant', tokens: 1_000, requests: 0 }] })
    const lease = r.ok ? r.leases[0] : undefined
    if (!lease) throw new Error('no lease')
    now = lease.expiresAt
    expect(await row('b-expire', config, 'tenant', 'tokens', 'minute')).toMatchObject({ used: 1_000, provisional: 1_000, reserved: 0 })
    await call('b-expire', config, { settle: [{ lease: lease.id, tokens: 250, requests: 0 }] })
    expect(await row('b-expire', config, 'tenant', 'tokens', 'minute')).toMatchObject({ used: 250, provisional: 0, reserved: 0 })
  })
})

describe('TenantBudget windows', () => {
  it('rolls minute and month windows over by computation at their boundaries', async () => {
    const config = cfg({ tokensPerMinute: 100, tokensPerMonth: 150 })
    expect(await call('b-roll', config, { need: [{ scope: 'tenant', tokens: 100, requests: 0 }] })).toMatchObject({ ok: true })
    now = T0 + 59_999
    expect(await call('b-roll', config, { need: [{ scope: 'tenant', tokens: 1, requests: 0 }] })).toMatchObject({ ok: false, refusal: { window: 'minute', resetsAt: T0 + 60_000 } })
    now = T0 + 60_000 // 1 July 00:00 UTC: a new minute and a new month
    expect(await call('b-roll', config, { need: [{ scope: 'tenant', tokens: 100, requests: 0 }] })).toMatchObject({ ok: true })
    const usage = await usageOf('b-roll', config)
    expect(usage.map((u) => [u.window, u.used, u.windowStart])).toEqual([
      ['minute', 100, '2026-07-01T00:00:00.000Z'],
      ['month', 100, '2026-07-01T00:00:00.000Z'],
    ])
  })

  it('keeps its accounting and its newest config when the object restarts', async () => {
    const config = cfg({ tokensPerDay: 1_000, leaseFraction: 0.1 })
    await call('b-restart', config, { need: [{ scope: 'tenant', tokens: 600, requests: 0 }], want: [{ scope: 'tenant', tokens: 10, requests: 0 }] }, 5)
    const before = await runInDurableObject(stub('b-restart'), (instance) => instance)
    await expect(
      runInDurableObject(stub('b-restart'), (_instance, state) => {
        state.abort('restart for the test')
      }),
    ).rejects.toThrow('restart for the test')
    // A new instance, so nothing below can come from the old one's memory.
    expect(await runInDurableObject(stub('b-restart'), (instance) => instance)).not.toBe(before)
    expect(await row('b-restart', config, 'tenant', 'tokens', 'day')).toMatchObject({ used: 600, reserved: 10 })
    // An isolate still on an older, looser config cannot loosen the limits after a restart either.
    expect(await call('b-restart', cfg({ tokensPerDay: 1_000_000 }), { need: [{ scope: 'tenant', tokens: 391, requests: 0 }] }, 4)).toMatchObject({ ok: false, refusal: { limit: 1_000 } })
    expect(await call('b-restart', config, { need: [{ scope: 'tenant', tokens: 391, requests: 0 }] }, 5)).toMatchObject({ ok: false })
    expect(await call('b-restart', config, { need: [{ scope: 'tenant', tokens: 390, requests: 0 }] }, 5)).toMatchObject({ ok: true })
  })

  it('keeps the newest config it has seen: an isolate on an older version cannot loosen the limits', async () => {
    const strict = cfg({ tokensPerMinute: 100 })
    const loose = cfg({ tokensPerMinute: 10_000 })
    await call('b-version', strict, { need: [{ scope: 'tenant', tokens: 100, requests: 0 }] }, 5)
    expect(await call('b-version', loose, { need: [{ scope: 'tenant', tokens: 1, requests: 0 }] }, 4)).toMatchObject({ ok: false, refusal: { limit: 100 } })
    expect(await call('b-version', loose, { need: [{ scope: 'tenant', tokens: 1, requests: 0 }] }, 6)).toMatchObject({ ok: true })
  })

  it('marks each alert threshold once per window instance', async () => {
    const config = cfg({ tokensPerMinute: 100, alertThresholds: [0.5, 0.8] })
    await call('b-alerts', config, { need: [{ scope: 'tenant', tokens: 60, requests: 0 }] })
    await call('b-alerts', config, { need: [{ scope: 'tenant', tokens: 30, requests: 0 }] })
    await call('b-alerts', config, { need: [{ scope: 'tenant', tokens: 5, requests: 0 }] })
    const marks = await runInDurableObject(stub('b-alerts'), (_i, state) => state.storage.sql.exec<{ threshold: number }>('SELECT threshold FROM alerts ORDER BY threshold').toArray())
    expect(marks.map((m) => m.threshold)).toEqual([0.5, 0.8])
  })
})

describe('TenantBudget purge', () => {
  it('erases what isolates still serving the deleted tenant from their cache charge after the purge', async () => {
    const config = cfg({ tokensPerMinute: 1000, perClient: { tokensPerMinute: 100 } })
    await call('b-purge', config, { need: [{ scope: 'tenant', tokens: 5, requests: 1 }] })
    await stub('b-purge').purge()
    // The tenant is deleted, but an isolate that cached its config a moment ago charges one more request.
    await call('b-purge', config, { need: [{ scope: 'tenant', tokens: 5, requests: 1 }, { scope: 'client:key_late', tokens: 5, requests: 1 }] })
    expect(await runDurableObjectAlarm(stub('b-purge'))).toBe(true)
    const left = await runInDurableObject(stub('b-purge'), (_i, state) => ({
      windows: state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM windows').one().n,
      config: state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM meta WHERE key IN ('config', 'config_version')`).one().n,
    }))
    expect(left).toEqual({ windows: 0, config: 0 })
    expect(await runDurableObjectAlarm(stub('b-purge'))).toBe(false) // nothing more to erase, no alarm left behind
  })
})
