/**
 * The `budget` section of the tenant config: strict, with exact error messages, defaults, and the limits
 * each scope gets. Window arithmetic (UTC, calendar months) is checked here too.
 */
import { describe, expect, it } from 'vitest'
import { BudgetConfig, limitsFor, toolLimits } from '../../src/budget/config'
import { TenantConfig } from '../../src/tenant/config'
import { windowEnd, windowStart } from '../../src/budget/windows'

const issues = (input: unknown) => {
  const r = BudgetConfig.safeParse(input)
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
}

describe('BudgetConfig', () => {
  it('applies defaults', () => {
    expect(BudgetConfig.parse({ tokensPerMinute: 1000 })).toEqual({ tokensPerMinute: 1000, alertThresholds: [0.8, 1], failureMode: 'closed', leaseFraction: 0.02 })
  })

  it.each([
    [{ tokensPerMinute: 1000, tokensPerWeek: 5 }, ['(root): Unrecognized key: "tokensPerWeek"']],
    [{ tokensPerMinute: 0 }, ['tokensPerMinute: Too small: expected number to be >=1']],
    [{ tokensPerMinute: 1.5 }, ['tokensPerMinute: Invalid input: expected int, received number']],
    [{ failureMode: 'open' }, ['(root): budget sets no limit: add at least one tokensPer… or requestsPer… field']],
    [{ perClient: { tokensPerMinute: 10, burst: 2 } }, ['perClient: Unrecognized key: "burst"']],
    [{ tokensPerMinute: 10, alertThresholds: [0.8, 0.8] }, ['alertThresholds: must not repeat a threshold']],
    [{ tokensPerMinute: 10, alertThresholds: [1.5] }, ['alertThresholds.0: Too big: expected number to be <=1']],
    [{ tokensPerMinute: 10, leaseFraction: 0.5 }, ['leaseFraction: Too big: expected number to be <=0.1']],
    [{ tokensPerMinute: 10, failureMode: 'maybe' }, ['failureMode: Invalid option: expected one of "closed"|"open"']],
  ])('refuses %j', (input, expected) => {
    expect(issues(input)).toEqual(expected)
  })

  it('a per-client or per-tool limit alone is a budget', () => {
    expect(issues({ perClient: { requestsPerMinute: 10 } })).toEqual([])
    expect(issues({ perTool: { search: { tokensPerDay: 10 } } })).toEqual([])
  })

  it('is optional in the tenant config: no budget, no meter', () => {
    expect(TenantConfig.parse({ origin: { url: 'https://o.example/mcp' } }).budget).toBeUndefined()
    expect(TenantConfig.parse({ origin: { url: 'https://o.example/mcp' }, budget: { tokensPerMinute: 5 } }).budget?.tokensPerMinute).toBe(5)
  })

  it('gives each scope its own limits', () => {
    const config = BudgetConfig.parse({ tokensPerMinute: 100, requestsPerDay: 9, perClient: { tokensPerHour: 50 }, perTool: { search: { requestsPerMinute: 2 } } })
    expect(limitsFor(config, 'tenant')).toEqual([
      { metric: 'tokens', window: 'minute', limit: 100 },
      { metric: 'requests', window: 'day', limit: 9 },
    ])
    expect(limitsFor(config, 'client:key-1')).toEqual([{ metric: 'tokens', window: 'hour', limit: 50 }])
    expect(limitsFor(config, 'session:abc')).toEqual([{ metric: 'tokens', window: 'hour', limit: 50 }])
    expect(limitsFor(config, 'tool:search')).toEqual([{ metric: 'requests', window: 'minute', limit: 2 }])
    expect(limitsFor(config, 'tool:other')).toEqual([])
    // Inherited names are not tools with limits.
    expect(limitsFor(config, 'tool:constructor')).toEqual([])
    expect(toolLimits(config, 'constructor')).toBeUndefined()
    expect(toolLimits(config, 'toString')).toBeUndefined()
  })
})

describe('windows', () => {
  it('are UTC-aligned; months follow the calendar', () => {
    const t = Date.UTC(2028, 1, 29, 13, 45, 12, 345) // a leap day
    expect(windowStart('minute', t)).toBe(Date.UTC(2028, 1, 29, 13, 45))
    expect(windowStart('hour', t)).toBe(Date.UTC(2028, 1, 29, 13))
    expect(windowStart('day', t)).toBe(Date.UTC(2028, 1, 29))
    expect(windowStart('month', t)).toBe(Date.UTC(2028, 1, 1))
    expect(windowEnd('month', Date.UTC(2028, 1, 1))).toBe(Date.UTC(2028, 2, 1))
    expect(windowEnd('month', Date.UTC(2028, 11, 1))).toBe(Date.UTC(2029, 0, 1))
    expect(windowEnd('day', Date.UTC(2028, 1, 29))).toBe(Date.UTC(2028, 2, 1))
  })
})
