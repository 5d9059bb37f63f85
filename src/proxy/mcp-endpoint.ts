/**
 * A tenant's MCP endpoint: Streamable HTTP POST, GET and DELETE through ingress checks, inspection
 * in both directions and forwarding (DESIGN.md, "One request, end to end", steps 1–8).
 */
import { FirewallError } from '../errors'
import type { Problem } from '../errors'
import { detectProtocol } from '../mcp/era'
import type { ProtocolDetection } from '../mcp/era'
import { checkRequestMetadataHeaders, rewriteParamHeaders } from '../mcp/headers2026'
import type { ParamHeaderBinding } from '../mcp/headers2026'
import { parseJsonBody } from '../mcp/jsonrpc'
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from '../mcp/jsonrpc'
import type { LoadedTenant } from '../tenant/store'
import { checkAccept, checkContentType, checkMethod, readCappedText } from './ingress'
import { checkBrowserOrigin, corsHeaders, preflight } from './cors'
import { checkTargetUrl } from './origin-url'
import { urlPolicy } from './url-policy-env'
import { withRequestMetadata } from './headers'
import { forward } from './forward'
import { Exchange } from './exchange'
import { toolNameOf } from './messages'
import { jsonResponse, originLog, relay } from './relay'
import { modeARefusal, modeBRefusal, originChallenge } from './origin-refusal'
import { resumedStream } from './stream-state'
import { clientSession } from '../auth/session-binding'
import { servingState } from '../guard/kill-state'
import { authenticate } from '../auth/authenticate'
import type { ClientAuth } from '../auth/authenticate'
import { limitUnauthenticated } from '../abuse/mcp-guard'
import type { HeldCall } from '../tools/gate'
import { deliverAnswer, isConfirmationAnswer, type AnswerContext } from '../tools/confirm-session'
import { acceptsEventStream, confirmationStream } from './confirm-stream'
import { refuseClient } from '../budget/enforce'
import { currentConfig, followPolicy, MAX_JSON_DEPTH, newExchange } from './exchange-setup'

// The endpoint's depth cap, which the config dry run (src/tenant/dry-run.ts) parses with too.
export { MAX_JSON_DEPTH }

export interface EndpointRequest {
  request: Request
  env: Env
  waitUntil: (p: Promise<unknown>) => void
  tenant: LoadedTenant
  requestId: string
  /** Tools stopped by the kill switch, filled in by handleMcp. */
  killedTools?: readonly string[]
}

/**
 * An endpoint request whose client passed `authenticate`; `auth.identity` is the verified client, and
 * `sessionId` the session as the origin knows it (the client's `Mcp-Session-Id`, unwrapped in apiKey and
 * jwt mode), which every per-session record of the firewall is keyed by.
 */
export type AuthedRequest = EndpointRequest & { auth: ClientAuth; sessionId: string | null }

/** Handles one request to a tenant's MCP endpoint. Throws `FirewallError` for every refusal. */
export async function handleMcp(r: EndpointRequest): Promise<Response> {
  const { request, tenant } = r
  const config = tenant.record.config
  // Disabled or stopped by the kill switch (src/guard): whole tenant refused here, single tools in the Exchange.
  r.killedTools = (await servingState(tenant, r.env)).tools
  const browserOrigin = checkBrowserOrigin(request.headers.get('origin'), config.allowedOrigins)
  if (request.method === 'OPTIONS') {
    if (!browserOrigin) return new Response(null, { status: 204 })
    return preflight(browserOrigin, request.headers.get('access-control-request-headers'))
  }
  checkMethod(request.method)
  checkAccept(request.method, request.headers.get('accept'))
  checkContentType(request.method, request.headers.get('content-type'))

  const target = checkTargetUrl(config.origin.url, urlPolicy(r.env, new URL(request.url).hostname, config.hosts))
  if (!target.ok) {
    console.error(JSON.stringify({ event: 'origin_not_allowed', tenant: tenant.id, reason: target.reason }))
    throw new FirewallError({ kind: 'origin_not_allowed' })
  }
  // Client authentication (src/auth): before the body is read and before anything is forwarded.
  // Unauthenticated-request limits (src/abuse): a known abuser is refused 429 before any credential work.
  const outcome = await limitUnauthenticated(r, () => authenticate(r, target.url))
  const response = !outcome.ok
    ? outcome.response
    : await handleAuthed(r, outcome.auth, target.url).catch((err: unknown) => {
        throw outcome.auth.mode === 'passthrough' ? modeARefusal(r, err, target.url) : modeBRefusal(r, err)
      })
  // Mode B: the origin's own challenges describe another resource; never pass them on (§2.3).
  if (outcome.ok && outcome.auth.mode !== 'passthrough') response.headers.delete('www-authenticate')
  const challenge = outcome.ok && outcome.auth.mode === 'passthrough' ? response.headers.get('www-authenticate') : null
  if (challenge !== null) {
    const relayed = originChallenge(r, challenge, target.url)
    if (relayed === null) response.headers.delete('www-authenticate')
    else response.headers.set('www-authenticate', relayed)
  }
  if (browserOrigin) for (const [k, v] of Object.entries(corsHeaders(browserOrigin))) response.headers.set(k, v)
  return response
}

