/**
 * Relays an origin's answer to the client: each status and media type to its relay, with the firewall's
 * own answers for the requests it left unanswered, server requests answered on the client's behalf, and
 * an open stream's re-checks (kill switch, config, credential) while it runs.
 */
import { FirewallError } from '../errors'
import type { JsonRpcId, JsonRpcMessage, JsonRpcResponse } from '../mcp/jsonrpc'
import { applySseHeaders, clientResponseHeaders, mediaType } from './headers'
import type { OriginLog } from './forward'
import type { Exchange } from './exchange'
import { relaySse } from './relay-sse'
import { answerUnanswered, readOriginBody, relayJson, relayRefusalError } from './relay-json'
import { streamIdSealer } from './stream-state'
import type { EventIdSealer, ResumedStream } from './stream-state'
import { killState } from '../guard/kill-state'
import { configFollower, MAX_JSON_DEPTH } from './exchange-setup'
import { firewallCredentialRefused, originRefusal } from './origin-refusal'
import type { AuthedRequest, EndpointRequest } from './mcp-endpoint'

/**
 * The origin's answer to a POST, GET or DELETE as the client gets it, by its status and media type: a
 * refusal with the firewall's own body (but a 2026-07-28 request's inspected JSON-RPC error), an empty success, an SSE stream (relay-sse.ts) or a JSON body
 * (relay-json.ts) inspected message by message; any other type only when its body is empty.
 */
export async function relay(
  r: AuthedRequest,
  upstream: Response,
  exchange: Exchange,
  abort: () => void,
  prelude: JsonRpcResponse[],
  originUrl: URL,
  sent: { firstId: JsonRpcId | null; isBatch: boolean; resumed?: ResumedStream },
): Promise<Response> {
  const { firstId } = sent
  const config = r.tenant.record.config
  const headers = clientResponseHeaders(upstream, r.requestId)
  const type = mediaType(upstream.headers.get('content-type'))
  const answerOrigin = (messages: JsonRpcMessage[]) => r.waitUntil(answerOnBehalf(r, originUrl, messages))

  const deadline = { ms: config.origin.timeoutMs, abort, log: originLog(r) }
  if (!upstream.ok) {
    // A 2026-07-28 request's 400 may carry its answer, a JSON-RPC error the client acts on: relayed once inspected.
    const answer = upstream.status === 400 && exchange.init.era === 'modern' && !sent.isBatch && firstId !== null && type === 'application/json'
      ? await relayRefusalError(upstream, exchange, firstId, { maxBytes: config.limits.maxResponseBytes, maxDepth: MAX_JSON_DEPTH, deadline })
          .catch((err: unknown) => {
            throw err instanceof FirewallError ? new FirewallError(err.problem, firstId) : err
          })
          .finally(() => exchange.init.sink.flush())
      : null
    if (answer !== null) {
      headers.set('content-type', 'application/json')
      return new Response(answer, { status: upstream.status, headers })
    }
    // Any other origin refusal (4xx) keeps its status and challenge; its body, whatever it says, is not relayed.
    await upstream.body?.cancel().catch(() => undefined)
    if (upstream.status === 401 && r.auth.mode !== 'passthrough') throw firewallCredentialRefused(r, firstId)
    return originRefusal(upstream.status, headers, r.requestId)
  }
  if (upstream.status === 202 || upstream.status === 204 || upstream.body === null) {
    await upstream.body?.cancel().catch(() => undefined)
    // A success without a body answers only notifications and responses (transports §"Sending Messages": 202).
    const unanswered = answerUnanswered(exchange, sent.isBatch, firstId)
    if (prelude.length > 0 || unanswered.length > 0) return jsonResponse([...prelude, ...unanswered], 200, r.requestId)
    headers.delete('content-type') // no body goes out, whatever the origin said it sent
    return new Response(null, { status: upstream.status, headers })
  }
  if (type === 'text/event-stream') {
    const followConfig = configFollower(r, exchange, originUrl)
    const body = await relaySse(upstream.body, exchange, {
      maxLineBytes: config.limits.maxSseLineBytes,
      maxEventBytes: config.limits.maxSseEventBytes,
      maxDepth: MAX_JSON_DEPTH,
      idleTimeoutMs: config.origin.idleTimeoutMs,
      prelude,
      answerOrigin,
      abortOrigin: abort,
      // 2025 revisions resume a stream by its event ids: they carry the requests it answers (stream-state.ts).
      ...(exchange.init.era === 'legacy' ? { eventIds: streamIds(r, exchange, sent.resumed) } : {}),
      ...(sent.resumed ? { resumedFrom: sent.resumed.originId } : {}),
      onClose: () => exchange.init.sink.flush(),
      // A kill thrown while the stream is open ends it within the kill switch's staleness bound, and so does
      // `enabled: false`; the inspection policy, tool settings and budget follow the tenant's config (a GET
      // stream may stay open for hours); a lapsed credential or a change of the tenant's client
      // authentication ends it within the bounds src/auth states.
      stillAllowed: async () => {
        const kill = await killState(r.tenant.id, { env: r.env })
        if (!kill.ok || kill.state.killed) return false
        exchange.killTools(kill.state.tools)
        const followed = await followConfig()
        if (followed !== true) return followed
        return (await r.auth.stillAdmitted()) ? true : { kind: 'client_unauthorised' }
      },
    })
    return new Response(body, { status: upstream.status, headers: applySseHeaders(headers) })
  }
  if (type === 'application/json') {
    try {
      const body = await relayJson(upstream, exchange, { maxBytes: config.limits.maxResponseBytes, maxDepth: MAX_JSON_DEPTH, prelude, clientBatch: sent.isBatch, answerOrigin, deadline })
      headers.set('content-type', 'application/json')
      return new Response(body, { status: upstream.status, headers })
    } catch (err) {
      throw err instanceof FirewallError ? new FirewallError(err.problem, firstId) : err
    } finally {
      exchange.init.sink.flush()
    }
  }
  // Anything else is passed only when it carries nothing to inspect (e.g. a DELETE's empty 200).
  const rest = await readOriginBody(upstream, 64 * 1024, deadline).catch((err: unknown) => {
    throw err instanceof FirewallError ? new FirewallError(err.problem, firstId) : err
  })
  if (rest.length === 0) {
    const unanswered = answerUnanswered(exchange, sent.isBatch, firstId)
    if (unanswered.length > 0) return jsonResponse(unanswered, 200, r.requestId)
    headers.delete('content-type')
    return new Response(null, { status: upstream.status, headers })
  }
  throw new FirewallError({ kind: 'origin_invalid_response', reason: `content type ${type || '(none)'}` }, firstId)
}

