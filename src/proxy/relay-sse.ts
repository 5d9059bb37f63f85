/**
 * Rewrites an origin's SSE stream event by event (mcp-protocol.md §4.1–4.2, §4.6).
 *
 * Past a short hold at the start (see {@link relaySse}), the origin is read only as fast as the client
 * takes what was sent, so backpressure reaches the origin and only the event being inspected is held.
 * Nothing goes out as the origin wrote it: every item is written anew from what the framer read, so a
 * client whose SSE parser differs from the WHATWG rules (a lone CR, an unknown field) cannot be handed
 * text the firewall did not inspect. Comments go out as a bare `:` (a keep-alive; their text is
 * dropped), `retry:` lines with their number (others are dropped), priming events as their `id:` alone
 * (SEP-1699 polling depends on these, in order). Each message event is parsed, inspected and
 * re-serialised with its original SSE `id:`; events with another `event:` name are dropped, never
 * passed blind. A line or event over its cap, an unparseable event, an answer to a request the POST did
 * not carry or a broken origin stream ends the stream fail-closed: every request still waiting gets an
 * error for its id, then the stream closes.
 */
import { encodeEvent, SseFramer } from '../mcp/sse'
import type { SseItem } from '../mcp/sse'
import { parseJsonBody } from '../mcp/jsonrpc'
import type { JsonRpcMessage } from '../mcp/jsonrpc'
import { toWire } from '../errors'
import type { Problem } from '../errors'
import type { Exchange } from './exchange'
import type { EventIdSealer } from './stream-state'
import { dataOf } from '../budget/enforce'
import { chunkReader } from './ingress'
import type { ChunkReader, ChunkResult } from './ingress'

export interface SseRelayOptions {
  maxLineBytes: number
  maxEventBytes: number
  maxDepth: number
  /** Closes the stream after this long without a byte from the origin. */
  idleTimeoutMs: number
  /**
   * Asked every `recheckMs` while the stream is open; `false` ends it (a kill switch thrown after the
   * stream started), as does a problem, which the requests still waiting get (the client's credential
   * lapsed). Absent: never re-checked.
   */
  stillAllowed?: () => Promise<boolean | Problem>
  recheckMs?: number
  /** Messages the firewall answers itself, sent before anything from the origin (blocked batch elements). */
  prelude: JsonRpcMessage[]
  /** Sends answers to the origin for server requests the client will not see. */
  answerOrigin: (messages: JsonRpcMessage[]) => void
  /** Aborts the origin exchange when the firewall cuts the stream or the client leaves. */
  abortOrigin: () => void
  onClose?: () => void
  /** How long to hold the stream to see whether it ends; default {@link SSE_HOLD_MS}. */
  holdMs?: number
  /** The most output to hold, in UTF-16 units; default {@link SSE_HOLD_UNITS}. */
  holdUnits?: number
  /**
   * What gives every event id its form on the way to the client (sealed with the requests the stream
   * answers: stream-state.ts), asked once, at the first id; null or absent: ids go out as the origin sent them.
   */
  eventIds?: () => Promise<EventIdSealer | null>
  /** A resumed stream: the origin's id the client resumed from (it may resume from there again). */
  resumedFrom?: string
}

const encoder = new TextEncoder()

/** How long the relay holds a stream to see whether it ends (the usual POST answer), by default. */
export const SSE_HOLD_MS = 50
/** The most inspected output the relay holds before it starts streaming, in UTF-16 units, by default. */
export const SSE_HOLD_UNITS = 256 * 1024

/** What one read of the origin gave: the text to send, and whether the stream is over. */
interface Step {
  text: string
  last: boolean
}

/**
 * A client-bound SSE body that inspects `upstream` as it flows.
 *
 * Most SSE answers to a POST are one event and an end of stream, a few milliseconds apart. So the relay
 * first holds the stream: if it ends within `holdMs` (and `holdUnits` of output), the inspected text
 * is returned whole and sent as a fixed-length body, which costs the runtime less than a stream.
 * Otherwise it returns a stream that starts with what was held and follows the origin from there,
 * so a long stream (progress notifications, a GET stream) is delayed by at most `holdMs`.
 */
