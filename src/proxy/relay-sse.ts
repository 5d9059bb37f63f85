/**
 * Rewrites an origin's SSE stream event by event (mcp-protocol.md §4.1–4.2, §4.6).
 *
 * Pull-based: the origin is read only when the client asks for more, so backpressure reaches the
 * origin and only the event being inspected is ever held. Comments, `retry:` lines and priming events
 * pass through in order (SEP-1699 polling depends on them). Each message event is parsed, inspected
 * and re-serialised with its original SSE `id:`; events with another `event:` name are dropped, never
 * passed blind. A line or event over its cap, an unparseable event or a broken origin stream ends the
 * stream fail-closed: every request still waiting gets an error for its id, then the stream closes.
 */
import { encodeEvent, SseFramer } from '../mcp/sse'
import type { SseItem } from '../mcp/sse'
import { parseJsonBody } from '../mcp/jsonrpc'
import type { JsonRpcMessage } from '../mcp/jsonrpc'
import { FirewallCode, toWire } from '../errors'
import type { Exchange } from './exchange'
import { dataOf } from '../budget/enforce'

export interface SseRelayOptions {
  maxLineBytes: number
  maxEventBytes: number
  maxDepth: number
  /** Closes the stream after this long without a byte from the origin. */
  idleTimeoutMs: number
  /**
   * Asked every `recheckMs` while the stream is open; `false` ends it (a kill switch thrown after the
   * stream started). Absent: never re-checked.
   */
  stillAllowed?: () => Promise<boolean>
  recheckMs?: number
  /** Messages the firewall answers itself, sent before anything from the origin (blocked batch elements). */
  prelude: JsonRpcMessage[]
  /** Sends answers to the origin for server requests the client will not see. */
  answerOrigin: (messages: JsonRpcMessage[]) => void
  /** Aborts the origin exchange when the firewall cuts the stream or the client leaves. */
  abortOrigin: () => void
  onClose?: () => void
}

const encoder = new TextEncoder()

/** A client-bound SSE body that inspects `upstream` as it flows. */
export function relaySse(upstream: ReadableStream<Uint8Array>, exchange: Exchange, opts: SseRelayOptions): ReadableStream<Uint8Array> {
  // The framer is driven from this stream's pull loop rather than piped: one stream hop fewer per chunk.
  const framer = new SseFramer({ maxLineBytes: opts.maxLineBytes, maxEventBytes: opts.maxEventBytes })
  const reader = upstream.getReader()
  const origin = new OriginReader(reader, opts.idleTimeoutMs, opts.recheckMs ?? 2_000, opts.stillAllowed)
  let finished = false
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    if (finished) return
    finished = true
    controller.close()
    opts.onClose?.()
  }
  const failClosed = (controller: ReadableStreamDefaultController<Uint8Array>, why: string, before = '') => {
    console.error(JSON.stringify({ event: 'sse_fail_closed', requestId: exchange.init.requestId, tenant: exchange.init.tenantId, why }))
    let out = before
    const [code, message] = why === 'killed' ? [FirewallCode.tenantDisabled, 'Endpoint disabled'] : [FirewallCode.originInvalid, 'Origin sent a response the firewall cannot inspect']
    // A response refused for budget ends the stream: the requests still waiting get the same error.
    const refused = why === 'budget' ? exchange.budgetRefused : undefined
    const failed = refused ? exchange.failPending(toWire(refused).code, toWire(refused).message, dataOf(refused)) : exchange.failPending(code, message)
    for (const err of failed) {
      out += encodeEvent({ event: 'message', data: JSON.stringify(err) })
    }
    if (out) controller.enqueue(encoder.encode(out))
    reader.cancel().catch(() => undefined)
    opts.abortOrigin()
    finish(controller)
  }

  return new ReadableStream<Uint8Array>({
    start(controller) {
      const prelude = opts.prelude.map((m) => encodeEvent({ event: 'message', data: JSON.stringify(m) })).join('')
      if (prelude) controller.enqueue(encoder.encode(prelude))
    },
    async pull(controller) {
      // Loop until something is enqueued so a chunk that yields nothing does not stall the consumer.
      for (;;) {
        let next: ReadableStreamReadResult<Uint8Array> | 'idle' | 'killed'
        try {
          next = await origin.next()
        } catch {
          failClosed(controller, 'origin_stream_error')
          return
        }
        if (next === 'idle' || next === 'killed') {
          failClosed(controller, next === 'idle' ? 'idle_timeout' : 'killed')
          return
        }
        if (next.done) {
          framer.flush()
          finish(controller)
          return
        }
        let out = ''
        let items: SseItem[]
        try {
          items = framer.push(next.value)
        } catch (err) {
          failClosed(controller, describe(err))
          return
        }
        for (const item of items) {
          const text = await handleItem(item, exchange, opts) // async: pin checks may read a Durable Object
          if (text === 'fail') {
            failClosed(controller, 'unparseable_event', out)
            return
          }
          if (text !== null) out += text
          if (exchange.budgetRefused) {
            failClosed(controller, 'budget', out) // the budget ran out mid-stream
            return
          }
        }
        if (out) {
          controller.enqueue(encoder.encode(out))
          return
        }
      }
    },
    cancel() {
      finished = true
      reader.cancel().catch(() => undefined)
      opts.abortOrigin()
      opts.onClose?.()
    },
  })
}