/**
 * A verified client's request. In apiKey and jwt mode the origin sees the firewall's credential for every
 * client, so the client's session id is the origin's bound to it (src/auth/session-binding.ts); the
 * session is settled before anything is read or forwarded, and the origin's id in the response bound.
 */
async function handleAuthed(r: EndpointRequest, auth: ClientAuth, originUrl: URL): Promise<Response> {
  const session = await clientSession(r, auth)
  const authed = { ...r, auth: session.auth, sessionId: session.sessionId }
  const response = r.request.method === 'POST' ? await handlePost(authed, originUrl) : await handleStreamOrDelete(authed, originUrl)
  return session.bindResponse(response)
}

async function handlePost(r: AuthedRequest, originUrl: URL): Promise<Response> {
  const { request, tenant } = r
  const config = tenant.record.config
  const text = await readCappedText(request, config.limits.maxRequestBytes, () => new FirewallError({ kind: 'payload_too_large' }))
  const parsed = parseJsonBody(text, { maxDepth: MAX_JSON_DEPTH })
  if (!parsed.ok) {
    throw new FirewallError(parsed.code === -32700 ? { kind: 'parse_error' } : { kind: 'invalid_request', reason: parsed.reason })
  }
  const proto = detectProtocol(request.headers, parsed.value)
  if (!proto.ok) {
    throw new FirewallError(protocolProblem(proto))
  }
  const isBatch = parsed.value.kind === 'batch'
  const messages = parsed.value.kind === 'batch' ? parsed.value.messages : [parsed.value.message]
  const single = parsed.value.kind === 'single' ? parsed.value.message : undefined
  if (proto.era === 'modern' && single) {
    // 2026-07-28: clients send requests and notifications only, and metadata headers mirror the body.
    if (!('method' in single)) throw new FirewallError({ kind: 'invalid_request', reason: 'clients must not send responses' })
    const check = checkRequestMetadataHeaders(request.headers, single)
    if (!check.ok) throw new FirewallError({ kind: 'header_mismatch', reason: check.reason }, idOf(single))
  }

  const exchange = newExchange(r, proto.era, originUrl) // originUrl: the gate may list the origin's tools itself
  exchange.init.ownAnswersOnly = true
  if (proto.era === 'modern' && single) {
    // Mcp-Param-* values travel beside the body; unknown ones are forwarded unchecked by the spec, so scan them.
    const blocked = exchange.checkParamHeaders(request.headers, single)
    if (blocked) {
      exchange.init.sink.flush()
      const id = idOf(single)
      if (id === null) return new Response(null, { status: 202, headers: { 'x-request-id': r.requestId } })
      return jsonResponse(exchange.blockedError(id, blocked), 200, r.requestId)
    }
  }
  const outgoing: JsonRpcMessage[] = []
  const answers: JsonRpcResponse[] = []
  const bytes = Math.ceil(text.length / messages.length)
  // A sensitive call can wait for its user's confirmation only on an SSE answer of its own (src/tools/approval.ts).
  const streamable = !isBatch && acceptsEventStream(request.headers.get('accept'))
  let held: HeldCall | undefined
  try {
    for (const m of messages) {
      // A client's answer to the firewall's own question: never forwarded, the origin asked nothing.
      if (isConfirmationAnswer(m)) {
        await deliverAnswer(answerContext(r), m)
        continue
      }
      const outcome = await exchange.fromClientChecked(m, bytes, { streamable }) // inspection, then pins / access / schema / approvals
      if ('forward' in outcome) outgoing.push(outcome.forward)
      else if ('answer' in outcome) answers.push(outcome.answer)
      else if ('hold' in outcome) held = outcome.hold
    }
  } catch (err) {
    // What the messages before it recorded (a block among them) is kept.
    exchange.init.sink.flush()
    // A failure that ends the whole POST (the origin down or refusing while the firewall lists it): a batch gets
    // it once, with id null, as when forwarding the batch fails.
    throw isBatch && err instanceof FirewallError ? new FirewallError(err.problem) : err
  }
  exchange.init.sink.flush()
  // 2026-07-28: the called tool's pinned schema (known now: the gate has looked it up, or listed the origin)
  // says which argument each `Mcp-Param-*` header mirrors (`x-mcp-header`), whatever its name; checked
  // again with those bindings before anything is charged or forwarded.
  const tool = proto.era === 'modern' && single ? toolNameOf(single) : undefined
  const bindings = tool !== undefined && exchange.init.tools && outgoing.length > 0 ? await exchange.init.tools.paramBindings(tool) : []
  if (single && bindings.length > 0) {
    const check = checkRequestMetadataHeaders(request.headers, single, { bindings })
    if (!check.ok) throw new FirewallError({ kind: 'header_mismatch', reason: check.reason }, idOf(single))
  }
  if (held) {
    const call = held.call
    return confirmationStream(held, {
      requestId: r.requestId,
      onSettled: () => exchange.init.sink.flush(),
      proceed: async () => {
        const refused = await stillAllowedAfterWait(r, exchange, call, originUrl)
        if (refused) return jsonResponse(refused, 200, r.requestId)
        return sendToOrigin(r, originUrl, exchange, { isBatch: false, single, outgoing: [call], answers: [], bindings })
      },
    })
  }
  return sendToOrigin(r, originUrl, exchange, { isBatch, single, outgoing, answers, bindings })
}

