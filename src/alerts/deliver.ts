/**
 * One webhook delivery attempt: sign, POST, classify the answer. A 2xx is delivered; a 410 Gone is a
 * failure for good (`gone`: the receiver says the endpoint is no more); anything else (another status, a
 * redirect, a timeout, a network error) is a failure the outbox retries, no sooner than a 429's or 503's
 * `Retry-After` asks. Redirects are never followed (DESIGN.md, "Security model"): a 3xx is recorded as
 * `redirect`. The receiver's body is never read.
 */
import { signWebhook, WEBHOOK_HEADERS } from './signature'

/** Whole-attempt timeout: headers must arrive within this. */
export const DELIVERY_TIMEOUT_MS = 10_000

/** Why an attempt failed, as shown in `GET /admin/v1/tenants/:id/alerts`. */
export type DeliveryError = 'http_status' | 'gone' | 'redirect' | 'timeout' | 'network' | 'url_refused' | 'secret_unavailable'

/** Statuses whose `Retry-After` the retry honours. */
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503])

/**
 * Whether a failed attempt ends the delivery without retries. Only a 410 Gone does: the one status that says
 * the endpoint is gone for good. A 401 or 403 may be a receiver half-way through a secret rotation, a 400,
 * 404, 413 or 422 a receiver being deployed or fixed; those are retried like a 5xx until the schedule ends,
 * since giving up early would lose the alert the fix was for.
 */
export function isPermanentFailure(outcome: DeliveryOutcome): boolean {
  return !outcome.ok && outcome.error === 'gone'
}

/** A failed attempt's `retryAfterMs` is the wait a 429's or 503's `Retry-After` asked for, when it was valid. */
export type DeliveryOutcome =
  | { ok: true; status: number }
  | { ok: false; status: number | null; error: DeliveryError; retryAfterMs?: number }

export interface DeliveryRequest {
  /** Already checked against the URL rules. */
  url: URL
  secret: string
  /** The payload JSON, sent byte for byte as signed. */
  body: string
  eventId: string
  /** Signing time, unix seconds. */
  timestamp: number
  timeoutMs?: number
}

/** POSTs one signed delivery. Never throws. */
export async function postWebhook(req: DeliveryRequest, doFetch: typeof fetch = fetch): Promise<DeliveryOutcome> {
  const headers = new Headers({
    'Content-Type': 'application/json',
    'User-Agent': 'mcp-edge-firewall-webhooks/1',
    [WEBHOOK_HEADERS.timestamp]: String(req.timestamp),
    [WEBHOOK_HEADERS.signature]: await signWebhook(req.secret, req.timestamp, req.body),
    [WEBHOOK_HEADERS.eventId]: req.eventId,
  })
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), req.timeoutMs ?? DELIVERY_TIMEOUT_MS)
  try {
    const res = await doFetch(req.url, { method: 'POST', headers, body: req.body, redirect: 'manual', signal: abort.signal })
    await res.body?.cancel().catch(() => undefined)
    if (res.status >= 200 && res.status <= 299) return { ok: true, status: res.status }
    const retryAfterMs = RETRY_AFTER_STATUSES.has(res.status) ? parseRetryAfter(res.headers.get('retry-after'), Date.now()) : null
    return { ok: false, status: res.status, error: failureOf(res.status), ...(retryAfterMs === null ? {} : { retryAfterMs }) }
  } catch {
    return { ok: false, status: null, error: abort.signal.aborted ? 'timeout' : 'network' }
  } finally {
    clearTimeout(timer)
  }
}

function failureOf(status: number): DeliveryError {
  if (status === 410) return 'gone'
  return status >= 300 && status <= 399 ? 'redirect' : 'http_status'
}

/**
 * Milliseconds a `Retry-After` value asks to wait: delay-seconds or an HTTP date (RFC 9110, 10.2.3).
 * Null when absent or malformed; a date already past is 0.
 *
 * @example parseRetryAfter('120', Date.now()) // 120_000
 */
function parseRetryAfter(value: string | null, now: number): number | null {
  const v = value?.trim()
  if (!v) return null
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = Date.parse(v)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
