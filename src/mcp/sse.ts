/**
 * Server-Sent Events codec for a proxy that inspects every event and never buffers a whole stream.
 *
 * Framing follows the WHATWG event-stream rules (HTML §9.2.6, mcp-protocol.md §4.1) and adds what a
 * proxy needs on top: hard byte caps enforced while bytes arrive, and comments and `retry:` lines as
 * items of their own, in stream order (SEP-1699 polling depends on them). Items carry what a WHATWG
 * parser reads and nothing else: the original text is not kept, so a relay can only write out what it
 * read. `eventsource-parser` is not used because it buffers without limit.
 */

/** One dispatched event: every blank line yields exactly one. */
export interface SseEvent {
  type: 'event'
  /** The `event:` field of this block, if any. Absent, `''` and `'message'` all mean "message". */
  event?: string
  /** The `id:` field of this block, if any (a value containing NUL is ignored, per WHATWG). */
  id?: string
  /** `data:` lines joined with `\n`. */
  data: string
  /** `data !== ''`: false for priming events (`id: X\ndata: \n\n`) and empty blocks; nothing to inspect. */
  hasData: boolean
}

/**
 * A framed item, in stream order. Comments and retry lines are emitted as soon as their line ends; a
 * comment's text and a retry value that is not all digits are not kept (WHATWG ignores both).
 */
export type SseItem = SseEvent | { type: 'comment' } | { type: 'retry'; ms?: number }

export interface SseFramerOptions {
  /** Longest line, in bytes without its terminator. */
  maxLineBytes: number
  /** Most bytes one event may buffer (its field lines, which include all its data). */
  maxEventBytes: number
}

export type SseFramingErrorKind = 'sse_line_too_long' | 'sse_event_too_large'

/** Thrown when a cap is exceeded; the stream is then unusable and the caller fails closed. */
export class SseFramingError extends Error {
  constructor(
    readonly kind: SseFramingErrorKind,
    readonly limit: number,
  ) {
    super(`${kind} (limit ${limit} bytes)`)
    this.name = 'SseFramingError'
  }
}

const LF = 0x0a
const CR = 0x0d
const COLON = 0x3a

/**
 * Incremental framer: feed byte chunks with `push`, call `flush` at end of stream. Lines end in LF,
 * CRLF or CR; line boundaries are found on bytes (CR and LF never occur inside a UTF-8 sequence), so
 * caps count exact bytes, and each line is decoded with a streaming TextDecoder so a character split
 * across chunks survives. Line and event text accumulate as arrays joined once, never by repeated
 * concatenation.
 *
 * A CRLF split across chunks is one terminator: the line is handled at the CR (a CR-only stream must
 * not wait for the next chunk) and the LF that follows is skipped.
 */
export class SseFramer {
  readonly #maxLine: number
  readonly #maxEvent: number
  readonly #decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
  #failure: SseFramingError | undefined
  #startOfStream = true
  #lineParts: string[] = []
  #lineBytes = 0
  #afterCR = false
  /** Bytes of the event in progress (its field lines and their terminators), for the event cap. */
  #eventBytes = 0
  #data: string[] = []
  #event: string | undefined
  #id: string | undefined

  constructor(opts: SseFramerOptions) {
    for (const name of ['maxLineBytes', 'maxEventBytes'] as const) {
      if (!Number.isSafeInteger(opts[name]) || opts[name] < 1) throw new RangeError(`${name} must be a positive integer`)
    }
    this.#maxLine = opts.maxLineBytes
    this.#maxEvent = opts.maxEventBytes
  }

