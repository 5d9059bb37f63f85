/**
 * Raw Streamable HTTP helpers for what the SDK clients cannot express: batch POSTs, requests without
 * a protocol header, `GET` + `Last-Event-ID`, hand-made headers, and a bare origin whose answers a test
 * writes by hand. Responses are read with the same SSE parser the SDK client uses.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createParser, type EventSourceMessage } from 'eventsource-parser'

/** The `Accept` value every Streamable HTTP POST must send. */
export const ACCEPT_BOTH = 'application/json, text/event-stream'

/** Everything read from one SSE response. */
export interface SseRead {
  readonly events: EventSourceMessage[]
  /** `retry:` values, in order. */
  readonly retries: number[]
  /** Comment lines (`: keepalive`), in order. */
  readonly comments: string[]
  /** JSON of every non-empty `data:` (a batch stays an array). */
  readonly messages: unknown[]
}

/** Options for {@link readSse}. */
export interface ReadSseOptions {
  /** Stop reading (and cancel the body) once this returns true for a parsed message. */
  until?: (message: unknown) => boolean
  /** Give up (cancel the body, return what was read) after this long (default 10 s). */
  timeoutMs?: number
}

/** Reads an SSE body until it ends, `until` matches or the timeout passes. */
export async function readSse(res: Response, opts: ReadSseOptions = {}): Promise<SseRead> {
  const events: EventSourceMessage[] = []
  const retries: number[] = []
  const comments: string[] = []
  const messages: unknown[] = []
  let stop = false
  const parser = createParser({
    onEvent: (e) => {
      events.push(e)
      if (e.data.trim() === '') return
      const message: unknown = JSON.parse(e.data)
      messages.push(message)
      if (opts.until?.(message)) stop = true
    },
    onRetry: (r) => retries.push(r),
    onComment: (c) => comments.push(c),
  })
  if (!res.body) return { events, retries, comments, messages }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  const timer = setTimeout(() => {
    stop = true
    reader.cancel().catch(() => undefined)
  }, opts.timeoutMs ?? 10_000)
  try {
    while (!stop) {
      const { done, value } = await reader.read()
      if (done) break
      parser.feed(value)
    }
  } catch {
    // Cancelled by the timeout.
  } finally {
    clearTimeout(timer)
    if (stop) await reader.cancel().catch(() => undefined)
  }
  return { events, retries, comments, messages }
}

/** Options for {@link postRaw}. */
export interface PostRawOptions {
  sessionId?: string
  /** `MCP-Protocol-Version`; omit for 2025-03-26 behaviour (no header). */
  protocolVersion?: string
  headers?: Record<string, string>
  signal?: AbortSignal
}

/** POSTs a JSON-RPC message or batch with the headers a Streamable HTTP client sends. */
export function postRaw(url: string, body: unknown, opts: PostRawOptions = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: ACCEPT_BOTH,
      ...(opts.sessionId ? { 'mcp-session-id': opts.sessionId } : {}),
      ...(opts.protocolVersion ? { 'mcp-protocol-version': opts.protocolVersion } : {}),
      ...opts.headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(opts.signal ? { signal: opts.signal } : {}),
  })
}

/** Opens a GET stream (optionally resuming after `lastEventId`). */
export function getStream(
  url: string,
  opts: { sessionId?: string; protocolVersion?: string; lastEventId?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(url, {
    method: 'GET',
    headers: {
      accept: 'text/event-stream',
      ...(opts.sessionId ? { 'mcp-session-id': opts.sessionId } : {}),
      ...(opts.protocolVersion ? { 'mcp-protocol-version': opts.protocolVersion } : {}),
      ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}),
      ...opts.headers,
    },
    ...(opts.signal ? { signal: opts.signal } : {}),
  })
}

/** A 2025-11-25 `initialize` request body. */
export function initializeRequest(id: number | string = 1, protocolVersion = '2025-11-25'): Record<string, unknown> {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'fw-e2e-raw', version: '0.0.1' } },
  }
}

/** Initializes a session by hand (initialize + initialized) and returns its id. */
export async function rawSession(url: string, protocolVersion = '2025-11-25'): Promise<string> {
  const init = await postRaw(url, initializeRequest(1, protocolVersion))
  const sessionId = init.headers.get('mcp-session-id')
  await init.text() // the SDK closes an SSE response stream after the response
  if (!init.ok || !sessionId) throw new Error(`initialize failed: HTTP ${init.status}`)
  const ack = await postRaw(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { sessionId, protocolVersion })
  if (ack.status !== 202) throw new Error(`notifications/initialized: HTTP ${ack.status}`)
  return sessionId
}

/** A bare HTTP origin on 127.0.0.1 whose every answer the test writes by hand. */
export interface RawOrigin {
  /** Its MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  readonly url: string
  close(): Promise<void>
}

/** Starts a {@link RawOrigin}: `handle` gets each request with its whole body as text. */
export async function startRawOrigin(handle: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<RawOrigin> {
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => handle(req, res, body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    async close() {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}

/**
 * A {@link RawOrigin} that holds an SSE stream open for the test to write on: a GET, or a POST `hold`
 * picks, is answered with stream headers and kept (`write`); every other POST with a body is recorded in
 * `answered` (the client's answers to the origin's requests) and gets 202.
 */
export interface HoldingOrigin extends RawOrigin {
  /** Writes one message as an SSE event on the held stream (nothing when none is held). */
  write(message: object): void
  /** Forgets the held stream, so the next GET or held POST is awaited afresh. */
  release(): void
  readonly held: () => boolean
  readonly answered: Array<{ id?: unknown; error?: { code: number } }>
}

export async function startHoldingOrigin(hold: (method: string | undefined) => boolean = () => false): Promise<HoldingOrigin> {
  let stream: ServerResponse | undefined
  const answered: HoldingOrigin['answered'] = []
  const raw = await startRawOrigin((req, res, body) => {
    const method = body === '' ? undefined : (JSON.parse(body) as { method?: string }).method
    if (req.method === 'GET' || hold(method)) {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.flushHeaders()
      stream = res
      return
    }
    if (body !== '') answered.push(JSON.parse(body) as { id?: unknown; error?: { code: number } })
    res.writeHead(202).end()
  })
  return {
    ...raw,
    write: (message) => void stream?.write(`data: ${JSON.stringify(message)}\n\n`),
    release: () => (stream = undefined),
    held: () => stream !== undefined,
    answered,
  }
}

