/**
 * Budgets end to end: the firewall in workerd (wrangler), a real SDK origin answering on SSE streams,
 * and the official SDK client. Parallel sessions against a small budget all end with -31002, never
 * more than the budget is delivered, the usage API agrees with what was delivered, and a refused
 * request never reaches the origin.
 *
 * Day windows keep each run inside one window (the minute rollover is tested against the object with
 * an injected clock, test/unit/budget-object.test.ts).
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOrigin } from '../support/origin.js'
import type { Origin } from '../support/origin.js'
import { mcpClient, startFirewall } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'
import { getStream, readSse, startHoldingOrigin } from '../support/raw.js'
import type { HoldingOrigin } from '../support/raw.js'

const o200k = (text: string): number => countTokens(text, { disallowedSpecial: new Set() })

/** About 400 o200k tokens of varied prose. */
const CHUNK = Array.from({ length: 60 }, (_, i) => `Paragraph ${i} of the quarterly report notes revenue in region ${i % 7}.`).join(' ')
const CHUNK_TOKENS = o200k(CHUNK)
const ARGS = { part: 1 }
const ARG_TOKENS = o200k(JSON.stringify(ARGS))

let fw: Firewall
let origin: Origin

beforeAll(async () => {
  ;[fw, origin] = await Promise.all([startFirewall(), startOrigin({ mode: 'sse', stateful: true })])
  await origin.setTools([
    { definition: { name: 'chunk', description: 'Returns one chunk of a report.', inputSchema: { type: 'object' } }, result: { content: [{ type: 'text', text: CHUNK }] } },
  ], { notify: false })
})
afterAll(async () => {
  await Promise.all([fw?.stop(), origin?.close()])
})

interface Run {
  delivered: number
  refused: number
  codes: Set<number>
}

/** Calls `chunk` until the firewall refuses with -31002 (or 200 calls), counting what was delivered. */
async function drain(url: string): Promise<Run> {
  const c = await mcpClient(url)
  const run: Run = { delivered: 0, refused: 0, codes: new Set() }
  try {
    for (let i = 0; i < 200; i++) {
      const r = await c.client.callTool({ name: 'chunk', arguments: ARGS }).catch((e: unknown) => e)
      if (r instanceof Error) {
        run.codes.add((r as { code?: number }).code ?? 0)
        run.refused++
        break
      }
      const text = (r as { content: Array<{ text?: string }> }).content[0]?.text ?? ''
      run.delivered += o200k(text)
    }
  } finally {
    await c.close()
  }
  return run
}

type UsageRow = { scope: string; metric: string; window: string; limit: number; used: number; reserved: number; provisional: number; remaining: number }

async function usage(tenant: string): Promise<UsageRow[]> {
  const res = await fw.admin.request('GET', `admin/v1/tenants/${tenant}/usage`)
  expect(res.status).toBe(200)
  return (res.body as { usage: UsageRow[] }).usage
}

const tokensRow = (rows: UsageRow[]) => rows.find((r) => r.scope === 'tenant' && r.metric === 'tokens')