/** What a POST sends on once every message was checked. */
interface Checked {
  isBatch: boolean
  single: JsonRpcMessage | undefined
  outgoing: JsonRpcMessage[]
  /** Answers the firewall made itself (refusals), sent before the origin's. */
  answers: JsonRpcResponse[]
  /** 2026-07-28: where the called tool's `Mcp-Param-*` headers live in its arguments (its pinned schema). */
  bindings: ParamHeaderBinding[]
}

/** Charges the budget, forwards what passed and relays the origin's answer. */
async function sendToOrigin(r: AuthedRequest, originUrl: URL, exchange: Exchange, c: Checked): Promise<Response> {
  const { request, tenant } = r
  const config = tenant.record.config
  const { isBatch, single, outgoing, answers } = c
  // Requests and argument tokens are charged before anything is forwarded; a refused request never reaches the origin.
  const meter = exchange.init.meter
  // A `tasks/result` is refused up front too when its task's tool (recorded when the call created it) has no tokens left.
  const refusal = meter && outgoing.length > 0 ? await meter.admitClient(outgoing, (m) => exchange.pending.get(m.id)?.toolName) : null
  if (meter && refusal) {
    const only = outgoing.length === 1 && !isBatch ? outgoing[0] : undefined
    // A sensitive call refused here keeps the operator's approval it used: it never reached the origin.
    const giveBack = (ids: JsonRpcId[]) => exchange.init.tools?.refusedAfterDecision(ids)
    if (only && 'method' in only && 'id' in only) {
      const id = idOf(only)
      if (id !== null) await giveBack([id])
      throw new FirewallError(refusal, id) // one request: `Retry-After` too
    }
    const split = refuseClient(outgoing, refusal, meter)
    const refused = split.answers.map((a) => a.id).filter((id): id is JsonRpcId => id !== null)
    for (const id of refused) exchange.pending.delete(id)
    await giveBack(refused)
    outgoing.splice(0, outgoing.length, ...split.forward)
    answers.push(...split.answers)
  }

  if (outgoing.length === 0) {
    // Nothing reaches the origin: blocked requests are answered here (HTTP 200 so SDK clients raise
    // McpError with the code, §4.5); blocked notifications get the 202 the origin would have sent.
    if (answers.length === 0) return new Response(null, { status: 202, headers: { 'x-request-id': r.requestId } })
    return jsonResponse(isBatch ? answers : answers[0], 200, r.requestId)
  }

  let headers = await r.auth.originHeaders(request.headers)
  // 2026-07-28 metadata headers were checked against the body and scanned in handlePost: only they go on.
  if (exchange.init.era === 'modern' && single) headers = withRequestMetadata(headers, request.headers)
  if (exchange.init.era === 'modern' && outgoing[0] && single && (outgoing[0] !== single || c.bindings.length > 0)) {
    headers = rewriteParamHeaders(headers, outgoing[0], { bindings: c.bindings })
  }
  // The firewall forwards its own serialisation of exactly what it inspected, never the client's bytes,
  // labelled as what it is (UTF-8 JSON), whatever charset the client declared.
  const body = JSON.stringify(isBatch ? outgoing : outgoing[0])
  headers.set('content-type', 'application/json')
  const firstId = single ? idOf(single) : null
  const { response: upstream, abort } = await forward(
    { url: originUrl, method: 'POST', headers, body },
    { timeoutMs: config.origin.timeoutMs, clientSignal: request.signal, log: originLog(r) },
  ).catch((err: unknown) => {
    throw err instanceof FirewallError ? new FirewallError(err.problem, firstId) : err
  })
  // A legacy client declares elicitation only here: its session may later confirm sensitive calls.
  if (single && 'method' in single && 'id' in single && single.method === 'initialize' && upstream.ok) {
    await exchange.init.tools?.afterInitialize(single, upstream.headers.get('mcp-session-id'))
  }
  return relay(r, upstream, exchange, abort, answers, originUrl, { firstId, isBatch })
}

