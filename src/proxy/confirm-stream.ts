/**
 * The answer to a legacy sensitive call held for its user's confirmation (src/tools/approval.ts). A POST's
 * SSE stream may carry server requests related to it before its response (Streamable HTTP §"Sending
 * Messages to the Server", 2025-06-18 / 2025-11-25), so the firewall's `elicitation/create` goes first;
 * while the user decides, comments keep idle intermediaries from closing the stream (mcp-protocol.md
 * §1.3); then the stream carries either the refusal for the call's id, or the origin's inspected answer to
 * the call, JSON or SSE, relayed on the same stream.
 */
import { errorBody, FirewallError, toWire, type Problem } from '../errors'
import type { JsonRpcId } from '../mcp/jsonrpc'
import { encodeEvent } from '../mcp/sse'
import type { HeldCall } from '../tools/gate'
import { acceptedTypes, applySseHeaders, mediaType } from './headers'

/** A comment this often while the user decides (the SDK server's own keep-alive interval). */
const KEEP_ALIVE_MS = 15_000

export interface ConfirmationStreamOptions {
  requestId: string
  /** Forwards the confirmed call and resolves with the client response the proxy built (already inspected). */
  proceed: () => Promise<Response>
  /** Called once the wait is over (the verdict is recorded by then). */
  onSettled: () => void
  keepAliveMs?: number
}

const encoder = new TextEncoder()

/** True when an `Accept` header allows an SSE answer. */
export function acceptsEventStream(accept: string | null): boolean {
  return acceptedTypes(accept).includes('text/event-stream')
}

/** The SSE response for a held call: the question now, the outcome when the user has answered. */
export function confirmationStream(held: HeldCall, opts: ConfirmationStreamOptions): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
  const writer = writable.getWriter()
  let gone = false
  writer.closed.catch(() => {
    gone = true // the client went away: nothing is forwarded for it any more
  })
  const send = (text: string): Promise<void> => writer.write(encoder.encode(text))
  const run = async (): Promise<void> => {
    await send(messageEvent(JSON.stringify(held.question)))
    const timer = setInterval(() => void send(': waiting for the user to confirm\n\n').catch(() => undefined), opts.keepAliveMs ?? KEEP_ALIVE_MS)
    const verdict = await held.settle().finally(() => {
      clearInterval(timer)
      opts.onSettled()
    })
    if (gone) return
    if ('answer' in verdict) {
      await send(messageEvent(JSON.stringify(verdict.answer)))
      return writer.close()
    }
    const response = await opts.proceed().catch((err: unknown) => errorResponse(err, held.call.id, opts.requestId))
    if (isEventStream(response) && response.body) {
      writer.releaseLock()
      return response.body.pipeTo(writable)
    }
    await send(messageEvent(await answerText(response, held.call.id, opts.requestId)))
    return writer.close()
  }
  void run().catch(() => writer.abort().catch(() => undefined))
  return new Response(readable, { status: 200, headers: applySseHeaders(new Headers({ 'x-request-id': opts.requestId })) })
}

function messageEvent(data: string): string {
  return encodeEvent({ event: 'message', data })
}

function isEventStream(response: Response): boolean {
  return mediaType(response.headers.get('content-type')) === 'text/event-stream'
}

/**
 * The JSON answer the proxy built, for the call's id: the inspected result, or an error. A transport-level
 * error carries `id: null` on its own HTTP exchange; on this stream it must answer the call, so it takes
 * the call's id. No body at all is an origin that did not answer the request.
 */
async function answerText(response: Response, id: JsonRpcId, requestId: string): Promise<string> {
  const text = response.body ? await response.text() : ''
  if (text === '') return errorBody(toWire({ kind: 'origin_invalid_response', reason: 'no answer to the call' }), id, requestId)
  const parsed: unknown = JSON.parse(text)
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'id' in parsed && parsed.id === null) return JSON.stringify({ ...parsed, id })
  return JSON.stringify(parsed)
}

/** The refusal a failed forward becomes (the proxy throws `FirewallError` for every refusal). */
function errorResponse(err: unknown, id: JsonRpcId, requestId: string): Response {
  let problem: Problem = { kind: 'internal' }
  if (err instanceof FirewallError) problem = err.problem
  else console.error(JSON.stringify({ event: 'confirmed_call_failed', requestId, error: String(err) }))
  return new Response(errorBody(toWire(problem), id, requestId), { headers: { 'content-type': 'application/json' } })
}
