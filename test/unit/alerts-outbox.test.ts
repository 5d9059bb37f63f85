/**
 * The `AlertOutbox` Durable Object in workerd with real local KV, secrets and config: signed deliveries,
 * retry by alarm with backoff, redirects refused, giving up, cancellation, block summaries merged, and
 * the admin listing. Receivers are a `fetch` stub (alerts-support.ts); the e2e test uses a real one.
 */
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EventSink } from '../../src/audit/sink'
import type { VerdictEvent } from '../../src/audit/events'
import { blockedSummary } from '../../src/alerts/blocked'
import { postWebhook } from '../../src/alerts/deliver'
import { sendAlert } from '../../src/alerts/send'
import { verifyWebhookSignature } from '../../src/alerts/signature'
import { call, createTenant, issueKey, uniqueId, warmUp } from './control-support'
import { MAX_PENDING } from '../../src/alerts/outbox'
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { BudgetConfig } from '../../src/budget/config'
import { sha256Hex } from '../../src/hex'
import { attempted, deliveries, HOOK_SECRET, retryNow, stubReceiver, tenantWithWebhook, webhook } from './alerts-support'
import type { Receiver } from './alerts-support'

beforeAll(warmUp, 30_000)

let receiver: Receiver | undefined
afterEach(() => receiver?.restore())

const killed = { type: 'tenant.killed', data: { by: 'operator' } } as const

