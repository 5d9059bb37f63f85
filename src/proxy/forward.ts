/**
 * One request to a tenant's origin: redirects never followed, a timeout for the response headers,
 * and the client's disconnect wired to an AbortController (the incoming request's signal does not reach
 * subrequests by itself). Every failure becomes a `FirewallError`; the origin's own words never reach
 * the client, and the operator's log gets one `origin_failed` event for it (`originFailed`).
 */
import { FirewallError } from '../errors'
import type { Problem } from '../errors'

export interface OriginRequest {
  url: URL
  method: string
  headers: Headers
  body?: string
}

export interface ForwardOptions {
  timeoutMs: number
  /** Fires when the client goes away; the origin fetch (and its body stream) is aborted. */
  clientSignal?: AbortSignal
  /** Return a redirect (its body discarded) for the caller to judge, instead of refusing it. */
  returnRedirects?: boolean
  /** Whose exchange this is, for the `origin_failed` log event. */
  log: OriginLog
}

/** What an `origin_failed` event names: the request and tenant, never the origin's URL or words. */
export interface OriginLog {
  requestId: string
  tenant: string
}

/** A failure of the origin (not of the client or the firewall), as `forward` and the body reads meet it. */
export type OriginFailure = Extract<Problem, { kind: 'origin_unreachable' | 'origin_timeout' | 'origin_redirect' | 'origin_error' }>

/**
 * Logs one failed origin exchange and returns its error to throw. Only the kind and an origin's 5xx
 * status are logged: the origin's body, its URL (which may carry credentials) and the runtime's error
 * text (which names the address) stay out.
 */
export function originFailed(log: OriginLog, problem: OriginFailure): FirewallError {
  console.error(JSON.stringify({ event: 'origin_failed', requestId: log.requestId, tenant: log.tenant, ...problem }))
  return new FirewallError(problem)
}

export interface OriginResponse {
  response: Response
  /** Aborts the origin exchange (used when a stream is cut for policy reasons). */
  abort: () => void
}

/**
 * Fetches the origin. Throws `origin_unreachable`, `origin_timeout`, `origin_redirect` (unless
 * `returnRedirects`) or `origin_error`.
 */
export async function forward(req: OriginRequest, opts: ForwardOptions): Promise<OriginResponse> {
  const controller = new AbortController()
  const onClientAbort = () => controller.abort(new Error('client disconnected'))
  if (opts.clientSignal?.aborted) onClientAbort()
  opts.clientSignal?.addEventListener('abort', onClientAbort, { once: true })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort(new Error('origin timeout'))
  }, opts.timeoutMs)

  let response: Response
  try {
    response = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      redirect: 'manual',
      signal: controller.signal,
    })
  } catch {
    opts.clientSignal?.removeEventListener('abort', onClientAbort)
    // A caller's deadline passing is a timeout too; a client that went away is no failure of the origin.
    const timeout = timedOut || isTimeout(opts.clientSignal?.reason)
    const problem = { kind: timeout ? 'origin_timeout' : 'origin_unreachable' } as const
    if (!timeout && opts.clientSignal?.aborted === true) throw new FirewallError(problem)
    throw originFailed(opts.log, problem)
  } finally {
    clearTimeout(timer)
  }
  const abort = () => controller.abort(new Error('stream closed by firewall'))
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined)
    if (opts.returnRedirects === true) return { response: new Response(null, { status: response.status, headers: response.headers }), abort }
    throw originFailed(opts.log, { kind: 'origin_redirect' })
  }
  if (response.status >= 500) {
    await response.body?.cancel().catch(() => undefined)
    throw originFailed(opts.log, { kind: 'origin_error', status: response.status })
  }
  return { response, abort }
}

/** Whether an abort reason is a deadline's (`AbortSignal.timeout`). */
function isTimeout(reason: unknown): boolean {
  return reason instanceof DOMException && reason.name === 'TimeoutError'
}
