/**
 * The firewall listing an origin's tools (or prompts) itself, with an `fw-` request id, when a client
 * calls a tool before any list went through the firewall: the definition is then pinned (or held) before
 * the call is decided, instead of refusing every call a client makes from a list it cached earlier.
 *
 * The request goes to the same origin with the caller's own session, protocol version and credentials
 * (so the list is the one this user would see), is never shown to the client, and follows `nextCursor`
 * for at most MAX_PAGES pages, all within the origin's timeout (headers and bodies), and stops once past
 * MAX_LISTED_DEFINITIONS definitions (the gate refuses such a list). When the origin is
 * down (unreachable, timed out, 5xx) or refuses the caller's credentials (401/403, with its challenge),
 * the lister throws that failure, so the caller answers with it as if the call had been forwarded; any
 * other failure yields null and the call is refused as unreviewed. Either way the call never reaches
 * the origin.
 */
import type { JsonObject, JsonRpcMessage, JsonRpcRequest } from '../mcp/jsonrpc'
import { getOwn, isJsonObject, parseJsonBody } from '../mcp/jsonrpc'
import { rewriteParamHeaders } from '../mcp/headers2026'
import { SseFramer } from '../mcp/sse'
import { FirewallError } from '../errors'
import { forward } from '../proxy/forward'
import type { OriginLog } from '../proxy/forward'
import { readCappedText } from '../proxy/ingress'
import { mediaType } from '../proxy/headers'
import { scrubLent } from '../proxy/lent-secrets'
import { MAX_LISTED_DEFINITIONS } from './pin-types'

const MAX_PAGES = 10

/**
 * Failures the call itself would have met: the client is told those, not that the tool is unreviewed
 * (an auth refusal carries the challenge an SDK client needs to refresh its token).
 */
const RELAYED = new Set(['origin_unreachable', 'origin_timeout', 'origin_error', 'origin_refused'])

/** Lists one kind of definition from the origin; null when it could not. */
export type OriginLister = (method: 'tools/list' | 'prompts/list', like: JsonRpcRequest) => Promise<JsonObject[] | null>

export interface OriginListerOptions {
  url: URL
  /** Headers for the origin (the caller's session, version and credentials). */
  headers: () => Promise<Headers>
  era: 'legacy' | 'modern'
  timeoutMs: number
  maxBytes: number
  maxDepth: number
  /** Whose request the list is made for, for the `origin_failed` log event. */
  log: OriginLog
  /**
   * What the firewall lends the origin for this caller (its credential, the identity assertion; filled in
   * as `headers` is called): an origin that echoes them in a definition must not have them pinned, where
   * reviewers read it through the admin API.
   */
  lent?: readonly string[]
}

/** Builds the lister for one client request. */
export function originLister(opts: OriginListerOptions): OriginLister {
  return async (method, like) => {
    const key = method === 'tools/list' ? 'tools' : 'prompts'
    const out: JsonObject[] = []
    let cursor: string | undefined
    // One deadline for the whole list: forward() times only the headers, and a body may stall.
    const deadline = AbortSignal.timeout(opts.timeoutMs)
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const id = `fw-${crypto.randomUUID()}`
        const params: JsonObject = {}
        if (cursor !== undefined) params['cursor'] = cursor
        // 2026-07-28 requests carry the protocol version and client info in `_meta`: reuse the caller's.
        const meta = like.params ? getOwn(like.params, '_meta') : undefined
        if (opts.era === 'modern' && isJsonObject(meta)) params['_meta'] = meta
        const request: JsonRpcRequest = { jsonrpc: '2.0', id, method, params }
        let headers = await opts.headers()
        if (opts.era === 'modern') headers = rewriteParamHeaders(headers, request)
        headers.set('content-type', 'application/json')
        headers.set('accept', 'application/json, text/event-stream')
        const { response, abort } = await forward({ url: opts.url, method: 'POST', headers, body: JSON.stringify(request) }, { timeoutMs: opts.timeoutMs, clientSignal: deadline, log: opts.log })
        const answer = withoutLent(await readAnswer(response, id, opts).finally(abort), opts)
        if (!answer || !('result' in answer)) return null
        const entries = getOwn(answer.result, key)
        if (!Array.isArray(entries)) return null
        for (const e of entries) if (isJsonObject(e)) out.push(e)
        // Too long for the gate to judge: no further page is fetched, and the caller refuses the list.
        if (out.length > MAX_LISTED_DEFINITIONS) return out
        const next = getOwn(answer.result, 'nextCursor')
        if (typeof next !== 'string' || next === '') return out
        cursor = next
      }
      return out
    } catch (err) {
      const problem = deadline.aborted ? ({ kind: 'origin_timeout' } as const) : err instanceof FirewallError ? err.problem : undefined
      console.error(JSON.stringify({ event: 'tool_self_list_failed', method, error: problem?.kind ?? String(err) }))
      if (problem && RELAYED.has(problem.kind)) throw new FirewallError(problem)
      return null
    }
  }
}

/** `answer` with what the firewall lent the origin replaced, as every server message bound for the client has it. */
function withoutLent(answer: JsonRpcMessage | null, opts: OriginListerOptions): JsonRpcMessage | null {
  const scrubbed = answer && opts.lent ? scrubLent(answer, opts.lent) : null
  if (scrubbed === null) return answer
  console.warn(JSON.stringify({ event: 'origin_echoed_lent_secret', requestId: opts.log.requestId, tenant: opts.log.tenant }))
  return scrubbed
}

/** The response with `id` from a JSON or SSE answer, or null. */
async function readAnswer(response: Response, id: string, opts: OriginListerOptions): Promise<JsonRpcMessage | null> {
  const status = response.status
  if (status === 401 || status === 403) {
    const challenge = response.headers.get('www-authenticate')
    await response.body?.cancel().catch(() => undefined)
    throw new FirewallError({ kind: 'origin_refused', status, ...(challenge ? { challenge } : {}) })
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined)
    return null
  }
  const type = mediaType(response.headers.get('content-type'))
  if (type === 'application/json') {
    const text = await readCappedText(response, opts.maxBytes, () => new FirewallError({ kind: 'origin_response_too_large' }))
    return pick(text, id, opts.maxDepth)
  }
  if (type !== 'text/event-stream') {
    await response.body.cancel().catch(() => undefined)
    return null
  }
  const framer = new SseFramer({ maxLineBytes: opts.maxBytes, maxEventBytes: opts.maxBytes })
  const reader = response.body.getReader()
  try {
    for (;;) {
      const next = await reader.read()
      if (next.done) return null
      for (const item of framer.push(next.value)) {
        if (item.type !== 'event' || !item.hasData) continue
        const found = pick(item.data, id, opts.maxDepth)
        if (found) return found
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined)
  }
}

function pick(text: string, id: string, maxDepth: number): JsonRpcMessage | null {
  const parsed = parseJsonBody(text, { maxDepth })
  if (!parsed.ok) return null
  const messages = parsed.value.kind === 'batch' ? parsed.value.messages : [parsed.value.message]
  return messages.find((m) => !('method' in m) && m.id === id) ?? null
}
