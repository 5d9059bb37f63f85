/**
 * One request to a tenant's origin: redirects never followed, a timeout for the response headers,
 * and the client's disconnect wired to an AbortController (the incoming request's signal does not reach
 * subrequests by itself). Every failure becomes a `FirewallError`; the origin's own words never reach
 * the client.
 */
import { FirewallError } from '../errors'

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
    throw new FirewallError({ kind: timedOut ? 'origin_timeout' : 'origin_unreachable' })
  } finally {
    clearTimeout(timer)
  }
  const abort = () => controller.abort(new Error('stream closed by firewall'))
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined)
    if (opts.returnRedirects === true) return { response: new Response(null, { status: response.status, headers: response.headers }), abort }
    throw new FirewallError({ kind: 'origin_redirect' })
  }
  if (response.status >= 500) {
    await response.body?.cancel().catch(() => undefined)
    throw new FirewallError({ kind: 'origin_error', status: response.status })
  }
  return { response, abort }
}