/**
 * The user may take a while to answer: a kill switch thrown meanwhile (tenant or tool) still stops the call,
 * and so does the client's credential lapsing or the tenant changing how its clients authenticate. A config
 * version published meanwhile applies, as it would on an open stream (`configFollower`): access lists that
 * now deny the tool to this caller refuse it as a new call would be (`enabled: false` refuses it too,
 * -31003), and the exchange is under that version from then on. Returns that refusal, or null to forward.
 */
async function stillAllowedAfterWait(r: AuthedRequest, exchange: Exchange, call: JsonRpcRequest, originUrl: URL): Promise<JsonRpcResponse | null> {
  // Through the isolate's cache, as the stream re-checks read it; unreadable keeps the version the call was held under.
  const latest = await currentConfig(r)
  const newer = latest !== null && latest.record.version > exchange.init.configVersion ? latest : null
  const tools = (await servingState(newer ?? r.tenant, r.env)).tools
  const tool = call.params?.['name']
  if (typeof tool === 'string' && tools.includes(tool)) throw new FirewallError({ kind: 'tenant_disabled' })
  if (!(await r.auth.stillAdmitted())) throw new FirewallError({ kind: 'client_unauthorised' }, call.id)
  if (!newer) return null
  await followPolicy(r, exchange, newer.record, originUrl)
  return exchange.init.tools?.accessRefusal(call) ?? null
}

/** Who answers a firewall question: the tenant, the session the POST carries and the verified identity. */
function answerContext(r: AuthedRequest): AnswerContext {
  return { env: r.env, tenantId: r.tenant.id, requestId: r.requestId, sessionId: r.sessionId, identity: r.auth.identity ?? null }
}

async function handleStreamOrDelete(r: AuthedRequest, originUrl: URL): Promise<Response> {
  const { request, tenant } = r
  const config = tenant.record.config
  const version = request.headers.get('mcp-protocol-version')
  // 2026-07-28 is POST only: GET and DELETE are answered 405 (§1.3 "Backward Compatibility").
  if (version === '2026-07-28') throw new FirewallError({ kind: 'method_not_allowed', allow: 'POST' })
  const proto = detectProtocol(request.headers, undefined)
  if (!proto.ok) throw new FirewallError(protocolProblem(proto))
  const exchange = newExchange(r, proto.era, originUrl)
  if (exchange.init.meter) await exchange.init.meter.ready() // server messages on the stream are counted as they pass
  // A GET stream answers only the requests of the POST stream it resumes, as that stream's ids say
  // (stream-state.ts); without them, none: the spec allows answers on a GET only when resuming.
  const last = request.method === 'GET' ? request.headers.get('last-event-id') : null
  const resumed = last !== null ? await resumedStream(r.env, tenant.id, exchange.init.sessionId, last) : null
  if (resumed === 'invalid') throw new FirewallError({ kind: 'invalid_request', reason: 'Last-Event-ID was not issued for this session' })
  if (resumed) await exchange.resume(resumed.requests)
  else exchange.init.ownAnswersOnly = true
  const headers = await r.auth.originHeaders(request.headers)
  if (resumed) headers.set('last-event-id', resumed.originId) // the origin's own id
  const { response: upstream, abort } = await forward(
    { url: originUrl, method: request.method, headers },
    { timeoutMs: config.origin.timeoutMs, clientSignal: request.signal, log: originLog(r) },
  )
  return relay(r, upstream, exchange, abort, [], originUrl, { firstId: null, isBatch: false, ...(resumed ? { resumed } : {}) })
}

function idOf(m: JsonRpcMessage): JsonRpcId | null {
  return 'id' in m ? m.id : null
}

/** Maps a failed protocol detection to the problem it is: a bad version, a header mismatch or a bad shape. */
function protocolProblem(p: Extract<ProtocolDetection, { ok: false }>): Problem {
  if (p.code === -32020) return { kind: 'header_mismatch', reason: p.reason }
  if (p.code === -32600) return { kind: 'invalid_request', reason: p.reason }
  return { kind: 'unsupported_protocol_version', code: p.code, ...(p.data?.supported ? { supported: [...p.data.supported] } : {}) }
}
