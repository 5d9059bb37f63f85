/**
 * Alert webhooks end to end: the firewall under wrangler (workerd, local Durable Objects and alarms)
 * delivers to a real HTTP receiver on 127.0.0.1. A kill sends a signed `tenant.killed` that verifies
 * with the receiver helper; a 500 is retried by the outbox's alarm (the first backoff shortened to
 * 300 ms with ALERT_RETRY_BASE_MS), as is every 4xx but 410, a 429 no sooner than its Retry-After;
 * a 410 ends the delivery; a redirect is a failure, never followed; and with
 * private origins off, a webhook at a private address is refused when the config is saved.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startFirewall } from '../support/firewall.js'
import type { AdminResult, Firewall } from '../support/firewall.js'
import { startWebhookReceiver } from '../support/webhook-receiver.js'
import type { Delivery, WebhookReceiver } from '../support/webhook-receiver.js'
import { verifyWebhookSignature } from '../../src/alerts/signature.js'
import { readFileSync } from 'node:fs'
import { createHmac, timingSafeEqual } from 'node:crypto'

const SECRET = 'whsec_e2e_5b0e1c8f2d'
const TENANT = 'alerting'
const origin = { url: 'https://origin.example/mcp' }

let fw: Firewall
let hooks: WebhookReceiver

beforeAll(async () => {
  ;[fw, hooks] = await Promise.all([startFirewall({ vars: { ALERT_RETRY_BASE_MS: '300' } }), startWebhookReceiver()])
  await fw.admin.putTenant(TENANT, { origin })
  expect((await fw.admin.request('PUT', `admin/v1/tenants/${TENANT}/secrets/hook-key`, { body: { value: SECRET } })).status).toBe(204)
  const webhook = { id: 'ops', url: `${hooks.url}/hooks/ops`, secret: 'hook-key', events: ['tenant.killed', 'tenant.restored', 'alert.test'] }
  await fw.admin.putTenant(TENANT, { origin, alerts: { webhooks: [webhook] } })
})
afterAll(async () => {
  await Promise.all([fw?.stop(), hooks?.close()])
})

/** Checks a delivery's signature as a receiver would, with the exported helper. */
function verifies(d: Delivery): Promise<boolean> {
  return verifyWebhookSignature(SECRET, d.headers['mcp-firewall-timestamp'], d.body, d.headers['mcp-firewall-signature'], 300)
}

type DocsVerify = (secret: string, timestamp: string | undefined, rawBody: string, header: string | undefined, toleranceSec?: number) => boolean

/** The verification recipe docs/webhooks.md gives for receivers without the helper, run as written. */
function docsRecipe(): DocsVerify {
  const doc = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8')
  const block = /Without the helper \(Node\):\n\n```js\n([\s\S]*?)```/.exec(doc)?.[1]
  if (!block) throw new Error('docs/webhooks.md has no Node recipe')
  const body = block.replace(/^import .*$/m, '')
  return new Function('createHmac', 'timingSafeEqual', `${body}\nreturn verify`)(createHmac, timingSafeEqual) as DocsVerify
}

interface Listed {
  deliveries: Array<{ eventId: string; type: string; status: string; attempts: number; lastStatus: number | null; lastError: string | null }>
}

/** The newest delivery of `eventId` once it has reached `status` (the outbox records it after the answer). */
async function listed(eventId: string, status: string): Promise<Listed['deliveries'][number]> {
  return vi.waitFor(
    async () => {
      const res: AdminResult = await fw.admin.request('GET', `admin/v1/tenants/${TENANT}/alerts`)
      const found = (res.body as Listed).deliveries.find((d) => d.eventId === eventId)
      if (found?.status !== status) throw new Error(`delivery ${eventId} is ${found?.status ?? 'absent'}`)
      return found
    },
    { timeout: 5_000, interval: 50 },
  )
}