describe('alert delivery', () => {
  it('sends a kill as a signed JSON POST that verifies, with the event id in a header', async () => {
    const id = uniqueId('al-kill')
    await tenantWithWebhook(id, ['tenant.killed', 'tool.killed'])
    receiver = stubReceiver([204])
    expect((await call('POST', `/tenants/${id}/kill`, { body: {} })).status).toBe(200)

    const { request, body } = await receiver.delivery(0)
    expect(request.method).toBe('POST')
    expect(request.url).toBe(`https://hooks.example/${id}`)
    expect(request.redirect).toBe('manual')
    expect(request.headers.get('content-type')).toBe('application/json')
    const payload = JSON.parse(body) as Record<string, unknown>
    expect(payload).toEqual({ id: expect.any(String), type: 'tenant.killed', tenant: id, time: expect.any(String), data: { by: 'operator' } })
    expect(request.headers.get('mcp-firewall-event-id')).toBe(payload['id'])
    const ts = request.headers.get('mcp-firewall-timestamp') ?? ''
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(30)
    expect(await verifyWebhookSignature(HOOK_SECRET, ts, body, request.headers.get('mcp-firewall-signature'), 300)).toBe(true)

    expect(await attempted(id, 1)).toMatchObject({ type: 'tenant.killed', webhookId: 'ops', status: 'delivered', attempts: 1, lastStatus: 204, lastError: null, nextAttemptAt: null })
  })

  it('retries a failed delivery from the alarm after a backoff, with the same event id and body', async () => {
    const id = uniqueId('al-retry')
    await tenantWithWebhook(id, ['tenant.killed'])
    receiver = stubReceiver([500, 200])
    const queued = await sendAlert(env, id, killed)
    expect(queued).toEqual({ eventId: expect.any(String), deliveries: 1 })

    await receiver.delivery(0)
    const failed = await attempted(id, 1)
    expect(failed).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 500, lastError: 'http_status' })
    const wait = Date.parse(failed.nextAttemptAt ?? '') - Date.parse(failed.lastAttemptAt ?? '')
    expect(wait).toBeGreaterThanOrEqual(8_000) // 10 s ± 20 %
    expect(wait).toBeLessThanOrEqual(12_000)

    expect(await retryNow(id)).toBe(true)
    const [first, second] = receiver.received
    expect(second?.body).toBe(first?.body)
    expect(second?.request.headers.get('mcp-firewall-event-id')).toBe(queued?.eventId)
    const ts = second?.request.headers.get('mcp-firewall-timestamp') ?? ''
    expect(await verifyWebhookSignature(HOOK_SECRET, ts, second?.body ?? '', second?.request.headers.get('mcp-firewall-signature'), 300)).toBe(true)
    expect(await deliveries(id)).toMatchObject([{ status: 'delivered', attempts: 2, lastStatus: 200, lastError: null }])
  })

  it('treats a redirect as a failure and never follows it', async () => {
    const id = uniqueId('al-3xx')
    await tenantWithWebhook(id, ['tenant.killed'])
    receiver = stubReceiver([() => new Response(null, { status: 302, headers: { location: 'https://hooks.example/elsewhere' } })])
    await sendAlert(env, id, killed)
    await receiver.delivery(0)
    expect(await attempted(id, 1)).toMatchObject({ status: 'pending', lastStatus: 302, lastError: 'redirect' })
    expect(receiver.received.map((r) => new URL(r.request.url).pathname)).toEqual([`/${id}`])
  })

  it('gives up after the last attempt and records the delivery as failed', async () => {
    const id = uniqueId('al-giveup')
    await tenantWithWebhook(id, ['tenant.killed'])
    receiver = stubReceiver([503])
    await sendAlert(env, id, killed)
    await receiver.delivery(0)
    await attempted(id, 1)
    expect(await retryNow(id, { attempts: 11 })).toBe(true)
    expect(await deliveries(id)).toMatchObject([{ status: 'failed', attempts: 12, lastStatus: 503, nextAttemptAt: null }])
    expect(await retryNow(id)).toBe(false) // nothing pending, no alarm
    expect(receiver.received).toHaveLength(2)
  })

  it('cancels pending deliveries of a webhook removed from the config, without sending', async () => {
    const id = uniqueId('al-cancel')
    await tenantWithWebhook(id, ['tenant.killed'])
    receiver = stubReceiver([500])
    await sendAlert(env, id, killed)
    await receiver.delivery(0)
    await attempted(id, 1)
    expect((await call('PUT', `/tenants/${id}`, { body: { origin: { url: 'https://origin.example/mcp' } } })).status).toBe(200)
    await retryNow(id)
    expect(await deliveries(id)).toMatchObject([{ status: 'cancelled', attempts: 1, lastError: 'webhook_removed' }])
    expect(receiver.received).toHaveLength(1)
  })

  it('sends nothing unsigned: without its secret a delivery waits and retries', async () => {
    const id = uniqueId('al-nosecret')
    await tenantWithWebhook(id, ['tenant.killed'], { secret: false })
    receiver = stubReceiver([204])
    await sendAlert(env, id, killed)
    expect(await attempted(id, 1)).toMatchObject({ status: 'pending', lastStatus: null, lastError: 'secret_unavailable' })
    expect(receiver.received).toHaveLength(0)
  })

  it('queues only for subscribed webhooks, and config changes reach those subscribed to them', async () => {
    const id = uniqueId('al-subs')
    await tenantWithWebhook(id, ['tenant.killed'])
    expect(await sendAlert(env, id, { type: 'tenant.restored', data: { by: 'operator' } })).toEqual({ eventId: null, deliveries: 0 })

    receiver = stubReceiver([204])
    const origin = { url: 'https://origin.example/mcp' }
    expect((await call('PUT', `/tenants/${id}`, { body: { origin, alerts: { webhooks: [webhook(id, ['config.changed'])] } } })).status).toBe(200)
    const { body } = await receiver.delivery(0)
    expect(JSON.parse(body)).toMatchObject({ type: 'config.changed', tenant: id, data: { version: 2, action: 'update', by: 'operator' } })
  })

  it("caps pending deliveries per webhook: one receiver that is down does not silence another's kill alert", async () => {
    const id = uniqueId('al-cap')
    const siem = { id: 'siem', url: `https://hooks.example/${id}/siem`, secret: 'hook-key', events: ['alert.test', 'tenant.killed'] }
    await createTenant(id, { origin: { url: 'https://origin.example/mcp' }, alerts: { webhooks: [siem, webhook(id, ['tenant.killed'])] } })
    expect((await call('PUT', `/tenants/${id}/secrets/hook-key`, { body: { value: HOOK_SECRET } })).status).toBe(204)
    // The siem receiver's queue is full (written directly, as hours of failing retries would leave it).
    await runInDurableObject(env.ALERTS.getByName(id), (_i, state) => {
      for (let i = 0; i < MAX_PENDING; i++) {
        state.storage.sql.exec(`INSERT INTO deliveries (event_id, webhook_id, type, url, body, created_at, status, attempts, next_at) VALUES (?, 'siem', 'alert.test', ?, '{}', ?, 'pending', 3, ?)`, `old-${i}`, siem.url, Date.now(), Date.now() + 3_600_000)
      }
    })
    receiver = stubReceiver([204])
    expect(await sendAlert(env, id, killed)).toMatchObject({ deliveries: 1 }) // ops gets it; siem's is dropped
    const { body } = await receiver.delivery(0)
    expect(JSON.parse(body)).toMatchObject({ type: 'tenant.killed', tenant: id })
  })

  it("takes due deliveries in turns across webhooks: one receiver's backlog does not hold back another's kill alert", async () => {
    const id = uniqueId('al-turns')
    const siem = { id: 'siem', url: `https://hooks.example/${id}/siem`, secret: 'hook-key', events: ['alert.test'] }
    await createTenant(id, { origin: { url: 'https://origin.example/mcp' }, alerts: { webhooks: [siem, webhook(id, ['tenant.killed'])] } })
    expect((await call('PUT', `/tenants/${id}/secrets/hook-key`, { body: { value: HOOK_SECRET } })).status).toBe(204)
    const stub = env.ALERTS.getByName(id)
    await runInDurableObject(stub, async (_i, state) => {
      const now = Date.now()
      state.storage.sql.exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('tenant', ?)`, id)
      // The siem receiver has fallen behind: many retries are overdue (its receiver hangs until each times out).
      for (let i = 0; i < 60; i++) {
        state.storage.sql.exec(`INSERT INTO deliveries (event_id, webhook_id, type, url, body, created_at, status, attempts, next_at) VALUES (?, 'siem', 'alert.test', ?, '{}', ?, 'pending', 3, ?)`, `old-${i}`, siem.url, now - 60_000, now - 60_000 + i)
      }
      state.storage.sql.exec(`INSERT INTO deliveries (event_id, webhook_id, type, url, body, created_at, status, attempts, next_at) VALUES ('kill', 'ops', 'tenant.killed', ?, '{}', ?, 'pending', 0, ?)`, `https://hooks.example/${id}`, now, now)
      await state.storage.setAlarm(now + 60_000)
    })
    receiver = stubReceiver([503])
    expect(await runDurableObjectAlarm(stub)).toBe(true) // one run
    expect(receiver.received.map((r) => r.request.url)).toContain(`https://hooks.example/${id}`)
    await stub.purge({ tenant: id }) // the siem backlog would go on retrying into the next tests' receivers
  })

  it('queues nothing for a tenant deleted since its object last read the config', async () => {
    const id = uniqueId('al-gone')
    await tenantWithWebhook(id, ['tenant.killed'])
    receiver = stubReceiver([204])
    expect(await sendAlert(env, id, killed)).toMatchObject({ deliveries: 1 }) // the object now holds the config for a few seconds
    await receiver.delivery(0)
    expect((await call('DELETE', `/tenants/${id}`)).status).toBe(204)
    const stub = env.ALERTS.getByName(id)
    await stub.purge({ tenant: id }) // as the deletion's purgers do (idempotent)
    expect(await sendAlert(env, id, killed)).toMatchObject({ deliveries: 0 })
    await runInDurableObject(stub, (_i, state) => {
      expect(state.storage.sql.exec(`SELECT COUNT(*) AS n FROM deliveries`).one()['n']).toBe(0)
    })
  })

  it('never throws into the caller: a bad tenant id or alert resolves to null', async () => {
    expect(await sendAlert(env, 'Not A Tenant', killed)).toBeNull()
    const bogus = JSON.parse('{"type":"tenant.exploded","data":{}}') as typeof killed
    expect(await sendAlert(env, 'al-bogus', bogus)).toBeNull()
    // The object validates its RPC arguments itself: it is a trust boundary of its own.
    const refused = await env.ALERTS.getByName('al-bogus').enqueue({ tenant: 'al-bogus', alert: bogus }).then(
      () => 'accepted',
      (err: unknown) => String(err),
    )
    expect(refused).toBe('Error: ZodError')
    expect(await deliveries('al-bogus')).toEqual([])
  })
})

