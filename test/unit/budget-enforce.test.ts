/**
 * Enforcement on the proxy's paths, in workerd with the real TenantBudget object: a streamed result
 * that exhausts the budget ends the stream with -31002 for every pending id; a JSON response over
 * budget becomes -31002 for its id; refused and failed messages are never charged; a refused request
 * is answered before any forwarding; and an unreachable object fails closed unless the tenant says open.
 */
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { BudgetConfig } from '../../src/budget/config'
import { BudgetMeter, clientScope, ledgerFor } from '../../src/budget/enforce'
import { LeaseLedger } from '../../src/budget/lease'
import { countTokens, loadTokenizer } from '../../src/budget/tokens'
import { EventSink } from '../../src/audit/sink'
import { compilePolicy } from '../../src/inspect/policy'
import { Exchange } from '../../src/proxy/exchange'
import { relayJson } from '../../src/proxy/relay-json'
import { relaySse } from '../../src/proxy/relay-sse'
import { TenantConfig } from '../../src/tenant/config'
import { toolGateFor } from '../../src/tools/endpoint'
import { admin, MCP_HEADERS, workerFetch } from '../support/worker/fetch'

beforeAll(async () => {
  await loadTokenizer()
})

const enc = new TextEncoder()
const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i % 10}`).join(' ')
const result = (id: number, text: string) => ({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } })

function exchangeFor(tenant: string, budget: object, ledger?: LeaseLedger, policy: object = {}) {
  const config = TenantConfig.parse({ origin: { url: 'https://o.example/mcp' }, budget, policy })
  const parsed = config.budget
  if (!parsed) throw new Error('no budget')
  const exchange = new Exchange({
    tenantId: tenant,
    configVersion: 1,
    requestId: 'req-budget',
    era: 'legacy',
    policy: compilePolicy(tenant, Math.floor(Math.random() * 1e9), config),
    sink: new EventSink(env, tenant, () => undefined),
  })
  exchange.init.meter = new BudgetMeter({ env, tenantId: tenant, configVersion: 1, budget: parsed, requestId: 'req-budget' }, ledger ?? ledgerFor(env, tenant))
  return { exchange, budget: parsed }
}

const usage = async (tenant: string, budget: BudgetConfig) => (await env.BUDGET.getByName(tenant).usage({ tenant, configVersion: 1, config: budget })).usage

describe('budget on the SSE relay', () => {
  it('ends the stream with -31002 for the refused result and every pending id, charging only what was delivered', async () => {
    const first = words(40)
    const { exchange, budget } = exchangeFor('enf-sse', { tokensPerMinute: countTokens(first) + 20 })
    for (const id of [1, 2, 3]) exchange.fromClient({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'read', arguments: {} } })
    let aborted = 0
    let cancelled = false
    const upstream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(`event: message\nid: e1\ndata: ${JSON.stringify(result(1, first))}\n\n`))
        c.enqueue(enc.encode(`event: message\nid: e2\ndata: ${JSON.stringify(result(2, words(200)))}\n\n`))
        c.enqueue(enc.encode(`event: message\nid: e3\ndata: ${JSON.stringify(result(3, 'never sent'))}\n\n`))
      },
      cancel() {
        cancelled = true
      },
    })
    const body = await relaySse(upstream, exchange, { maxLineBytes: 1 << 20, maxEventBytes: 1 << 20, maxDepth: 64, idleTimeoutMs: 10_000, prelude: [], answerOrigin: () => undefined, abortOrigin: () => aborted++ })
    const out = await new Response(body).text() // the stream ends by itself: it closed cleanly
    const events = out.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('data: ')[1] ?? 'null') as { id: number; result?: unknown; error?: { code: number; data: Record<string, unknown> } })
    expect(events.map((e) => [e.id, e.error?.code ?? 'result'])).toEqual([[1, 'result'], [2, -31002], [3, -31002]])
    expect(events[1]?.error?.data).toMatchObject({ scope: 'tenant', metric: 'tokens', window: 'minute', requestId: 'req-budget' })
    expect(out).toContain('id: e2\n') // the refused result keeps its SSE id; nothing after it is relayed
    expect(out).not.toContain('never sent')
    expect(aborted).toBe(1)
    expect(cancelled).toBe(true)
    expect(await usage('enf-sse', budget)).toMatchObject([{ metric: 'tokens', used: countTokens(first), reserved: 0 }])
  })

  it('delivers and charges nothing after a refused result in the same batch event (2025-03-26 origins batch)', async () => {
    const small = words(10)
    const { exchange, budget } = exchangeFor('enf-sse-batch', { tokensPerMinute: 2 * countTokens(small) + 5, leaseFraction: 0 })
    for (const id of [1, 2, 3, 4]) exchange.fromClient({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'read', arguments: {} } })
    const sampling = { jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: 'after the refusal' } }], maxTokens: 10 } }
    const batch = [result(1, small), result(2, words(200)), result(3, small), sampling, { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'after the refusal' } }]
    const upstream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(`event: message\nid: e1\ndata: ${JSON.stringify(batch)}\n\n`))
        c.enqueue(enc.encode(`event: message\nid: e2\ndata: ${JSON.stringify(result(4, 'never sent'))}\n\n`))
      },
    })
    const toOrigin: unknown[] = []
    const body = await relaySse(upstream, exchange, { maxLineBytes: 1 << 20, maxEventBytes: 1 << 20, maxDepth: 64, idleTimeoutMs: 10_000, prelude: [], answerOrigin: (m) => toOrigin.push(...m), abortOrigin: () => undefined })
    const out = await new Response(body).text()
    expect(out).not.toContain('after the refusal')
    expect(out).not.toContain('never sent')
    const sent = out.split('\n\n').filter(Boolean).flatMap((e) => [JSON.parse(e.split('data: ')[1] ?? 'null') as unknown]).flat() as Array<{ id: number; error?: { code: number } }>
    // 1 was delivered; 2 was refused; 3 and 4 were waiting when the stream ended: every one gets the error.
    expect(sent.map((m) => [m.id, m.error?.code ?? 'result'])).toEqual([[1, 'result'], [2, -31002], [3, -31002], [4, -31002]])
    expect(toOrigin).toEqual([]) // the origin exchange is aborted: nothing is answered on the client's behalf either
    expect(await usage('enf-sse-batch', budget)).toMatchObject([{ metric: 'tokens', used: countTokens(small), reserved: 0 }])
  })
})

describe('budget on the JSON relay', () => {
  it('replaces a response over budget with -31002 for its id and charges nothing for it', async () => {
    const { exchange, budget } = exchangeFor('enf-json', { tokensPerMinute: 50, leaseFraction: 0 })
    exchange.fromClient({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'read', arguments: {} } })
    const upstream = new Response(JSON.stringify(result(7, words(100))), { headers: { 'content-type': 'application/json' } })
    const body = JSON.parse(await relayJson(upstream, exchange, { maxBytes: 1 << 20, maxDepth: 64, prelude: [], answerOrigin: () => undefined })) as { id: number; error: { code: number; message: string } }
    expect(body).toMatchObject({ id: 7, error: { code: -31002, message: 'Budget exhausted' } })
    expect(await usage('enf-json', budget)).toMatchObject([{ used: 0, reserved: 0 }])
  })

  it('charges an origin error its text: a huge error message is refused like a huge result', async () => {
    const { exchange, budget } = exchangeFor('enf-json-error', { tokensPerMinute: 50, leaseFraction: 0 })
    exchange.fromClient({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'read', arguments: {} } })
    const upstream = new Response(JSON.stringify({ jsonrpc: '2.0', id: 9, error: { code: -32000, message: 'failed', data: words(100) } }), { headers: { 'content-type': 'application/json' } })
    const body = JSON.parse(await relayJson(upstream, exchange, { maxBytes: 1 << 20, maxDepth: 64, prelude: [], answerOrigin: () => undefined })) as { id: number; error: { code: number } }
    expect(body).toMatchObject({ id: 9, error: { code: -31002 } })
    expect(await usage('enf-json-error', budget)).toMatchObject([{ used: 0, reserved: 0 }])
  })

  it('charges nothing for a response the policy blocked: the firewall error in its place is not origin text', async () => {
    const { exchange, budget } = exchangeFor('enf-json-blocked', { tokensPerMinute: 1000, leaseFraction: 0 }, undefined, { unicode: 'block' })
    exchange.fromClient({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'read', arguments: {} } })
    const upstream = new Response(JSON.stringify(result(4, 'sun\u200b\u200bny')), { headers: { 'content-type': 'application/json' } })
    const body = JSON.parse(await relayJson(upstream, exchange, { maxBytes: 1 << 20, maxDepth: 64, prelude: [], answerOrigin: () => undefined })) as { id: number; error: { code: number } }
    expect(body).toMatchObject({ id: 4, error: { code: -31001 } })
    expect(await usage('enf-json-blocked', budget)).toMatchObject([{ used: 0, reserved: 0 }])
  })

  it('fails closed when the object cannot be reached, or lets the message through when the tenant fails open', async () => {
    const unreachable = () => new LeaseLedger(async () => Promise.reject(new Error('down')), 'unreachable')
    for (const [failureMode, code] of [['closed', -31003], ['open', undefined]] as const) {
      const { exchange } = exchangeFor(`enf-down-${failureMode}`, { tokensPerMinute: 1000, failureMode }, unreachable())
      exchange.fromClient({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'read', arguments: {} } })
      const upstream = new Response(JSON.stringify(result(8, 'some text')), { headers: { 'content-type': 'application/json' } })
      const body = JSON.parse(await relayJson(upstream, exchange, { maxBytes: 1 << 20, maxDepth: 64, prelude: [], answerOrigin: () => undefined })) as { error?: { code: number } }
      expect(body.error?.code).toBe(code)
    }
  })
})

describe('budget at the endpoint', () => {
  it('refuses a request over budget before forwarding: HTTP 200, -31002, Retry-After, and no origin contacted', async () => {
    // The origin is a closed port: had the request been forwarded, the answer would be -31006 (502).
    const put = await admin('PUT', '/tenants/enf-endpoint', { origin: { url: 'http://127.0.0.1:9/mcp' }, budget: { requestsPerMinute: 1, leaseFraction: 0 } })
    expect(put.status).toBeLessThan(300)
    const call = (id: number) => workerFetch('https://fw.example/t/enf-endpoint/mcp', { method: 'POST', headers: { ...MCP_HEADERS, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }) })
    const first = await call(1)
    expect(first.status).toBe(502) // the one request the window allows went to the (closed) origin
    await first.body?.cancel()
    const refused = await call(2)
    expect(refused.status).toBe(200)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(await refused.json()).toMatchObject({ jsonrpc: '2.0', id: 2, error: { code: -31002, message: 'Budget exhausted', data: { scope: 'tenant', metric: 'requests', window: 'minute', limit: 1 } } })
  })

  it('keeps the operator approval a sensitive call used when the budget refuses that call', async () => {
    const tenant = 'enf-approval'
    const config = (requestsPerMinute: number) => ({
      origin: { url: 'http://127.0.0.1:9/mcp' },
      budget: { requestsPerMinute, leaseFraction: 0 },
      policy: { tools: { pinning: 'off', requireApproval: ['transfer'] } },
    })
    expect((await admin('PUT', `/tenants/${tenant}`, config(1))).status).toBeLessThan(300)
    const post = (id: number, method: string, params?: object) =>
      workerFetch(`https://fw.example/t/${tenant}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }) })
    const transfer = (id: number) => post(id, 'tools/call', { name: 'transfer', arguments: { amount: 5 } })
    const asked = (await (await transfer(1)).json()) as { error: { data: { reason: string; approvalId: string } } }
    expect(asked.error.data.reason).toBe('approval-required')
    const approvalId = asked.error.data.approvalId
    expect((await admin('POST', `/tenants/${tenant}/tools/calls/${approvalId}/approve`)).status).toBe(200)
    const spent = await post(2, 'ping') // the one request the window allows (the origin is a closed port: 502)
    await spent.body?.cancel()
    expect(await (await transfer(3)).json()).toMatchObject({ id: 3, error: { code: -31002 } })
    const calls = (await (await admin('GET', `/tenants/${tenant}/tools/calls`)).json()) as { calls: Array<{ id: string; grantedBy: string | null }> }
    expect(calls.calls).toMatchObject([{ id: approvalId, grantedBy: expect.any(String) }])
    // With room in the budget, the approved call goes to the origin (502: the closed port), once.
    expect((await admin('PUT', `/tenants/${tenant}`, config(100))).status).toBeLessThan(300)
    const forwarded = await transfer(4)
    expect(forwarded.status).toBe(502)
    await forwarded.body?.cancel()
    expect(await (await transfer(5)).json()).toMatchObject({ id: 5, error: { data: { reason: 'approval-required' } } })
  })

  it('serves usage to the operator and the tenant, and no one else', async () => {
    await admin('PUT', '/tenants/enf-usage', { origin: { url: 'http://127.0.0.1:9/mcp' }, budget: { tokensPerHour: 500 } })
    const res = await admin('GET', '/tenants/enf-usage/usage')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ tenant: 'enf-usage', unit: 'o200k tokens', usage: [{ scope: 'tenant', metric: 'tokens', window: 'hour', limit: 500, used: 0, remaining: 500 }] })
    expect((await admin('GET', '/tenants/enf-usage/usage', undefined, 'wrong-token')).status).toBe(401)
    expect((await admin('GET', '/tenants/nobody-here/usage')).status).toBe(404)
  })

  it("reports against the budget the tenant's authority holds, not an isolate's older copy of the config", async () => {
    await admin('PUT', '/tenants/enf-usage-moved', { origin: { url: 'http://127.0.0.1:9/mcp' }, budget: { tokensPerHour: 500 } })
    expect(await (await admin('GET', '/tenants/enf-usage-moved/usage')).json()).toMatchObject({ usage: [{ window: 'hour', limit: 500 }] })
    // Another location raises the limit: this isolate's cached copy of the config is not told.
    const write = await env.TENANT_CONFIG.getByName('enf-usage-moved').write({ tenant: 'enf-usage-moved', actor: { kind: 'operator' }, expect: { kind: 'any' }, change: { kind: 'config', config: { origin: { url: 'http://127.0.0.1:9/mcp' }, budget: { tokensPerHour: 900 } } } })
    expect(write.ok).toBe(true)
    expect(await (await admin('GET', '/tenants/enf-usage-moved/usage')).json()).toMatchObject({ usage: [{ window: 'hour', limit: 900 }] })
  })
})

