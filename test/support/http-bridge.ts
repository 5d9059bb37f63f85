/**
 * A minimal node:http ⇄ web-standard `Request`/`Response` bridge for the test origins. Written here
 * (rather than using the SDK's Node wrapper) so the harness sees the exact status and headers the SDK
 * transport produced and notices the moment a client disconnects mid-stream.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CallRecorder, RecordedCall } from './recorder.js'

/** Largest request body the test origins read (bigger than the SDK's 4 MiB default so its 413 is reachable). */
const MAX_BODY_BYTES = 64 * 1024 * 1024

/** Reads a whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
    size += buf.length
    if (size > MAX_BODY_BYTES) throw new Error('request body too large for the test origin')
    chunks.push(buf)
  }
  return Buffer.concat(chunks)
}

/** Builds the web `Request` the SDK transports expect from a Node request whose body was already read. */
export function toWebRequest(req: IncomingMessage, body: Buffer, signal: AbortSignal): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
  }
  const host = req.headers.host ?? '127.0.0.1'
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && body.length > 0
  return new Request(`http://${host}${req.url ?? '/'}`, {
    method: req.method ?? 'GET',
    headers,
    body: hasBody ? new Uint8Array(body) : null,
    signal,
  })
}

/**
 * Writes a web `Response` to a Node response, streaming the body chunk by chunk (SSE must not be
 * buffered). Records the head, completion, or the client's disconnect on `call`.
 */
export async function sendWebResponse(
  res: ServerResponse,
  response: Response,
  call: RecordedCall,
  recorder: CallRecorder,
): Promise<void> {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  res.writeHead(response.status, headers)
  res.flushHeaders()
  recorder.responded(call, response.status, headers)
  if (!response.body) {
    res.end()
    return
  }
  const reader = response.body.getReader()
  const onClose = (): void => {
    // The client went away: cancelling the body lets the SDK transport drop the stream.
    reader.cancel().catch(() => undefined)
  }
  res.once('close', onClose)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (res.destroyed) break
      if (!res.write(value)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve))
    }
  } catch {
    // A cancelled or errored body ends the response below.
  } finally {
    res.off('close', onClose)
    if (!res.destroyed) res.end()
  }
}

/** A JSON-RPC error response with `id: null` (the shape SDK transports use for HTTP-level errors). */
export function jsonRpcErrorResponse(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

/** What a request handler returns: the response, and optionally work to do once it has been sent. */
export interface Handled {
  readonly response: Response
  /** Runs after the body was fully written or the client disconnected (e.g. close a per-request server). */
  readonly done?: () => Promise<void> | void
}

/**
 * Wires recording and abort tracking around one request and hands the handler a web `Request`.
 * The request's `signal` aborts when the client disconnects before the response is complete.
 */
export async function serveRecorded(
  req: IncomingMessage,
  res: ServerResponse,
  recorder: CallRecorder,
  handler: (request: Request, call: RecordedCall) => Promise<Handled>,
): Promise<void> {
  const body = await readBody(req)
  const call = recorder.begin(req.method ?? 'GET', req.url ?? '/', req.headers, body.toString('utf8'))
  const abort = new AbortController()
  res.once('close', () => {
    if (res.writableFinished) {
      recorder.finish(call)
    } else {
      recorder.abort(call)
      abort.abort()
    }
  })
  let handled: Handled
  try {
    handled = await handler(toWebRequest(req, body, abort.signal), call)
  } catch (err) {
    handled = { response: new Response(JSON.stringify({ error: String(err) }), { status: 500, headers: { 'content-type': 'application/json' } }) }
  }
  try {
    await sendWebResponse(res, handled.response, call, recorder)
  } finally {
    await handled.done?.()
  }
}

/** Listens on 127.0.0.1 (port 0 = any free port) and returns the bound port. */
export function listenLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/** Closes a server and every open connection (long-lived SSE streams would otherwise keep it open). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