describe('budget.threshold alerts', () => {
  it("never send a passthrough client's session id, only a fingerprint of it", async () => {
    // In passthrough mode the per-client budget is keyed by the origin's Mcp-Session-Id, a handle on a live
    // session that logs must not carry either: the receiver gets a stable fingerprint it can group by.
    const id = uniqueId('al-budget')
    await tenantWithWebhook(id, ['budget.threshold'])
    receiver = stubReceiver([204])
    const session = `sess-${crypto.randomUUID()}`
    const config = BudgetConfig.parse({ perClient: { tokensPerMinute: 100 }, alertThresholds: [0.5] })
    const need = [{ scope: `session:${session}`, tokens: 60, requests: 0 }] as const
    await env.BUDGET.getByName(id).reserve({ tenant: id, configVersion: 1, config, holder: 'h1', settle: [], need: [...need], want: [] })

    const { body } = await receiver.delivery(0)
    expect(body).not.toContain(session)
    const fingerprint = (await sha256Hex(session)).slice(0, 16)
    expect(JSON.parse(body)).toMatchObject({ type: 'budget.threshold', data: { budget: 'client tokens/minute', threshold: 0.5, used: 60, limit: 100, client: `session:sha256:${fingerprint}` } })
  })
})

describe('security.blocked summaries', () => {
  const event = (over: Partial<VerdictEvent>): VerdictEvent => ({
    ts: '2026-05-01T10:00:00.000Z', requestId: 'r', tenant: 't', configVersion: 1, direction: 'client_to_server', verdict: 'block',
    monitor: false, ruleIds: [], kinds: [], bytes: 10, inspectMicros: 5, ...over,
  })

  it('counts blocks by rule and direction, ignoring modifications and flags', () => {
    expect(blockedSummary([event({ verdict: 'modify', ruleIds: ['pii-email'] })])).toBeNull()
    expect(
      blockedSummary([
        event({ ruleIds: ['inj-a', 'inj-b'], ts: '2026-05-01T10:00:02.000Z' }),
        event({ ruleIds: ['inj-a'], direction: 'server_to_client', monitor: true, ts: '2026-05-01T10:00:01.000Z' }),
        event({ verdict: 'allow', ruleIds: ['flag-only'] }),
      ]),
    ).toEqual({
      count: 2, monitor: 1, byRule: { 'inj-a': 2, 'inj-b': 1 }, byDirection: { client_to_server: 1, server_to_client: 1 },
      from: '2026-05-01T10:00:01.000Z', to: '2026-05-01T10:00:02.000Z',
    })
  })

  it('one per flushed batch from the event sink, merged while unsent into one alert', async () => {
    const id = uniqueId('al-block')
    await tenantWithWebhook(id, ['security.blocked'])
    receiver = stubReceiver([204])
    const waits: Promise<unknown>[] = []
    for (const rule of ['inj-a', 'inj-b']) {
      const sink = new EventSink(env, id, (p) => waits.push(p))
      sink.record(event({ tenant: id, ruleIds: [rule] }))
      sink.record(event({ tenant: id, ruleIds: [rule], verdict: 'modify' }))
      sink.flush()
      await Promise.all(waits)
    }
    const [pending, ...rest] = await deliveries(id)
    expect(rest).toEqual([])
    expect(pending).toMatchObject({ type: 'security.blocked', status: 'pending', attempts: 0 })
    expect(receiver.received).toHaveLength(0) // held for the summary window

    expect(await retryNow(id)).toBe(true)
    const { body } = await receiver.delivery(0)
    expect(JSON.parse(body)).toMatchObject({ id: pending?.eventId, type: 'security.blocked', data: { count: 2, monitor: 0, byRule: { 'inj-a': 1, 'inj-b': 1 } } })
  })

  it('never merges into a summary whose attempt is under way: the later blocks go in an alert of their own', async () => {
    const id = uniqueId('al-inflight')
    await tenantWithWebhook(id, ['security.blocked'])
    let answer: (r: Response) => void = () => undefined
    receiver = stubReceiver([() => new Promise<Response>((resolve) => (answer = resolve)), 204])
    const blocked = (rule: string) => ({ type: 'security.blocked', data: blockedSummary([event({ tenant: id, ruleIds: [rule] })]) }) as Parameters<typeof sendAlert>[2]
    await sendAlert(env, id, blocked('inj-a'))
    const stub = env.ALERTS.getByName(id)
    await runInDurableObject(stub, (_i, state) => state.storage.sql.exec(`UPDATE deliveries SET next_at = ?`, Date.now()))
    const run = runDurableObjectAlarm(stub)
    await receiver.delivery(0) // the summary is on its way to the receiver
    await sendAlert(env, id, blocked('inj-b'))
    answer(new Response(null, { status: 204 }))
    expect(await run).toBe(true)

    await retryNow(id)
    const counts = receiver.received.map((r) => (JSON.parse(r.body) as { data: { byRule: Record<string, number> } }).data.byRule)
    expect(counts).toEqual([{ 'inj-a': 1 }, { 'inj-b': 1 }])
  })
})