describe('tasks', () => {
  it("charges a task's result to its tool when tool integrity is off too: the task's tool is still recorded", async () => {
    const tenant = 'enf-task-idle'
    const config = TenantConfig.parse({ origin: { url: 'https://o.example/mcp' }, budget: { tokensPerMinute: 1_000_000, perTool: { report: { tokensPerMinute: 50 } }, leaseFraction: 0 }, policy: { tools: { pinning: 'off' } } })
    const budget = config.budget
    if (!budget) throw new Error('no budget')
    // One exchange per POST, wired as the endpoint wires it: the tool gate when the config needs one, the meter.
    const post = () => {
      const policy = compilePolicy(tenant, 1, config)
      const sink = new EventSink(env, tenant, () => undefined)
      const exchange = new Exchange({ tenantId: tenant, configVersion: 1, requestId: 'req-task', era: 'legacy', policy, sink })
      const gate = toolGateFor({ env, tenant: { id: tenant, record: { schema: 1, version: 1, updatedAt: '', config } }, requestId: 'req-task', era: 'legacy', policy, sink, originUrl: new URL('https://o.example/mcp'), originHeaders: async () => new Headers(), maxDepth: 64 })
      if (gate) exchange.init.tools = gate
      exchange.init.meter = new BudgetMeter({ env, tenantId: tenant, configVersion: 1, budget, requestId: 'req-task' })
      return exchange
    }
    const relay = async (exchange: Exchange, answer: object) => JSON.parse(await relayJson(new Response(JSON.stringify(answer), { headers: { 'content-type': 'application/json' } }), exchange, { maxBytes: 1 << 20, maxDepth: 64, prelude: [], answerOrigin: () => undefined })) as { result?: unknown; error?: { code: number; data: unknown } }
    const call = post()
    await call.fromClientChecked({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'report', arguments: {}, task: { ttl: 60_000 } } })
    await relay(call, { jsonrpc: '2.0', id: 1, result: { task: { taskId: 'task-idle-1', status: 'working', createdAt: '2026-01-01T00:00:00Z', lastUpdatedAt: '2026-01-01T00:00:00Z', ttl: 60_000 } } })
    const fetch = post()
    await fetch.fromClientChecked({ jsonrpc: '2.0', id: 2, method: 'tasks/result', params: { taskId: 'task-idle-1' } })
    const got = await relay(fetch, result(2, words(100)))
    expect(got.error).toMatchObject({ code: -31002, data: { scope: 'tool', tool: 'report' } })
    expect((await usage(tenant, budget)).find((r) => r.scope === 'tool:report')).toMatchObject({ used: 0 })
  })
})

describe('per-client scopes', () => {
  it('keeps an identity longer than the object accepts as its own client, apart from another sharing its prefix', async () => {
    const budget = BudgetConfig.parse({ requestsPerMinute: 100, perClient: { requestsPerMinute: 1 }, leaseFraction: 0 })
    const meter = (identity: string) => new BudgetMeter({ env, tenantId: 'enf-long-id', configVersion: 1, budget, requestId: 'r', identity })
    const call = { jsonrpc: '2.0' as const, id: 1, method: 'tools/call', params: { name: 'read', arguments: {} } }
    const long = 'u'.repeat(300)
    expect(await meter(long).admitClient([call])).toBeNull() // the object accepts the scope (it used to throw)
    expect((await meter(long).admitClient([call]))?.kind).toBe('budget_exhausted') // and its own limit holds
    expect(await meter(`${long}x`).admitClient([call])).toBeNull() // same 200-character prefix, another client
    expect(clientScope('client', long)).toMatch(/^client:u{200}#[0-9a-f]{16}$/)
    expect(clientScope('session', 'abc')).toBe('session:abc')
  })
})
