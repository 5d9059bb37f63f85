/**
 * Abuse limits end to end, with the limits shipped in wrangler.toml (Rate Limiting bindings, local
 * miniflare implementation): bad credentials at an apiKey endpoint and bad admin tokens are answered
 * 429 with Retry-After once past their limits, the origin is never called, and a good credential
 * from another address still gets through. Clients are told apart by `CF-Connecting-IP`, which
 * miniflare passes on as sent (on Cloudflare the edge sets it). See docs/abuse.md.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { unstable_readConfig } from 'wrangler'
import { startOrigin } from '../support/origin.js'
import type { Origin } from '../support/origin.js'
import { TEST_ADMIN_TOKEN, startFirewall } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'
import { ACCEPT_BOTH } from '../support/raw.js'
import { ABUSE_LIMITS } from '../../src/abuse/limits.js'

let fw: Firewall
let origin: Origin
let goodKey: string
/** Client keys of the tenants `flood-0` and `flood-1` (one per attempt of the tenant flood). */
const floodKeys: string[] = []

const LIMITS = ABUSE_LIMITS
const echo = JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } })

/** Issues a client key for `tenant` through the admin API. */
async function clientKey(tenant: string): Promise<string> {
  return (await fw.admin.issueClientKey(tenant, 'e2e')).key
}

beforeAll(async () => {
  ;[fw, origin] = await Promise.all([startFirewall(), startOrigin({ mode: 'json', stateful: false })])
  for (const id of ['keyed', 'flood-0', 'flood-1']) await fw.admin.putTenant(id, { origin: { url: origin.url }, auth: { mode: 'apiKey' } })
  await fw.admin.putTenant('open', { origin: { url: origin.url } })
  goodKey = await clientKey('keyed')
  floodKeys.push(await clientKey('flood-0'), await clientKey('flood-1'))
})

afterAll(async () => {
  await Promise.all([fw?.stop(), origin?.close()])
})

beforeEach(() => origin.reset())

/** One MCP POST to `tenant` from client address `ip`. */
function mcp(tenant: string, ip: string, authorization?: string): Promise<Response> {
  return fetch(fw.tenantUrl(tenant), {
    method: 'POST',
    headers: { accept: ACCEPT_BOTH, 'content-type': 'application/json', 'cf-connecting-ip': ip, ...(authorization ? { authorization } : {}) },
    body: echo,
  })
}

/** One admin call from client address `ip`. */
function admin(ip: string, token: string): Promise<Response> {
  return fetch(new URL('admin/v1/tenants/keyed', fw.url), { headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': ip } })
}

/** `n` calls, `parallel` at a time (their statuses; bodies read), then one more, whose response is kept. */
async function pastLimit(n: number, call: (i: number) => Promise<Response>, parallel = 1): Promise<{ within: number[]; over: Response }> {
  const within: number[] = []
  for (let i = 0; i < n; i += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, (_, j) => call(i + j)))
    for (const res of batch) {
      within.push(res.status)
      await res.text()
    }
  }
  return { within, over: await call(n) }
}

/**
 * The local bindings count in fixed windows aligned to the minute. A burst meant to be counted in one
 * window is checked to have started and ended in the same minute; if the minute turned while it ran,
 * its count was split, so it runs once more with fresh keys (`attempt` 1), now early in a new window.
 * The burst is repeated because its precondition did not hold, never because its outcome was wrong.
 */
async function inOneWindow<T>(burst: (attempt: number) => Promise<T>): Promise<T> {
  const minute = (): number => Math.floor(Date.now() / 60_000)
  for (let attempt = 0; attempt < 2; attempt++) {
    const start = minute()
    const result = await burst(attempt)
    if (minute() === start) return result
  }
  throw new Error('a burst took longer than a whole rate-limit window')
}

async function expect429Mcp(res: Response): Promise<void> {
  expect(res.status).toBe(429)
  expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/)
  expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60)
  expect(res.headers.get('www-authenticate')).toBeNull()
  expect(await res.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -31008, message: 'Too many requests', data: { requestId: res.headers.get('x-request-id') } } })
}

describe('configuration', () => {
  it('wrangler.toml declares exactly the limits src/abuse/limits.ts describes', () => {
    const config = unstable_readConfig({ config: fileURLToPath(new URL('../../wrangler.toml', import.meta.url)) })
    const ratelimits: ReadonlyArray<{ name: string; simple: { limit: number; period: number } }> = config.ratelimits
    const declared = Object.fromEntries(ratelimits.filter((r) => r.name.startsWith('ABUSE_')).map((r) => [r.name, r.simple]))
    expect(declared).toEqual(Object.fromEntries(Object.values(LIMITS).map((l) => [l.binding, { limit: l.limit, period: l.period }])))
  })
})