describe('GET /admin/v1/tenants/:id/alerts', () => {
  it('lists deliveries for the operator and the tenant key, filtered by status; other tenants get 403', async () => {
    const id = uniqueId('al-list')
    await tenantWithWebhook(id, ['tenant.killed'])
    receiver = stubReceiver([204])
    await sendAlert(env, id, killed)
    await attempted(id, 1)

    const own = await issueKey(id)
    for (const token of [undefined, own.key]) {
      const res = await call<{ deliveries: unknown[] }>('GET', `/tenants/${id}/alerts?status=delivered`, { token })
      expect(res.status).toBe(200)
      expect(res.body.deliveries).toEqual([
        {
          eventId: expect.any(String), webhookId: 'ops', type: 'tenant.killed', url: `https://hooks.example/${id}`, status: 'delivered', attempts: 1,
          createdAt: expect.any(String), lastAttemptAt: expect.any(String), nextAttemptAt: null, lastStatus: 204, lastError: null,
        },
      ])
    }
    expect((await call<{ deliveries: unknown[] }>('GET', `/tenants/${id}/alerts?status=failed`)).body.deliveries).toEqual([])

    const other = uniqueId('al-other')
    await tenantWithWebhook(other, ['tenant.killed'])
    const foreign = await issueKey(other)
    expect(await call('GET', `/tenants/${id}/alerts`, { token: foreign.key })).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    expect(await call('GET', `/tenants/${id}/alerts`, { token: null })).toMatchObject({ status: 401 })
    expect(await call('GET', `/tenants/${id}/alerts?status=lost`)).toMatchObject({ status: 400, body: { error: 'invalid_request' } })
  })

  it('POST …/alerts/test sends an alert.test to webhooks subscribed to everything', async () => {
    const id = uniqueId('al-test')
    await tenantWithWebhook(id, ['*'])
    receiver = stubReceiver([204])
    const res = await call('POST', `/tenants/${id}/alerts/test`)
    expect(res).toMatchObject({ status: 202, body: { eventId: expect.any(String), deliveries: 1 } })
    const got = await firstOfType(receiver, 'alert.test')
    expect(got).toMatchObject({ id: res.body['eventId'], type: 'alert.test', data: { by: 'operator' } })
  })
})