describe('alert webhooks', () => {
  it('a kill sends a signed tenant.killed webhook that verifies with the helper', async () => {
    const n = hooks.deliveries.length
    expect(await fw.admin.request('POST', `admin/v1/tenants/${TENANT}/kill`, { body: {} })).toMatchObject({ status: 200, body: { killed: true } })
    const d = await hooks.delivery(n)
    expect(d.method).toBe('POST')
    expect(d.path).toBe('/hooks/ops')
    expect(d.headers['content-type']).toBe('application/json')
    const payload = JSON.parse(d.body) as Record<string, unknown>
    expect(payload).toEqual({ id: expect.any(String), type: 'tenant.killed', tenant: TENANT, time: expect.any(String), data: { by: 'operator' } })
    expect(d.headers['mcp-firewall-event-id']).toBe(payload['id'])
    expect(d.headers['mcp-firewall-signature']).toMatch(/^v1=[0-9a-f]{64}$/)
    expect(await verifies(d)).toBe(true)
    expect(await verifyWebhookSignature('another-secret', d.headers['mcp-firewall-timestamp'], d.body, d.headers['mcp-firewall-signature'], 300)).toBe(false)
    // The documented recipe without the helper verifies it too, and refuses what the helper refuses.
    const verify = docsRecipe()
    expect(verify(SECRET, d.headers['mcp-firewall-timestamp'], d.body, d.headers['mcp-firewall-signature'])).toBe(true)
    expect(verify('another-secret', d.headers['mcp-firewall-timestamp'], d.body, d.headers['mcp-firewall-signature'])).toBe(false)
    expect(verify(SECRET, d.headers['mcp-firewall-timestamp'], d.body.replace('killed', 'restored'), d.headers['mcp-firewall-signature'])).toBe(false)
    expect(verify(SECRET, String(Number(d.headers['mcp-firewall-timestamp']) - 301), d.body, d.headers['mcp-firewall-signature'])).toBe(false)
    expect(await listed(String(payload['id']), 'delivered')).toMatchObject({ type: 'tenant.killed', attempts: 1, lastStatus: 204 })
  })

  it('a receiver answering 500 and then 200 gets the retry from the alarm, same event and body', async () => {
    const n = hooks.deliveries.length
    hooks.respondWith(500, 200)
    expect(await fw.admin.request('DELETE', `admin/v1/tenants/${TENANT}/kill`)).toMatchObject({ status: 200, body: { killed: false } })
    const first = await hooks.delivery(n)
    const retry = await hooks.delivery(n + 1)
    expect([first.status, retry.status]).toEqual([500, 200])
    expect(retry.body).toBe(first.body)
    expect(retry.headers['mcp-firewall-event-id']).toBe(first.headers['mcp-firewall-event-id'])
    expect(JSON.parse(retry.body)).toMatchObject({ type: 'tenant.restored', data: { by: 'operator' } })
    expect(await verifies(first)).toBe(true)
    expect(await verifies(retry)).toBe(true)
    expect(await listed(first.headers['mcp-firewall-event-id'] ?? '', 'delivered')).toMatchObject({ attempts: 2, lastStatus: 200, lastError: null })
  })

  it('a redirect is a failed attempt, retried at the same URL and never followed', async () => {
    const n = hooks.deliveries.length
    hooks.respondWith({ status: 302, headers: { location: `${hooks.url}/elsewhere` } })
    const sent = await fw.admin.request('POST', `admin/v1/tenants/${TENANT}/alerts/test`)
    expect(sent).toMatchObject({ status: 202, body: { deliveries: 1 } })
    const first = await hooks.delivery(n)
    const retry = await hooks.delivery(n + 1)
    expect([first.status, retry.status]).toEqual([302, 204])
    expect(hooks.deliveries.slice(n).map((d) => d.path)).toEqual(['/hooks/ops', '/hooks/ops'])
    expect(JSON.parse(retry.body)).toMatchObject({ type: 'alert.test' })
    expect(await listed((sent.body as { eventId: string }).eventId, 'delivered')).toMatchObject({ attempts: 2, lastStatus: 204 })
  })

  it('a receiver answering 410 Gone ends the delivery at once: failed, with the status, never retried', async () => {
    const n = hooks.deliveries.length
    hooks.respondWith(410, 204)
    const sent = await fw.admin.request('POST', `admin/v1/tenants/${TENANT}/alerts/test`)
    expect(sent).toMatchObject({ status: 202, body: { deliveries: 1 } })
    expect((await hooks.delivery(n)).status).toBe(410)
    expect(await listed((sent.body as { eventId: string }).eventId, 'failed')).toMatchObject({ attempts: 1, lastStatus: 410, lastError: 'gone' })
    // A retry would be due within about 360 ms (ALERT_RETRY_BASE_MS 300 plus jitter): none comes.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(hooks.deliveries.length).toBe(n + 1)
    hooks.respondWith()
  })

  it('a receiver answering 401 (or another 4xx) is retried: it may be mid-way through a secret rotation or a fix', async () => {
    const n = hooks.deliveries.length
    hooks.respondWith(401, 404, 200)
    const sent = await fw.admin.request('POST', `admin/v1/tenants/${TENANT}/alerts/test`)
    expect(sent).toMatchObject({ status: 202, body: { deliveries: 1 } })
    const answers = await Promise.all([0, 1, 2].map((i) => hooks.delivery(n + i)))
    expect(answers.map((d) => d.status)).toEqual([401, 404, 200])
    expect(await listed((sent.body as { eventId: string }).eventId, 'delivered')).toMatchObject({ attempts: 3, lastStatus: 200, lastError: null })
  })

  it('a receiver answering 408, 425 or 429 is retried: it asks for the same request again later', async () => {
    const n = hooks.deliveries.length
    hooks.respondWith(408, 425, 429, 200)
    const sent = await fw.admin.request('POST', `admin/v1/tenants/${TENANT}/alerts/test`)
    expect(sent).toMatchObject({ status: 202, body: { deliveries: 1 } })
    const answers = await Promise.all([0, 1, 2, 3].map((i) => hooks.delivery(n + i)))
    expect(answers.map((d) => d.status)).toEqual([408, 425, 429, 200])
    expect(await listed((sent.body as { eventId: string }).eventId, 'delivered')).toMatchObject({ attempts: 4, lastStatus: 200, lastError: null })
  })

  it('a 429 with Retry-After is retried no sooner than it asks, past the shorter backoff', async () => {
    const n = hooks.deliveries.length
    hooks.respondWith({ status: 429, headers: { 'retry-after': '2' } }, 204)
    const sent = await fw.admin.request('POST', `admin/v1/tenants/${TENANT}/alerts/test`)
    const eventId = (sent.body as { eventId: string }).eventId
    expect((await hooks.delivery(n)).status).toBe(429)
    const waiting = (await listed(eventId, 'pending')) as Listed['deliveries'][number] & { lastAttemptAt: string; nextAttemptAt: string }
    expect(waiting).toMatchObject({ attempts: 1, lastStatus: 429, lastError: 'http_status' })
    const wait = Date.parse(waiting.nextAttemptAt) - Date.parse(waiting.lastAttemptAt)
    expect(wait).toBeGreaterThanOrEqual(2_000)
    expect(wait).toBeLessThan(2_500)
    // Not before: at 1.5 s (past the 360 ms the backoff alone would wait) nothing more has come.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(hooks.deliveries.length).toBe(n + 1)
    expect((await hooks.delivery(n + 1, 5_000)).status).toBe(204)
    expect(await listed(eventId, 'delivered')).toMatchObject({ attempts: 2, lastStatus: 204 })
  })
})

describe('webhook URL rules at save time', () => {
  it('refuses private and plain-http webhook URLs when private origins are off', async () => {
    const prod = await startFirewall({ vars: { ALLOW_PRIVATE_ORIGINS: 'false' } })
    try {
      await prod.admin.putTenant('strict', { origin })
      const hook = (url: string) => ({ id: 'h', url, secret: 'hook-key', events: ['*'] })
      for (const [url, message] of [
        [`${hooks.url}/hooks/ops`, 'must use https'],
        ['https://10.0.0.8/hooks', 'private, loopback and link-local targets are not allowed'],
        ['https://169.254.169.254/latest', 'private, loopback and link-local targets are not allowed'],
      ] as const) {
        const res = await prod.admin.request('PUT', 'admin/v1/tenants/strict', { body: { origin, alerts: { webhooks: [hook(url)] } } })
        expect(res).toEqual({ status: 400, body: { error: 'invalid_config', issues: [{ path: 'alerts.webhooks.0.url', message }] } })
      }
      expect(await prod.admin.getTenant('strict')).toMatchObject({ status: 200, body: { version: 1, config: { alerts: { webhooks: [] } } } })
    } finally {
      await prod.stop()
    }
  })
})