export async function relaySse(upstream: ReadableStream<Uint8Array>, exchange: Exchange, opts: SseRelayOptions): Promise<ReadableStream<Uint8Array> | string> {
  const framer = new SseFramer({ maxLineBytes: opts.maxLineBytes, maxEventBytes: opts.maxEventBytes })
  const reader = chunkReader(upstream)
  const origin = new OriginReader(reader, opts.idleTimeoutMs, opts.recheckMs ?? 2_000, opts.stillAllowed)
  let finished = false
  let originStopped = false
  // The origin's id the client can resume this stream from: only an id sent in the firewall's form
  // (stream-state.ts), which gives a GET this stream's requests back. One sent as the origin wrote it (no
  // session or no key to seal it) resumes none of them, like no id at all; an empty id resets the client's.
  let resumeFrom = opts.resumedFrom ?? ''
  let sealer: Promise<EventIdSealer | null> | undefined
  const clientId = async (id: string): Promise<string> => {
    const seal = opts.eventIds && id !== '' ? await (sealer ??= opts.eventIds()) : null
    resumeFrom = seal === null ? '' : id
    return seal === null ? id : seal(id)
  }
  const end = (): void => {
    finished = true
    origin.close()
    opts.onClose?.()
  }
  const stopOrigin = (): void => {
    if (originStopped) return
    originStopped = true
    reader.cancel().catch(() => undefined)
    opts.abortOrigin()
  }
  // Ends the stream fail-closed: every request still waiting gets an error after `before`.
  const failClosed = (why: string, before = '', stopped?: Problem): Step => {
    console.error(JSON.stringify({ event: 'sse_fail_closed', requestId: exchange.init.requestId, tenant: exchange.init.tenantId, why }))
    let text = before
    // A response refused for budget ends the stream: the requests still waiting get the same error.
    const refused = why === 'budget' ? exchange.budgetRefused : undefined
    // A stream the origin stopped feeding timed out, as a JSON body that stalls does (-31006), not bad output.
    const problem: Problem = refused ?? stopped ?? (why === 'killed' ? { kind: 'tenant_disabled' } : why === 'idle_timeout' ? { kind: 'origin_timeout' } : { kind: 'origin_invalid_response', reason: why })
    const { code, message } = toWire(problem)
    const failed = exchange.failPending(code, message, dataOf(problem))
    for (const err of failed) {
      text += encodeEvent({ event: 'message', data: JSON.stringify(err) })
    }
    stopOrigin()
    return { text, last: true }
  }
  // Reads and inspects the origin's next chunk.
  const step = async (): Promise<Step> => {
    let next: ChunkResult | 'idle' | 'killed' | { stopped: Problem }
    try {
      next = await origin.next()
    } catch {
      return failClosed('origin_stream_error')
    }
    if (next === 'idle' || next === 'killed') return failClosed(next === 'idle' ? 'idle_timeout' : 'killed')
    if ('stopped' in next) return failClosed(next.stopped.kind, '', next.stopped)
    if (next.done) {
      framer.flush()
      // A stream that ends before answering leaves its requests unanswered for good unless the client can
      // resume it: 2025 revisions allow that with Last-Event-ID, so only after an event id it can resume
      // from was sent; 2026-07-28 has no resumption at all.
      const resumable = exchange.init.era === 'legacy' && resumeFrom !== ''
      const unanswered = exchange.init.ownAnswersOnly && !resumable ? exchange.unanswered() : [] // a POST's own stream
      return { text: unanswered.map((m) => encodeEvent({ event: 'message', data: JSON.stringify(m) })).join(''), last: true }
    }
    let items: SseItem[]
    try {
      items = framer.push(next.value)
    } catch (err) {
      return failClosed(describe(err))
    }
    let out = ''
    for (const framed of items) {
      const item = withWellFormedId(framed, exchange)
      const text = await handleItem(item, exchange, opts, clientId) // async: pin checks may read a Durable Object
      if (text === 'unparseable_event' || text === 'unasked_response') return failClosed(text, out)
      if (text !== null) out += text
      if (exchange.budgetRefused) return failClosed('budget', out) // the budget ran out mid-stream
    }
    return { text: out, last: false }
  }

  // Hold: read while the origin keeps up, until the stream ends, the time is up or enough is held.
  let held = opts.prelude.map((m) => encodeEvent({ event: 'message', data: JSON.stringify(m) })).join('')
  let pending: Promise<Step> | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const release = new Promise<'release'>((resolve) => {
    timer = setTimeout(() => resolve('release'), opts.holdMs ?? SSE_HOLD_MS)
  })
  try {
    while (held.length <= (opts.holdUnits ?? SSE_HOLD_UNITS)) {
      pending = step()
      const got = await Promise.race([pending, release])
      if (got === 'release') break
      pending = undefined
      held += got.text
      if (got.last) {
        end()
        return held
      }
    }
  } catch (err) {
    end()
    stopOrigin()
    throw err
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }

  // Stream. A native identity stream: this loop writes, the runtime reads. A write completes only when
  // the client has taken the chunk, so the origin is read no faster than the client reads
  // (backpressure), and the runtime moves the bytes without calling back into JavaScript per read: a
  // JS-sourced ReadableStream cost about 0.3 ms more per response in the bench.
  const { readable, writable } = new IdentityTransformStream()
  const writer = writable.getWriter()
  // The client went away (the readable side was cancelled): stop reading and abort the origin.
  const clientGone = (): void => {
    if (finished) return
    end()
    stopOrigin()
  }
  writer.closed.catch(clientGone)
  const send = async (text: string): Promise<void> => {
    if (text) await writer.write(encoder.encode(text))
  }
  // Returns once the stream is over; the caller closes the writer.
  const pump = async (): Promise<void> => {
    await send(held)
    held = ''
    for (let next = pending ?? step(); ; next = step()) {
      const { text, last } = await next
      await send(text)
      if (last || finished) return
    }
  }
  void pump().then(
    async () => {
      if (finished) return
      end()
      await writer.close()
    },
    (err: unknown) => {
      // A write refused (the client is gone) or an unexpected failure: stop the origin and error the
      // client's stream rather than leave it open.
      clientGone()
      writer.abort(err).catch(() => undefined)
    },
  ).catch(() => undefined)
  return readable
}