/** The text to send for one framed item, `null` to send nothing, or `'fail'` to cut the stream. */
async function handleItem(item: SseItem, exchange: Exchange, opts: SseRelayOptions): Promise<string | null | 'fail'> {
  if (item.type !== 'event') return item.raw
  // WHATWG: an absent or empty event name means `message`; the SDK client dispatches only those.
  if (item.event !== undefined && item.event !== '' && item.event !== 'message') return null
  if (!item.hasData) return item.raw
  const parsed = parseJsonBody(item.data, { maxDepth: opts.maxDepth })
  if (!parsed.ok) return 'fail'
  const messages = parsed.value.kind === 'batch' ? parsed.value.messages : [parsed.value.message]
  const bytes = Math.ceil(item.data.length / messages.length)
  const emit: JsonRpcMessage[] = []
  const answers: JsonRpcMessage[] = []
  for (const m of messages) {
    const outcome = await exchange.fromServerChecked(m, bytes)
    if ('emit' in outcome) emit.push(outcome.emit)
    else if (outcome.answerOrigin) answers.push(outcome.answerOrigin)
  }
  if (answers.length > 0) opts.answerOrigin(answers)
  if (emit.length === 0) return null
  const data = JSON.stringify(parsed.value.kind === 'batch' ? emit : emit[0])
  return encodeEvent({ event: 'message', ...(item.id !== undefined ? { id: item.id } : {}), data })
}

/**
 * Reads the origin without ever dropping a pending read: between chunks it wakes every `recheckMs` to
 * ask whether the stream may go on, and gives up after `idleMs` of silence.
 */
class OriginReader {
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined
  #lastByte = Date.now()
  #lastCheck = Date.now()

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly idleMs: number,
    private readonly recheckMs: number,
    private readonly stillAllowed?: () => Promise<boolean>,
  ) {}

  async next(): Promise<ReadableStreamReadResult<Uint8Array> | 'idle' | 'killed'> {
    // Re-check on schedule even while chunks flow (keep-alives would otherwise never let the timer fire).
    if (this.stillAllowed && Date.now() - this.#lastCheck >= this.recheckMs) {
      this.#lastCheck = Date.now()
      if (!(await this.stillAllowed())) return 'killed'
    }
    this.#pending ??= this.reader.read()
    for (;;) {
      const wait = Math.max(1, Math.min(this.recheckMs, this.idleMs - (Date.now() - this.#lastByte)))
      let timer: ReturnType<typeof setTimeout> | undefined
      const tick = new Promise<'tick'>((resolve) => {
        timer = setTimeout(() => resolve('tick'), wait)
      })
      const result = await Promise.race([this.#pending, tick]).finally(() => {
        if (timer !== undefined) clearTimeout(timer)
      })
      if (result !== 'tick') {
        this.#pending = undefined
        this.#lastByte = Date.now()
        return result
      }
      if (Date.now() - this.#lastByte >= this.idleMs) return 'idle'
      this.#lastCheck = Date.now()
      if (this.stillAllowed && !(await this.stillAllowed())) return 'killed'
    }
  }
}

function describe(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'kind' in err) return String((err as { kind: unknown }).kind)
  return 'sse_framing_error'
}
