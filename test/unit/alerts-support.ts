/**
 * Helpers for the alert tests inside workerd: a webhook receiver at `https://hooks.example` (the main
 * Worker, its Durable Objects included, runs in the tests' isolate, so a `fetch` stub sees the outbox's
 * deliveries; every other URL goes to the real fetch), and ways to read and drive a tenant's outbox.
 */
import { env } from 'cloudflare:workers'
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { expect, vi } from 'vitest'
import type { DeliveryInfo } from '../../src/alerts/outbox-store'
import { call, createTenant } from './control-support'

export const HOOK_SECRET = 'whsec_unit_0123456789'
export const HOOK_HOST = 'hooks.example'

/** One delivery the receiver saw. */
export interface Received {
  request: Request
  body: string
}

/** A stubbed receiver answering with `answers` in turn (the last one repeats); a function may answer later. */
export interface Receiver {
  readonly received: Received[]
  /** Resolves with the n-th delivery (0-based) once it arrives; rejects after 10 s. */
  delivery(n: number): Promise<Received>
  restore(): void
}

/** Stubs `fetch` for `https://hooks.example/*` only. */
export function stubReceiver(answers: Array<number | (() => Response | Promise<Response>)>): Receiver {
  const real = globalThis.fetch.bind(globalThis)
  const received: Received[] = []
  const waiters = new Map<number, (r: Received) => void>()
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init)
    if (new URL(request.url).hostname !== HOOK_HOST) return real(input, init)
    const entry = { request, body: await request.clone().text() }
    const answer = answers[Math.min(received.length, answers.length - 1)] ?? 204
    received.push(entry)
    waiters.get(received.length - 1)?.(entry)
    return typeof answer === 'number' ? new Response(null, { status: answer }) : answer()
  })
  return {
    received,
    delivery(n) {
      const seen = received[n]
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`delivery ${n} did not arrive`)), 10_000)
        waiters.set(n, (r) => {
          clearTimeout(timer)
          resolve(r)
        })
      })
    },
    restore: () => spy.mockRestore(),
  }
}

/** Creates a tenant with one webhook at `https://hooks.example/<id>` and (unless `secret: false`) its secret. */
export async function tenantWithWebhook(id: string, events: string[], opts: { secret?: boolean } = {}): Promise<void> {
  await createTenant(id, { origin: { url: 'https://origin.example/mcp' }, alerts: { webhooks: [webhook(id, events)] } })
  if (opts.secret === false) return
  const res = await call('PUT', `/tenants/${id}/secrets/hook-key`, { body: { value: HOOK_SECRET } })
  expect(res.status, JSON.stringify(res.body)).toBe(204)
}

/** The webhook config `tenantWithWebhook` stores. */
export function webhook(id: string, events: string[]) {
  return { id: 'ops', url: `https://${HOOK_HOST}/${id}`, secret: 'hook-key', events }
}

/** The tenant's deliveries, newest first, as the admin API lists them. */
export async function deliveries(id: string): Promise<DeliveryInfo[]> {
  return env.ALERTS.getByName(id).list({ tenant: id, limit: 100 })
}

/** Waits until the outbox has recorded `attempts` attempts on its newest delivery (the alarm runs on its own). */
export async function attempted(id: string, attempts: number): Promise<DeliveryInfo> {
  return vi.waitFor(
    async () => {
      const [d] = await deliveries(id)
      if (!d || d.attempts < attempts) throw new Error('not yet')
      return d
    },
    { timeout: 10_000, interval: 20 },
  )
}

/** Makes every pending delivery due now (skipping its backoff wait) and runs the outbox's alarm. */
export async function retryNow(id: string, set: { attempts?: number } = {}): Promise<boolean> {
  const stub = env.ALERTS.getByName(id)
  await runInDurableObject(stub, (_instance, state) => {
    state.storage.sql.exec(`UPDATE deliveries SET next_at = ? WHERE status = 'pending'`, Date.now())
    if (set.attempts !== undefined) state.storage.sql.exec(`UPDATE deliveries SET attempts = ? WHERE status = 'pending'`, set.attempts)
  })
  return runDurableObjectAlarm(stub)
}