describe('budgets end to end', () => {
  it('parallel sessions against a small budget all see -31002, and the usage API agrees exactly with what was delivered', async () => {
    const limit = 20 * CHUNK_TOKENS + 50
    // leaseFraction 0: every charge goes to the object, so its record must match delivery to the token.
    await fw.admin.putTenant('budget-exact', { origin: { url: origin.url }, policy: { tools: { pinning: 'off' } }, budget: { tokensPerDay: limit, leaseFraction: 0 } })
    origin.reset()
    const runs = await Promise.all(Array.from({ length: 6 }, () => drain(fw.tenantUrl('budget-exact'))))
    for (const run of runs) expect([...run.codes]).toEqual([-31002])
    const results = runs.reduce((n, r) => n + r.delivered, 0)
    const forwarded = origin.invocations.filter((i) => i.name === 'chunk').length
    const charged = results + forwarded * ARG_TOKENS
    expect(charged).toBeLessThanOrEqual(limit)
    expect(tokensRow(await usage('budget-exact'))).toMatchObject({ limit, used: charged, reserved: 0, provisional: 0, remaining: limit - charged })
  })

  it('with leases on, still never delivers more than the budget, and usage brackets what was delivered', async () => {
    const limit = 60 * CHUNK_TOKENS
    await fw.admin.putTenant('budget-leased', { origin: { url: origin.url }, policy: { tools: { pinning: 'off' } }, budget: { tokensPerDay: limit, leaseFraction: 0.1 } })
    origin.reset()
    const runs = await Promise.all(Array.from({ length: 6 }, () => drain(fw.tenantUrl('budget-leased'))))
    for (const run of runs) expect([...run.codes]).toEqual([-31002])
    const charged = runs.reduce((n, r) => n + r.delivered, 0) + origin.invocations.filter((i) => i.name === 'chunk').length * ARG_TOKENS
    expect(charged).toBeLessThanOrEqual(limit)
    const row = tokensRow(await usage('budget-leased'))
    if (!row) throw new Error('no usage row')
    // The isolate may still hold a lease: what it spent of it is delivered but not yet reported.
    expect(row.used - row.provisional).toBeLessThanOrEqual(charged)
    expect(charged).toBeLessThanOrEqual(row.used + row.reserved)
    expect(row.used + row.reserved).toBeLessThanOrEqual(limit)
  })

  it('a request refused for budget never reaches the origin', async () => {
    await fw.admin.putTenant('budget-requests', { origin: { url: origin.url }, policy: { tools: { pinning: 'off' } }, budget: { requestsPerDay: 4, tokensPerDay: 1_000_000, leaseFraction: 0 } })
    const c = await mcpClient(fw.tenantUrl('budget-requests')) // initialize: request 1
    try {
      origin.reset()
      await c.client.callTool({ name: 'chunk', arguments: { marker: 'allowed-1' } })
      await c.client.callTool({ name: 'chunk', arguments: { marker: 'allowed-2' } })
      await c.client.callTool({ name: 'chunk', arguments: { marker: 'allowed-3' } })
      const err = await c.client.callTool({ name: 'chunk', arguments: { marker: 'refused' } }).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: -31002 })
      expect((err as { data?: unknown }).data).toMatchObject({ scope: 'tenant', metric: 'requests', window: 'day', limit: 4 })
      expect(origin.invocations.map((i) => i.arguments['marker'])).toEqual(['allowed-1', 'allowed-2', 'allowed-3'])
      expect(origin.calls.some((call) => JSON.stringify(call.body ?? null).includes('"refused"'))).toBe(false)
    } finally {
      await c.close()
    }
  })

  it('arguments bigger than what is left are refused before the origin too', async () => {
    await fw.admin.putTenant('budget-args', { origin: { url: origin.url }, policy: { tools: { pinning: 'off' } }, budget: { tokensPerDay: 300, leaseFraction: 0 } })
    const c = await mcpClient(fw.tenantUrl('budget-args'))
    try {
      origin.reset()
      const err = await c.client.callTool({ name: 'chunk', arguments: { text: CHUNK } }).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: -31002 })
      expect(origin.invocations).toHaveLength(0)
      expect(tokensRow(await usage('budget-args'))).toMatchObject({ used: 0 })
    } finally {
      await c.close()
    }
  })

  it('tenants without a budget are unmetered and have no usage', async () => {
    await fw.admin.putTenant('budget-none', { origin: { url: origin.url }, policy: { tools: { pinning: 'off' } } })
    const res = await fw.admin.request('GET', 'admin/v1/tenants/budget-none/usage')
    expect(res).toMatchObject({ status: 200, body: { budget: null, usage: [] } })
  })
})

/**
 * A GET stream lives for hours: the budget it is metered against follows the tenant's config while it is
 * open (re-read with the kill switch's re-check), so a stream opened before a budget was set, or before
 * it was lowered, cannot go on unmetered or under the old limits.
 */
describe('a long stream', () => {
  let raw: HoldingOrigin

  beforeAll(async () => {
    raw = await startHoldingOrigin()
  })
  afterAll(async () => {
    await raw?.close()
  })

  const sampling = (id: string, text: string) => ({ jsonrpc: '2.0', id, method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text } }], maxTokens: 10 } })
  const write = (message: object) => raw.write(message)

  const cases = [
    ['is metered against a budget set after it opened', 'budget-late', undefined],
    ['is metered against a budget lowered after it opened', 'budget-lowered', { tokensPerDay: 1_000_000, leaseFraction: 0 }],
  ] as const
  for (const [name, tenant, opening] of cases) {
    it(name, async () => {
      const config = (budget?: object) => ({ origin: { url: raw.url }, policy: { tools: { pinning: 'off' } }, ...(budget ? { budget } : {}) })
      await fw.admin.putTenant(tenant, config(opening))
      raw.release()
      const res = await getStream(fw.tenantUrl(tenant), { protocolVersion: '2025-11-25' })
      expect(res.status).toBe(200)
      const read = readSse(res, { until: (m) => (m as { params?: { data?: unknown } }).params?.data === 'done', timeoutMs: 20_000 })
      for (let i = 0; i < 50 && !raw.held(); i++) await new Promise((r) => setTimeout(r, 20))
      write(sampling('srv-1', 'Summarise the quarterly report for region four in two sentences.')) // within the budget the stream opened with
      await fw.admin.putTenant(tenant, config({ tokensPerDay: 5, leaseFraction: 0 }))
      await new Promise((r) => setTimeout(r, 3_000)) // past the stream's 2 s re-check
      write(sampling('srv-2', 'Summarise the quarterly report for region five in two sentences.'))
      write({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'done' } })
      const ids = (await read).messages.map((m) => (m as { id?: unknown }).id)
      expect(ids).toContain('srv-1')
      expect(ids).not.toContain('srv-2') // over the new budget: hidden from the client, refused to the origin
      for (let i = 0; i < 50 && !raw.answered.some((a) => a.id === 'srv-2'); i++) await new Promise((r) => setTimeout(r, 20))
      expect(raw.answered.find((a) => a.id === 'srv-2')?.error?.code).toBe(-31002)
      raw.answered.length = 0
    })
  }
})