/**
 * An event id is a resume point the client echoes back, never read by a model, and the spec gives it no
 * form; like a session id (`headers.ts`) it must be visible ASCII, up to 256 characters. An id carrying
 * anything else (words and spaces, markup, non-ASCII text) would reach the client unread, so the event
 * goes on without it, as if the origin had sent none.
 */
const EVENT_ID = /^[\x21-\x7e]{0,256}$/

function withWellFormedId(item: SseItem, exchange: Exchange): SseItem {
  if (item.type !== 'event' || item.id === undefined || EVENT_ID.test(item.id)) return item
  console.warn(JSON.stringify({ event: 'origin_event_id_dropped', requestId: exchange.init.requestId, tenant: exchange.init.tenantId }))
  const { id: _dropped, ...rest } = item
  return rest
}

/** The text to send for one framed item, `null` to send nothing, or why the stream must be cut. */
async function handleItem(item: SseItem, exchange: Exchange, opts: SseRelayOptions, clientId: (id: string) => Promise<string>): Promise<string | null | 'unparseable_event' | 'unasked_response'> {
  if (item.type === 'comment') return ':\n'
  if (item.type === 'retry') return item.ms !== undefined ? `retry: ${item.ms}\n` : null
  // WHATWG: an absent or empty event name means `message`; the SDK client dispatches only those.
  if (item.event !== undefined && item.event !== '' && item.event !== 'message') return null
  // Empty data is never dispatched; only its `id:` counts (a priming event). A block without one is a blank line.
  if (!item.hasData) return item.id !== undefined ? encodeEvent({ id: await clientId(item.id), data: '' }) : '\n'
  const parsed = parseJsonBody(item.data, { maxDepth: opts.maxDepth })
  if (!parsed.ok) return 'unparseable_event'
  const messages = parsed.value.kind === 'batch' ? parsed.value.messages : [parsed.value.message]
  if (exchange.answersUnasked(messages)) return 'unasked_response'
  const bytes = Math.ceil(item.data.length / messages.length)
  const emit: JsonRpcMessage[] = []
  const answers: JsonRpcMessage[] = []
  for (const m of messages) {
    const outcome = await exchange.fromServerChecked(m, bytes)
    if ('emit' in outcome) emit.push(outcome.emit)
    else if (outcome.answerOrigin) answers.push(outcome.answerOrigin)
    // A response refused for budget ends the stream, and so the rest of its batch (2025-03-26 origins may
    // batch): nothing after it is charged or shown, and the responses among it stay waiting, so they get
    // the same -31002 when the stream is cut (failClosed).
    if (exchange.budgetRefused) break
  }
  if (answers.length > 0) opts.answerOrigin(answers)
  // Nothing left to show: the id alone still moves the client's resume point past this event (an empty
  // data field dispatches nothing), so a reconnect does not replay what the firewall already handled.
  if (emit.length === 0) return item.id !== undefined ? encodeEvent({ id: await clientId(item.id), data: '' }) : null
  const data = JSON.stringify(parsed.value.kind === 'batch' ? emit : emit[0])
  return encodeEvent({ event: 'message', ...(item.id !== undefined ? { id: await clientId(item.id) } : {}), data })
}

