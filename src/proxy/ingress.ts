/**
 * Ingress checks for the MCP endpoint, always in this order so a client gets the same answer for the
 * same mistake: 405 method → 406 Accept → 415 Content-Type → 413 size (counted as bytes stream in)
 * → -32700 parse → -32600 shape. Nothing is forwarded until all of them pass.
 */
import { FirewallError } from '../errors'

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
  const types = (accept ?? '').split(',').map((t) => t.split(';')[0]?.trim().toLowerCase() ?? '')
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
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/json') throw new FirewallError({ kind: 'unsupported_media_type' })
}

/**
 * Reads a body as UTF-8 text, counting bytes as they arrive and stopping at `maxBytes` (413) without
 * buffering more. A declared Content-Length over the cap is refused before reading anything.
 */
export async function readCappedText(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  declaredLength: string | null,
  tooLarge: () => FirewallError,
): Promise<string> {
  if (declaredLength !== null && Number(declaredLength) > maxBytes) throw tooLarge()
  if (!body) return ''
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const parts: string[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge()
    }
    parts.push(decoder.decode(value, { stream: true }))
  }
  parts.push(decoder.decode())
  return parts.join('')
}
