/**
 * The limiter: counting through the real local Rate Limiting bindings declared in wrangler.toml, the
 * in-isolate memory of refused keys that later checks read with no I/O, and its failure mode.
 */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { ABUSE_LIMITS } from '../../src/abuse/limits'
import type { AbuseScope } from '../../src/abuse/limits'
import { MAX_REMEMBERED, count, forgetRefusals, refusedFor } from '../../src/abuse/limiter'
import { ExactLimit, envWith, inOneWindow } from './abuse-support'

const ctx = { requestId: 'req-1' }
const unique = (): string => `k-${crypto.randomUUID()}`

beforeEach(() => forgetRefusals())

describe('the local bindings (wrangler.toml)', () => {
  it.each(Object.entries(ABUSE_LIMITS))('%s allows exactly its limit per window, then refuses for one period', async (scope, { limit, period }) => {
    const answers = await inOneWindow(async () => {
      const key = unique()
      const out: Array<number | null> = []
      for (let i = 0; i <= limit; i++) out.push(await count(env, scope as AbuseScope, key, ctx, 1_000_000))
      return out
    })
    expect(answers.slice(0, limit)).toEqual(Array(limit).fill(null))
    expect(answers[limit]).toBe(period)
    // Another key is counted on its own.
    expect(await count(env, scope as AbuseScope, unique(), ctx)).toBeNull()
  }, 20_000)
})

describe('remembered refusals', () => {
  it('answers from memory until the period has passed, with Retry-After rounded up', async () => {
    const e = envWith({ admin_failed_ip: new ExactLimit(0) })
    expect(refusedFor('admin_failed_ip', '203.0.113.1', 1_000)).toBeNull()
    expect(await count(e, 'admin_failed_ip', '203.0.113.1', ctx, 1_000)).toBe(60)
    expect(refusedFor('admin_failed_ip', '203.0.113.1', 1_000)).toBe(60)
    expect(refusedFor('admin_failed_ip', '203.0.113.1', 31_500)).toBe(30)
    expect(refusedFor('admin_failed_ip', '203.0.113.1', 60_999)).toBe(1)
    expect(refusedFor('admin_failed_ip', '203.0.113.1', 61_000)).toBeNull()
    // Scopes are separate: an address refused by one limiter is not refused by another.
    expect(await count(e, 'admin_failed_ip', '203.0.113.2', ctx, 1_000)).toBe(60)
    expect(refusedFor('mcp_ip', '203.0.113.2', 1_000)).toBeNull()
  })

  it(`remembers at most ${MAX_REMEMBERED} keys, forgetting the oldest first`, async () => {
    const e = envWith({ mcp_ip: new ExactLimit(0) })
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined)
    for (let i = 0; i <= MAX_REMEMBERED; i++) await count(e, 'mcp_ip', `ip-${i}`, ctx, 1_000)
    // One log line per key as it goes over, never for later refusals.
    expect(log).toHaveBeenCalledTimes(MAX_REMEMBERED + 1)
    log.mockRestore()
    expect(refusedFor('mcp_ip', 'ip-0', 1_000)).toBeNull()
    expect(refusedFor('mcp_ip', 'ip-1', 1_000)).toBe(60)
    expect(refusedFor('mcp_ip', `ip-${MAX_REMEMBERED}`, 1_000)).toBe(60)
  })

  it('treats a failing binding as within the limit (the request still faces authentication) and remembers nothing', async () => {
    const e = envWith({ mcp_tenant: { limit: () => Promise.reject(new Error('binding down')) } })
    expect(await count(e, 'mcp_tenant', 'acme', ctx)).toBeNull()
    expect(refusedFor('mcp_tenant', 'acme')).toBeNull()
  })
})
