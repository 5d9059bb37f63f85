/**
 * `startWebhookReceiver()`: a real HTTP server on 127.0.0.1 (free port) that records every delivery
 * byte for byte and answers with the statuses a test scripts, so e2e tests can await "the n-th delivery
 * arrived" instead of sleeping.
 *
 * @example
 * const hooks = await startWebhookReceiver()
 * hooks.respondWith(500, 200)                   // then 204 again
 * const first = await hooks.delivery(0)         // answered 500
 * const retry = await hooks.delivery(1)         // answered 200
 * await hooks.close()
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { flattenHeaders } from './recorder.js'

/** One request the receiver got. */
export interface Delivery {
  readonly method: string
  /** Path and query. */
  readonly path: string
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  /** The raw body exactly as received (what the signature covers). */
  readonly body: string
  /** The status it was answered with. */
  readonly status: number
}

/** An answer: a status, or a status with headers (e.g. a redirect's Location). */
export type Answer = number | { status: number; headers: Record<string, string> }

export interface WebhookReceiver {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string
  readonly deliveries: readonly Delivery[]
  /** Answers for the next requests, in order; once used up, requests are answered 204. */
  respondWith(...answers: Answer[]): void
  /** Resolves with the n-th request (0-based) once answered; rejects after `timeoutMs` (default 10 s). */
  delivery(n: number, timeoutMs?: number): Promise<Delivery>
  close(): Promise<void>
}

/** Starts a receiver on 127.0.0.1 with a free port. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = []
  const waiters = new Map<number, (d: Delivery) => void>()
  const queue: Answer[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const answer = queue.shift() ?? 204
      const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer
      const d: Delivery = { method: req.method ?? '', path: req.url ?? '', headers: flattenHeaders(req.headers), body: Buffer.concat(chunks).toString('utf8'), status }
      res.writeHead(status, headers).end()
      deliveries.push(d)
      waiters.get(deliveries.length - 1)?.(d)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    respondWith(...answers) {
      queue.splice(0, queue.length, ...answers)
    },
    delivery(n, timeoutMs = 10_000) {
      const seen = deliveries[n]
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`webhook delivery ${n} did not arrive within ${timeoutMs} ms`)), timeoutMs)
        waiters.set(n, (d) => {
          clearTimeout(timer)
          resolve(d)
        })
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