/** The sealer of a stream's event ids: a resumed stream keeps the requests it was resumed with. */
function streamIds(r: AuthedRequest, exchange: Exchange, resumed: ResumedStream | undefined): () => Promise<EventIdSealer | null> {
  if (resumed) return () => Promise.resolve(resumed.seal)
  return () => streamIdSealer(r.env, r.tenant.id, exchange.init.sessionId, exchange.streamRequests())
}

/** Answers server requests the client will never see, on its behalf (same session, version and auth). */
async function answerOnBehalf(r: AuthedRequest, originUrl: URL, messages: JsonRpcMessage[]): Promise<void> {
  const headers = await r.auth.originHeaders(r.request.headers)
  headers.set('content-type', 'application/json')
  headers.set('accept', 'application/json, text/event-stream')
  for (const m of messages) {
    try {
      const signal = AbortSignal.timeout(r.tenant.record.config.origin.timeoutMs)
      const res = await fetch(originUrl, { method: 'POST', headers, body: JSON.stringify(m), redirect: 'manual', signal })
      await res.body?.cancel().catch(() => undefined)
    } catch (err) {
      console.error(JSON.stringify({ event: 'on_behalf_answer_failed', requestId: r.requestId, tenant: r.tenant.id, error: String(err) }))
    }
  }
}

/** A JSON answer of the firewall's own, with the request id the operator can find in the logs. */
/** Names this request's origin exchange in the `origin_failed` log event. */
export function originLog(r: EndpointRequest): OriginLog {
  return { requestId: r.requestId, tenant: r.tenant.id }
}

export function jsonResponse(body: unknown, status: number, requestId: string): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'x-request-id': requestId } })
}
