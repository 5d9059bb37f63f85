/**
 * Records every HTTP exchange a test origin sees, so tests can assert "the origin was not called",
 * "it saw exactly this body" or "the client went away mid-response", and await those facts as events
 * instead of sleeping.
 */
import { EventEmitter } from 'node:events'
import type { IncomingHttpHeaders } from 'node:http'

/** One HTTP request received by a test origin, updated in place as its response progresses. */
export interface RecordedCall {
  /** 1-based arrival order. */
  readonly seq: number
  readonly method: string
  /** Path and query, e.g. `/mcp`. */
  readonly url: string
  /** Request headers, names in lower case; repeated headers are joined with `, `. */
  readonly headers: Readonly<Record<string, string>>
  /** The body exactly as received (UTF-8). */
  readonly rawBody: string
  /** The body parsed as JSON; `undefined` when empty or not JSON. */
  readonly body: unknown
  /** `Date.now()` when the request had been read. */
  readonly time: number
  /** Response status, once the response head was sent. */
  status?: number
  /** Response headers (lower-case names), once sent. */
  responseHeaders?: Record<string, string>
  /** True when the client disconnected before the response was complete. */
  aborted: boolean
  /** True when the response was sent completely. */
  finished: boolean
}

/** One `tools/call` a test origin handled, updated in place when its handler ends. */
export interface ToolInvocation {
  readonly name: string
  readonly arguments: Record<string, unknown>
  readonly sessionId?: string
  readonly requestId: string | number
  /** `cancelled` when the handler's signal fired (legacy: `notifications/cancelled`; modern: disconnect). */
  status: 'running' | 'completed' | 'failed' | 'cancelled'
}

/** Events a recorder emits; each carries the (mutable) record. */
export interface RecorderEvents {
  request: [RecordedCall]
  response: [RecordedCall]
  aborted: [RecordedCall]
  finished: [RecordedCall]
  invocation: [ToolInvocation]
  invocationEnd: [ToolInvocation]
}

/** Joins Node's header object into single strings. */
export function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** Options for the `waitFor*` helpers. */
export interface WaitOptions {
  /** Reject after this long (default 10 s) so a missing event fails the test instead of hanging it. */
  timeoutMs?: number
}

/** The list of calls plus an event stream over it. */
export class CallRecorder {
  readonly calls: RecordedCall[] = []
  readonly invocations: ToolInvocation[] = []
  readonly events = new EventEmitter<RecorderEvents>()
  #seq = 0

  /** Records a request whose body has been read. */
  begin(method: string, url: string, headers: IncomingHttpHeaders, rawBody: string): RecordedCall {
    this.#seq += 1
    const call: RecordedCall = {
      seq: this.#seq,
      method,
      url,
      headers: flattenHeaders(headers),
      rawBody,
      body: parseJson(rawBody),
      time: Date.now(),
      aborted: false,
      finished: false,
    }
    this.calls.push(call)
    this.events.emit('request', call)
    return call
  }

  /** Marks the response head as sent. */
  responded(call: RecordedCall, status: number, headers: Record<string, string>): void {
    call.status = status
    call.responseHeaders = headers
    this.events.emit('response', call)
  }

  /** Marks the response as complete. */
  finish(call: RecordedCall): void {
    if (call.finished || call.aborted) return
    call.finished = true
    this.events.emit('finished', call)
  }

  /** Marks that the client disconnected before the response completed. */
  abort(call: RecordedCall): void {
    if (call.finished || call.aborted) return
    call.aborted = true
    this.events.emit('aborted', call)
  }

  /** Records the start of a tool handler; call `end` on the result when it returns. */
  invoke(
    name: string,
    args: Record<string, unknown>,
    requestId: string | number,
    sessionId: string | undefined,
  ): { invocation: ToolInvocation; end: (status: ToolInvocation['status']) => void } {
    const invocation: ToolInvocation = { name, arguments: args, requestId, status: 'running', ...(sessionId ? { sessionId } : {}) }
    this.invocations.push(invocation)
    this.events.emit('invocation', invocation)
    const end = (status: ToolInvocation['status']): void => {
      invocation.status = status
      this.events.emit('invocationEnd', invocation)
    }
    return { invocation, end }
  }

  /** Forgets recorded calls and invocations (sequence numbers keep counting). */
  clear(): void {
    this.calls.length = 0
    this.invocations.length = 0
  }

  /** Resolves when a tool invocation matching `match` has ended (completed, failed or cancelled). */
  waitForInvocationEnd(match: (inv: ToolInvocation) => boolean, opts?: WaitOptions): Promise<ToolInvocation> {
    const done = (inv: ToolInvocation): boolean => inv.status !== 'running' && match(inv)
    const existing = this.invocations.find(done)
    if (existing) return Promise.resolve(existing)
    const timeoutMs = opts?.timeoutMs ?? 10_000
    return new Promise((resolve, reject) => {
      const listener = (inv: ToolInvocation): void => {
        if (!done(inv)) return
        cleanup()
        resolve(inv)
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`no matching tool invocation ended within ${timeoutMs} ms`))
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        this.events.off('invocationEnd', listener)
      }
      this.events.on('invocationEnd', listener)
    })
  }

  /** Resolves with the first call (already recorded or future) matching `match`. */
  waitForCall(match: (call: RecordedCall) => boolean, opts?: WaitOptions): Promise<RecordedCall> {
    return this.#waitFor('request', match, opts)
  }

  /** Resolves when a call matching `match` has been aborted by its client. */
  waitForAbort(match: (call: RecordedCall) => boolean = () => true, opts?: WaitOptions): Promise<RecordedCall> {
    return this.#waitFor('aborted', (c) => c.aborted && match(c), opts)
  }

  /** Resolves when a call matching `match` has sent its response head (e.g. a GET stream is open). */
  waitForResponse(match: (call: RecordedCall) => boolean, opts?: WaitOptions): Promise<RecordedCall> {
    return this.#waitFor('response', (c) => c.status !== undefined && match(c), opts)
  }

  #waitFor(event: 'request' | 'response' | 'aborted' | 'finished', match: (call: RecordedCall) => boolean, opts?: WaitOptions): Promise<RecordedCall> {
    const existing = this.calls.find(match)
    if (existing) return Promise.resolve(existing)
    const timeoutMs = opts?.timeoutMs ?? 10_000
    return new Promise((resolve, reject) => {
      const listener = (call: RecordedCall): void => {
        if (!match(call)) return
        cleanup()
        resolve(call)
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`no matching '${event}' within ${timeoutMs} ms (${this.calls.length} calls recorded)`))
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        this.events.off(event, listener)
      }
      this.events.on(event, listener)
    })
  }
}
