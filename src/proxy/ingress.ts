/**
 * Ingress checks for the MCP endpoint, always in this order so a client gets the same answer for the
 * same mistake: 405 method → 406 Accept → 415 Content-Type → 413 size (counted as bytes stream in)
 * → -32700 parse → -32600 shape. Nothing is forwarded until all of them pass.
 */
import { FirewallError } from '../errors'
import { acceptedTypes, mediaType } from './headers'

export const ALLOWED_METHODS = 'GET, POST, DELETE'

/** 405 unless the method is one Streamable HTTP uses (OPTIONS is answered by CORS before this). */
export function checkMethod(method: string): void {
  if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') {
    throw new FirewallError({ kind: 'method_not_allowed', allow: ALLOWED_METHODS })
  }
}

/**
 * 406 unless Accept lists what the transport requires: both JSON and SSE on POST, SSE on GET
 * (Streamable HTTP §"Sending Messages to the Server" / §"Listening for Messages").
 */
export function checkAccept(method: string, accept: string | null): void {
  const types = acceptedTypes(accept)
  const ok =
    method === 'POST'
      ? types.includes('application/json') && types.includes('text/event-stream')
      : method === 'GET'
        ? types.includes('text/event-stream')
        : true
  if (!ok) throw new FirewallError({ kind: 'not_acceptable' })
}

/** 415 unless a POST body is declared as JSON. */
export function checkContentType(method: string, contentType: string | null): void {
  if (method !== 'POST') return
  if (mediaType(contentType) !== 'application/json') throw new FirewallError({ kind: 'unsupported_media_type' })
}

/** Non-streaming, so one instance serves every request (each `decode` call is self-contained). */
const UTF8 = new TextDecoder()

/** Whether a Content-Encoding names a coding other than `identity` (the runtime decodes those as it reads). */
function encoded(coding: string | null): boolean {
  return coding !== null && coding.trim() !== '' && coding.trim().toLowerCase() !== 'identity'
}

/**
 * Reads a request's or response's body as UTF-8 text, refusing it (`tooLarge`) past `maxBytes`.
 *
 * A declared Content-Length over the cap is refused before reading anything. When the body is framed
 * by a Content-Length within the cap (and no Transfer-Encoding, which would override it), HTTP framing
 * already bounds it, so the runtime reads it natively in one call: reading a native stream chunk by
 * chunk from JavaScript was the largest single cost of a request in profiles. A Content-Encoding voids
 * that bound: the runtime decodes a compressed answer as it reads, so the Content-Length counts the
 * compressed bytes and a small gzip body can inflate to gigabytes in one `arrayBuffer()`. Any such body,
 * and any other, is read chunk by chunk, counting decoded bytes as they arrive and stopping at the cap
 * without buffering more.
 */
export async function readCappedText(message: Request | Response, maxBytes: number, tooLarge: () => Error): Promise<string> {
  const body = message.body
  const declared = message.headers.get('content-length')
  const length = declared !== null && /^\d{1,15}$/.test(declared) ? Number(declared) : undefined
  if (length !== undefined && length > maxBytes) throw tooLarge()
  if (!body) return ''
  if (length !== undefined && !message.headers.has('transfer-encoding') && !encoded(message.headers.get('content-encoding'))) {
    const bytes = new Uint8Array(await message.arrayBuffer())
    if (bytes.byteLength > maxBytes) throw tooLarge() // framing guarantees this cannot happen; the cap holds regardless
    return UTF8.decode(bytes)
  }
  const reader = chunkReader(body)
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge()
    }
    chunks.push(value.slice()) // a copy: the reader reuses its buffer, and a trickled body must not pin 64 KiB per byte
  }
  // One decode of the whole body: cheaper than a streaming decode per chunk, and the same text.
  if (chunks.length === 1 && chunks[0]) return UTF8.decode(chunks[0])
  const all = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    all.set(c, at)
    at += c.byteLength
  }
  return UTF8.decode(all)
}

/** Bytes asked for per read of a native body. */
const READ_BYTES = 64 * 1024

/** One read: a chunk, or the end of the body. */
export type ChunkResult = { done: false; value: Uint8Array } | { done: true; value?: Uint8Array | undefined }

/** Reads a body chunk by chunk; see {@link chunkReader}. */
export interface ChunkReader {
  /** The next chunk. It is valid until the next call: its buffer is reused. */
  read(): Promise<ChunkResult>
  cancel(): Promise<void>
}

/**
 * Reads a body in the largest chunks the runtime has ready: a BYOB read of up to 64 KiB where the body
 * is a byte stream (every fetch body is), else the default reader. In workerd each read from
 * JavaScript costs about the same whatever its size, and the default reader hands a fetch body over
 * 4 KiB at a time, so a 16 KiB answer took five reads instead of one or two.
 */
export function chunkReader(body: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ReadableStreamBYOBReader
  try {
    byob = body.getReader({ mode: 'byob' })
  } catch {
    const reader = body.getReader() // not a byte stream (a stream built in JavaScript)
    return { read: () => reader.read(), cancel: () => reader.cancel() }
  }
  let spare: ArrayBuffer | undefined
  return {
    async read() {
      const view = new Uint8Array(spare ?? new ArrayBuffer(READ_BYTES))
      spare = undefined
      const result = await byob.read(view)
      if (result.done) return { done: true, value: undefined }
      spare = result.value.buffer
      return { done: false, value: result.value }
    },
    cancel: () => byob.cancel(),
  }
}