describe('unauthenticated MCP requests', () => {
  it(`per IP: ${LIMITS.mcp_ip.limit} refusals get 401, the next gets 429 / -31008, and that address is refused even with a good key`, async () => {
    const n = LIMITS.mcp_ip.limit
    const { ip, within, over } = await inOneWindow(async (attempt) => {
      const ip = `203.0.113.${10 + attempt}`
      return { ip, ...(await pastLimit(n, () => mcp('keyed', ip, 'Bearer not-a-key'), 10)) }
    })
    expect(within).toEqual(Array(n).fill(401))
    await expect429Mcp(over)
    await expect429Mcp(await mcp('keyed', ip, `Bearer ${goodKey}`))
    await expect429Mcp(await mcp('keyed', ip))
    expect(origin.calls).toEqual([])

    // A good key from another address is served; a passthrough tenant is not limited at all.
    const other = await mcp('keyed', '198.51.100.20', `Bearer ${goodKey}`)
    expect(other.status).toBe(200)
    expect(await other.json()).toMatchObject({ id: 5, result: { content: [{ type: 'text', text: 'hi' }] } })
    const open = await mcp('open', ip, 'Bearer whatever')
    expect(open.status).toBe(200)
    await open.text()
  })

  it(`per tenant: after ${LIMITS.mcp_tenant.limit} refusals from many addresses, refusals become 429 but valid keys still work`, async () => {
    const perIp = LIMITS.mcp_ip.limit
    const n = LIMITS.mcp_tenant.limit
    const { tenant, within, over, key } = await inOneWindow(async (attempt) => {
      const tenant = `flood-${attempt}`
      // Never more than the per-IP limit from one address: only the tenant limit is reached.
      const ipOf = (i: number): string => `192.0.${2 + attempt}.${1 + Math.floor(i / perIp)}`
      return { tenant, key: floodKeys[attempt] ?? '', ...(await pastLimit(n, (i) => mcp(tenant, ipOf(i)), 20)) }
    })
    expect(within).toEqual(Array(n).fill(401))
    await expect429Mcp(over)
    await expect429Mcp(await mcp(tenant, '198.51.100.101'))
    await expect429Mcp(await mcp(tenant, '198.51.100.102', 'Bearer not-a-key'))
    // Another tenant's endpoint is not affected.
    const elsewhere = await mcp('keyed', '198.51.100.104')
    expect(elsewhere.status).toBe(401)
    await elsewhere.text()
    expect(origin.calls).toEqual([])

    const valid = await mcp(tenant, '198.51.100.103', `Bearer ${key}`)
    expect(valid.status).toBe(200)
    expect(await valid.json()).toMatchObject({ id: 5, result: { content: [{ type: 'text', text: 'hi' }] } })
  }, 120_000)
})

describe('admin API', () => {
  it(`brute force: ${LIMITS.admin_failed_ip.limit} bad tokens get 401, then 429 with Retry-After, even for the right token`, async () => {
    const n = LIMITS.admin_failed_ip.limit
    const { ip, within, over } = await inOneWindow(async (attempt) => {
      const ip = `203.0.113.${30 + attempt}`
      return { ip, ...(await pastLimit(n, (i) => admin(ip, `guess-${i}`))) }
    })
    expect(within).toEqual(Array(n).fill(401))
    expect(over.status).toBe(429)
    expect(over.headers.get('retry-after')).toBe(String(LIMITS.admin_failed_ip.period))
    expect(await over.json()).toEqual({ error: 'rate_limited' })
    for (const token of ['guess-last', TEST_ADMIN_TOKEN]) {
      const res = await admin(ip, token)
      expect(res.status).toBe(429)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(await res.json()).toEqual({ error: 'rate_limited' })
    }
    const other = await admin('198.51.100.31', TEST_ADMIN_TOKEN)
    expect(other.status).toBe(200)
    await other.text()
  })

  it(`overall: ${LIMITS.admin_ip.limit} requests per address, then 429 before the token is looked at`, async () => {
    const n = LIMITS.admin_ip.limit
    const { within, over: res } = await inOneWindow((attempt) => pastLimit(n, () => admin(`203.0.113.${40 + attempt}`, TEST_ADMIN_TOKEN), 10))
    expect(within).toEqual(Array(n).fill(200))
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe(String(LIMITS.admin_ip.period))
    expect(await res.json()).toEqual({ error: 'rate_limited' })
  })
})