/**
 * Reads the origin without ever dropping a pending read: every `recheckMs` (and at the idle deadline)
 * a tick asks whether the stream may go on, and it gives up after `idleMs` of silence (a read of the
 * origin left unanswered that long). One timer serves many reads: arming a timer per chunk cost more
 * than reading the chunk.
 */
class OriginReader {
  #pending: Promise<ChunkResult> | undefined
  #tick: Promise<'tick'> | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #fired = false
  #askedAt = Date.now()

  constructor(
    private readonly reader: ChunkReader,
    private readonly idleMs: number,
    private readonly recheckMs: number,
    private readonly stillAllowed?: () => Promise<boolean | Problem>,
  ) {}

  async next(): Promise<ChunkResult | 'idle' | 'killed' | { stopped: Problem }> {
    if (!this.#pending) {
      this.#pending = this.reader.read()
      // Silence is counted from the moment the relay asks again: while it waits for the client to take
      // what was sent (backpressure), the origin is not being read and cannot be blamed for the wait.
      this.#askedAt = Date.now()
    }
    for (;;) {
      // Checked before every read, not only when the tick wins a race: a stream that always has a
      // chunk ready would otherwise never see its tick (and a kill would never end it).
      if (this.#fired) {
        this.#fired = false
        this.#tick = undefined
        if (Date.now() - this.#askedAt >= this.idleMs) return 'idle'
        // A re-check that fails (a store unreadable, the tokenizer not loading) ends the stream closed, as the
        // firewall's own failure: the origin's output is not to blame.
        const allowed = this.stillAllowed ? await this.stillAllowed().catch(recheckFailed) : true
        if (allowed === false) return 'killed'
        if (allowed !== true) return { stopped: allowed }
      }
      const result = await Promise.race([this.#pending, this.#arm()])
      if (result !== 'tick') {
        this.#pending = undefined
        return result
      }
    }
  }

  /** Stops the timer (the stream is over). */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#tick = undefined
  }

  #arm(): Promise<'tick'> {
    if (this.#tick) return this.#tick
    const wait = Math.max(1, Math.min(this.recheckMs, this.idleMs - (Date.now() - this.#askedAt)))
    this.#tick = new Promise<'tick'>((resolve) => {
      this.#timer = setTimeout(() => {
        this.#fired = true
        resolve('tick')
      }, wait)
    })
    return this.#tick
  }
}

function describe(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'kind' in err) return String((err as { kind: unknown }).kind)
  return 'sse_framing_error'
}

function recheckFailed(err: unknown): Problem {
  console.error(JSON.stringify({ event: 'sse_recheck_failed', error: String(err) }))
  return { kind: 'internal' }
}
