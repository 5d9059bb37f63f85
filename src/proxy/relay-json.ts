/**
 * Rewrites an origin's `application/json` answer: read with a byte cap, parse, inspect every message,
 * merge in the firewall's own answers for blocked batch elements, and re-serialise.
 */
import { isErrorResponse, parseJsonBody } from '../mcp/jsonrpc'
import type { JsonRpcId, JsonRpcMessage, JsonRpcResponse } from '../mcp/jsonrpc'
import { FirewallError } from '../errors'
import { readCappedText } from './ingress'
import { originFailed } from './forward'
import type { OriginLog } from './forward'
import type { Exchange } from './exchange'

export interface JsonRelayOptions {
  maxBytes: number
  maxDepth: number
  /** Answers for blocked elements of a client batch, merged into the origin's batch answer. */
  prelude: JsonRpcMessage[]
  /** The client sent a batch: requests the origin left unanswered get errors in the batch answer. */
  clientBatch?: boolean
  answerOrigin: (messages: JsonRpcMessage[]) => void
  /** The origin's timeout, over the body too, and how to abort the exchange when it passes. */
  deadline?: BodyDeadline
}

export interface BodyDeadline {
  ms: number
  abort: () => void
  /** Whose exchange this is, for the `origin_failed` log event (as `forward`'s). */
  log: OriginLog
}

/**
 * An origin body within the byte cap and the deadline: `forward()` times only the headers, and an origin
 * that sends them and then stalls would otherwise hold the request until the client gives up.
 */
export async function readOriginBody(upstream: Response, maxBytes: number, deadline: BodyDeadline | undefined): Promise<string> {
  const tooLarge = () => new FirewallError({ kind: 'origin_response_too_large' })
  let timedOut = false
  const timer = deadline
    ? setTimeout(() => {
        timedOut = true
        deadline.abort()
      }, deadline.ms)
    : undefined
  try {
    return await readCappedText(upstream, maxBytes, tooLarge)
  } catch (err) {
    if (err instanceof FirewallError && !timedOut) throw err
    // A connection the origin drops mid-body is the origin being unavailable, not a firewall fault.
    const problem = { kind: timedOut ? 'origin_timeout' : 'origin_unreachable' } as const
    throw deadline ? originFailed(deadline.log, problem) : new FirewallError(problem)
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}

/**
 * After a complete answer to a POST (a JSON body, a success without one): requests it left unanswered
 * would keep the client waiting until its own timeout. A lone request's is thrown (-31007, for `id`);
 * a batch's requests get errors, returned for the batch answer.
 */
export function answerUnanswered(exchange: Exchange, clientBatch: boolean, id: JsonRpcId | null = null): JsonRpcResponse[] {
  const unanswered = exchange.unanswered()
  if (unanswered.length > 0 && !clientBatch) throw new FirewallError({ kind: 'origin_no_answer' }, id)
  return unanswered
}

/** The most of an origin refusal's body read for the error it may carry: an error needs no more. */
const REFUSAL_MAX_BYTES = 64 * 1024

/**
 * The client-bound body for a 2026-07-28 origin's HTTP 400 whose JSON body is the JSON-RPC error answering
 * request `id` (basic/index.mdx §"Error Codes": -32020, -32021 and -32022 come with 400, and the client takes
 * such an error as the request's answer), after the checks and inspection any answer gets: the origin's error,
 * redacted, or the firewall's own error for `id` (a block, the budget). Null when the body is anything else
 * (not JSON-RPC, another id, a result, a batch, past the cap or late): the client then gets the firewall's
 * own refusal, as for every other origin refusal.
 */
export async function relayRefusalError(upstream: Response, exchange: Exchange, id: JsonRpcId, opts: Omit<JsonRelayOptions, 'prelude' | 'answerOrigin' | 'clientBatch'>): Promise<string | null> {
  const text = await readOriginBody(upstream, Math.min(opts.maxBytes, REFUSAL_MAX_BYTES), opts.deadline).catch((err: unknown) => {
    if (err instanceof FirewallError) return null
    throw err
  })
  if (text === null) return null
  const parsed = parseJsonBody(text, { maxDepth: opts.maxDepth })
  if (!parsed.ok || parsed.value.kind !== 'single') return null
  const m = parsed.value.message
  if (!isErrorResponse(m) || m.id !== id) return null
  const outcome = await exchange.fromServerChecked(m, text.length)
  return 'emit' in outcome ? JSON.stringify(outcome.emit) : null
}

/** The client-bound body for an origin JSON response, or throws `origin_*` problems. */
export async function relayJson(upstream: Response, exchange: Exchange, opts: JsonRelayOptions): Promise<string> {
  const text = await readOriginBody(upstream, opts.maxBytes, opts.deadline)
  const parsed = parseJsonBody(text, { maxDepth: opts.maxDepth })
  if (!parsed.ok) throw new FirewallError({ kind: 'origin_invalid_response', reason: 'unparseable JSON-RPC' })
  const isBatch = parsed.value.kind === 'batch'
  const messages = parsed.value.kind === 'batch' ? parsed.value.messages : [parsed.value.message]
  if (exchange.answersUnasked(messages)) throw new FirewallError({ kind: 'origin_invalid_response', reason: 'a response to no pending request' })
  const bytes = Math.ceil(text.length / messages.length)
  const out: JsonRpcMessage[] = []
  const answers: JsonRpcMessage[] = []
  for (const m of messages) {
    const outcome = await exchange.fromServerChecked(m, bytes) // pins and schema checks, then inspection
    if ('emit' in outcome) out.push(outcome.emit)
    else if (outcome.answerOrigin) answers.push(outcome.answerOrigin)
  }
  if (answers.length > 0) opts.answerOrigin(answers)
  // A JSON body is the origin's whole answer to the POST (refusals never get here): a request it leaves
  // unanswered is an origin fault the client is told of.
  const unanswered = answerUnanswered(exchange, opts.clientBatch ?? false)
  if (isBatch || opts.prelude.length > 0 || unanswered.length > 0) return JSON.stringify([...opts.prelude, ...out, ...unanswered])
  // A single response whose only message was hidden cannot happen for a response (responses are
  // replaced by errors, never dropped); a lone server request or notification may be.
  return out.length === 1 ? JSON.stringify(out[0]) : JSON.stringify(out)
}