  /** Frames one chunk and returns the items it completed. Throws SseFramingError on a cap. */
  push(chunk: Uint8Array): SseItem[] {
    if (this.#failure !== undefined) throw this.#failure
    const out: SseItem[] = []
    let start = 0
    if (this.#afterCR && chunk.length > 0) {
      this.#afterCR = false
      if (chunk[0] === LF) start = 1
    }
    let nextLF = chunk.indexOf(LF, start)
    let nextCR = chunk.indexOf(CR, start)
    while (start < chunk.length) {
      if (nextLF !== -1 && nextLF < start) nextLF = chunk.indexOf(LF, start)
      if (nextCR !== -1 && nextCR < start) nextCR = chunk.indexOf(CR, start)
      const end = nextLF === -1 ? nextCR : nextCR === -1 ? nextLF : Math.min(nextLF, nextCR)
      if (end === -1) {
        this.#appendToLine(chunk, start, chunk.length, true)
        break
      }
      this.#appendToLine(chunk, start, end, false)
      let terminatorBytes = 1
      start = end + 1
      if (chunk[end] === CR) {
        if (start === chunk.length) this.#afterCR = true
        else if (chunk[start] === LF) {
          terminatorBytes = 2
          start++
        }
      }
      this.#endLine(terminatorBytes, out)
    }
    return out
  }

  /**
   * Ends the stream. An unterminated line or an event without its blank line is discarded, as WHATWG
   * does at end of stream, so nothing uninspected is forwarded. Returns true when something was discarded.
   */
  flush(): boolean {
    if (this.#failure !== undefined) return false
    this.#decoder.decode()
    const discarded = this.#lineBytes > 0 || this.#eventBytes > 0
    this.#lineParts = []
    this.#lineBytes = 0
    this.#resetEvent()
    return discarded
  }

  #appendToLine(chunk: Uint8Array, from: number, to: number, stream: boolean): void {
    this.#lineBytes += to - from
    if (this.#lineBytes > this.#maxLine) this.#fail('sse_line_too_long', this.#maxLine)
    // Always decode at a line end, even an empty segment: it flushes a dangling partial character.
    const text = this.#decoder.decode(chunk.subarray(from, to), { stream })
    if (text !== '') this.#lineParts.push(text)
  }

  #endLine(terminatorBytes: number, out: SseItem[]): void {
    let line = this.#lineParts.length === 1 ? (this.#lineParts[0] ?? '') : this.#lineParts.join('')
    const lineBytes = this.#lineBytes
    this.#lineParts = []
    this.#lineBytes = 0
    if (this.#startOfStream) {
      this.#startOfStream = false
      if (line.startsWith('\uFEFF')) line = line.slice(1)
    }
    if (line === '') {
      out.push(this.#dispatch())
      return
    }
    if (line.charCodeAt(0) === COLON) {
      out.push({ type: 'comment' })
      return
    }
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'retry') {
      // WHATWG: only ASCII digits set the reconnection time; anything else is ignored.
      const ms = /^\d+$/.test(value) ? Number(value) : Number.NaN
      out.push(Number.isSafeInteger(ms) ? { type: 'retry', ms } : { type: 'retry' })
      return
    }
    this.#eventBytes += lineBytes + terminatorBytes
    if (this.#eventBytes > this.#maxEvent) this.#fail('sse_event_too_large', this.#maxEvent)
    if (field === 'data') this.#data.push(value)
    else if (field === 'event') this.#event = value
    else if (field === 'id' && !value.includes('\0')) this.#id = value
  }

  #dispatch(): SseEvent {
    const data = this.#data.join('\n')
    const item: SseEvent = { type: 'event', data, hasData: data !== '' }
    if (this.#event !== undefined) item.event = this.#event
    if (this.#id !== undefined) item.id = this.#id
    this.#resetEvent()
    return item
  }

  #resetEvent(): void {
    this.#eventBytes = 0
    this.#data = []
    this.#event = undefined
    this.#id = undefined
  }

  #fail(kind: SseFramingErrorKind, limit: number): never {
    this.#failure = new SseFramingError(kind, limit)
    this.#lineParts = []
    this.#resetEvent()
    throw this.#failure
  }
}

/**
 * A ready-to-use framer stream: `upstream.body.pipeThrough(sseFramer({ maxLineBytes, maxEventBytes }))`.
 *
 * On a cap the stream errors with SseFramingError, which cancels the upstream body (stop reading the
 * origin) and errors the readable side; a consumer that wants to tell the client (e.g. an error for
 * the pending request id) reads with a reader and catches it. Backpressure: with the default
 * highWaterMarks (writable 1 chunk, readable 0 items) `transform` runs only when the consumer pulls, so
 * a slow client stalls the origin read and the framer holds at most one chunk plus one partial event.
 */
export function sseFramer(opts: SseFramerOptions): TransformStream<Uint8Array, SseItem> {
  const framer = new SseFramer(opts)
  return new TransformStream<Uint8Array, SseItem>({
    transform(chunk, controller) {
      for (const item of framer.push(chunk)) controller.enqueue(item)
    },
    flush() {
      framer.flush()
    },
  })
}

/**
 * Encodes one event the way the SDK does (`event: …\nid: …\ndata: …\n\n`, mcp-protocol.md §1.5).
 * `JSON.stringify` output is a single line; multi-line data becomes one `data:` line per line, which a
 * parser joins back with `\n`. Empty data gives `data: \n` (the priming form). Throws when `event` or
 * `id` contains a line break (or `id` a NUL), which would inject fields.
 *
 * @example encodeEvent({ event: 'message', id: '7', data: serialize(reply) })
 */
export function encodeEvent(e: { event?: string; id?: string; data: string }): string {
  if (e.event !== undefined && /[\r\n]/.test(e.event)) throw new TypeError('SSE event name contains a line break')
  if (e.id !== undefined && /[\r\n\0]/.test(e.id)) throw new TypeError('SSE id contains a line break or NUL')
  const head = (e.event !== undefined ? `event: ${e.event}\n` : '') + (e.id !== undefined ? `id: ${e.id}\n` : '')
  // Serialised JSON never holds a raw line break, so the usual event needs no splitting.
  if (e.data.indexOf('\n') < 0 && e.data.indexOf('\r') < 0) return `${head}data: ${e.data}\n\n`
  const lines: string[] = [head]
  for (const line of e.data.split(/\r\n|\r|\n/)) lines.push(`data: ${line}\n`)
  lines.push('\n')
  return lines.join('')
}