describe('one attempt (postWebhook)', () => {
  const base = { url: new URL('https://hooks.example/x'), secret: 's', body: '{}', eventId: 'e', timestamp: 1 }

  it('times out, and reports network errors, without throwing', async () => {
    const hang: typeof fetch = (_input, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))))
    expect(await postWebhook({ ...base, timeoutMs: 20 }, hang)).toEqual({ ok: false, status: null, error: 'timeout' })
    expect(await postWebhook(base, () => Promise.reject(new TypeError('connection refused')))).toEqual({ ok: false, status: null, error: 'network' })
  })

  it.each([
    [200, { ok: true, status: 200 }],
    [299, { ok: true, status: 299 }],
    [301, { ok: false, status: 301, error: 'redirect' }],
    [308, { ok: false, status: 308, error: 'redirect' }],
    [400, { ok: false, status: 400, error: 'http_status' }],
    [401, { ok: false, status: 401, error: 'http_status' }], // a secret rotation under way, a receiver being fixed: retried
    [403, { ok: false, status: 403, error: 'http_status' }],
    [404, { ok: false, status: 404, error: 'http_status' }],
    [405, { ok: false, status: 405, error: 'http_status' }],
    [408, { ok: false, status: 408, error: 'http_status' }],
    [410, { ok: false, status: 410, error: 'gone' }], // the one status not retried
    [413, { ok: false, status: 413, error: 'http_status' }],
    [422, { ok: false, status: 422, error: 'http_status' }],
    [425, { ok: false, status: 425, error: 'http_status' }],
    [429, { ok: false, status: 429, error: 'http_status' }],
    [451, { ok: false, status: 451, error: 'http_status' }],
    [500, { ok: false, status: 500, error: 'http_status' }],
  ])('classifies %d', async (status, outcome) => {
    expect(await postWebhook(base, async () => new Response(null, { status }))).toEqual(outcome)
  })

  it("reads a 429's or 503's Retry-After, in seconds or as a date, and no other status's", async () => {
    const answer = (status: number, retryAfter: string) => postWebhook(base, async () => new Response(null, { status, headers: { 'retry-after': retryAfter } }))
    expect(await answer(429, '30')).toEqual({ ok: false, status: 429, error: 'http_status', retryAfterMs: 30_000 })
    const dated = await answer(503, new Date(Date.now() + 60_000).toUTCString())
    expect(dated.ok ? null : dated.retryAfterMs).toBeGreaterThan(58_000)
    expect(dated.ok ? null : dated.retryAfterMs).toBeLessThanOrEqual(60_000)
    expect(await answer(503, new Date(Date.now() - 60_000).toUTCString())).toMatchObject({ retryAfterMs: 0 })
    expect(await answer(429, 'soon')).toEqual({ ok: false, status: 429, error: 'http_status' })
    expect(await answer(500, '30')).toEqual({ ok: false, status: 500, error: 'http_status' })
  })
})

/** The first delivery of `type` the receiver got, parsed (a config.changed may arrive first). */
async function firstOfType(r: Receiver, type: string): Promise<Record<string, unknown>> {
  for (let n = 0; ; n++) {
    const parsed = JSON.parse((await r.delivery(n)).body) as Record<string, unknown>
    if (parsed['type'] === type) return parsed
  }
}
