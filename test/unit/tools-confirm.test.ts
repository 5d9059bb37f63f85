/**
 * Sensitive calls confirmed by their user (src/tools/approval.ts), against the real `ToolPins` object in
 * workerd: the 2026-07-28 MRTR challenge and its single-use redemption, continuations of an origin's own
 * MRTR exchange, the legacy hold-and-answer rendezvous, and clients that cannot be asked.
 */
import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { EventSink, readEvents } from '../../src/audit/sink'
import { compilePolicy } from '../../src/inspect/policy'
import type { JsonObject, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from '../../src/mcp/jsonrpc'
import { Exchange } from '../../src/proxy/exchange'
import { TenantConfig } from '../../src/tenant/config'
import { deliverAnswer, isConfirmationAnswer } from '../../src/tools/confirm-session'
import { CONFIRM_KEY } from '../../src/tools/confirm-wire'
import type { ToolGate, GateDecision, HeldCall } from '../../src/tools/gate'
import { MAX_WAITING_CALLS_PER_IDENTITY } from '../../src/tools/pin-types'
import { testGate } from './tools-support'

const ORIGIN = 'https://bank.example/mcp'
let seq = 0

interface GateOptions {
  era?: 'legacy' | 'modern'
  identity?: string
  sessionId?: string
  monitor?: boolean
  tenantId?: string
  version?: number
}

function gateFor(tools: unknown, opts: GateOptions = {}) {
  return testGate({ pinning: 'off', ...(tools as object) }, { ...opts, origin: ORIGIN, prefix: 'confirm', era: opts.era ?? 'modern' })
}

const SENSITIVE = { requireApproval: ['transfer_*'] }
const FORM = { elicitation: { form: {} } }
let id = 100

/** A 2026-07-28 call declaring `capabilities` in its `_meta` (and optionally carrying retry fields). */
function modernCall(args: JsonObject, capabilities: JsonObject = FORM, extra: JsonObject = {}): JsonRpcRequest {
  const _meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': capabilities }
  return { jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'transfer_funds', arguments: args, _meta, ...extra } }
}

const legacyCall = (args: JsonObject): JsonRpcRequest => ({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'transfer_funds', arguments: args } })

function answerOf(d: GateDecision): JsonRpcResponse {
  if (!('answer' in d)) throw new Error(`expected an answer, got ${JSON.stringify(d)}`)
  return d.answer
}
function forwarded(d: GateDecision): JsonRpcMessage {
  if (!('forward' in d)) throw new Error(`expected a forward, got ${JSON.stringify(d)}`)
  return d.forward
}
function heldOf(d: GateDecision): HeldCall {
  if (!('hold' in d)) throw new Error(`expected a held call, got ${JSON.stringify(d)}`)
  return d.hold
}
const stateOf = (r: JsonRpcResponse): string => ('result' in r ? (r.result['requestState'] as string) : '')
const accept = (confirm: unknown): JsonObject => ({ inputResponses: { [CONFIRM_KEY]: { action: 'accept', content: { confirm } } as JsonObject } })
const retry = (challenge: JsonRpcResponse, args: JsonObject, responses: JsonObject): JsonRpcRequest => modernCall(args, FORM, { ...responses, requestState: stateOf(challenge) })

describe('2026-07-28: confirmation through an input_required result', () => {
  it('asks with one boolean form, then forwards the confirmed retry once, without the firewall’s parts', async () => {
    const { gate, tenantId } = gateFor(SENSITIVE, { identity: 'alice' })
    const first = modernCall({ amount: 100, to: 'bob' })
    const challenge = answerOf(await gate.decide(first))
    expect(challenge).toEqual({
      jsonrpc: '2.0',
      id: first.id,
      result: {
        resultType: 'input_required',
        inputRequests: {
          [CONFIRM_KEY]: {
            method: 'elicitation/create',
            params: {
              mode: 'form',
              message: 'The MCP firewall needs your confirmation before the tool "transfer_funds" on bank.example runs with these arguments:\n{"amount":100,"to":"bob"}\nAllow this call once?',
              requestedSchema: {
                type: 'object',
                properties: { confirm: { type: 'boolean', title: 'Allow this call', description: 'Run the tool once, with exactly the arguments shown.', default: false } },
                required: ['confirm'],
              },
            },
          },
        },
        requestState: expect.stringMatching(/^mcpfw1\.a\.[0-9a-f]{32}$/),
      },
    })
    // The operator still sees the request and could grant it instead.
    expect(await env.TOOL_PINS.getByName(tenantId).listCalls()).toMatchObject([{ tool: 'transfer_funds', identity: 'alice', grantedBy: null }])

    const confirmed = retry(challenge, { amount: 100, to: 'bob' }, accept(true))
    const out = forwarded(await gate.decide(confirmed))
    expect(out).toEqual({ ...confirmed, params: { name: 'transfer_funds', arguments: { amount: 100, to: 'bob' }, _meta: confirmed.params?.['_meta'] } })
    expect(await env.TOOL_PINS.getByName(tenantId).listCalls()).toEqual([]) // granted by the user and used

    // The same state again: used up, so the user is asked anew (never forwarded).
    const replay = answerOf(await gate.decide(retry(challenge, { amount: 100, to: 'bob' }, accept(true))))
    expect(replay).toMatchObject({ result: { resultType: 'input_required' } })
    expect(stateOf(replay)).not.toBe(stateOf(challenge))
  })

  it.each([
    ['decline', { inputResponses: { [CONFIRM_KEY]: { action: 'decline' } } }],
    ['cancel', { inputResponses: { [CONFIRM_KEY]: { action: 'cancel' } } }],
    ['confirm: false', accept(false)],
    ['confirm: "yes"', accept('yes')],
  ])('refuses the call with the usual clear error on %s', async (_name, responses) => {
    const { gate } = gateFor(SENSITIVE)
    const challenge = answerOf(await gate.decide(modernCall({ amount: 5 })))
    const refused = answerOf(await gate.decide(retry(challenge, { amount: 5 }, responses as JsonObject)))
    expect(refused).toMatchObject({
      error: { code: -31001, message: 'Blocked by MCP firewall: this call needs an approval; ask an administrator to approve it, then retry', data: { reason: 'approval-required', approvalId: expect.stringMatching(/^[0-9a-f]{24}$/), confirmation: 'declined' } },
    })
  })

  it('never lets a state stand for another call, another caller, a forgery or an expired question', async () => {
    const { gate, tenantId } = gateFor(SENSITIVE, { identity: 'alice' })
    const challenge = answerOf(await gate.decide(modernCall({ amount: 1 })))
    const isChallenge = (d: GateDecision) => expect(answerOf(d)).toMatchObject({ result: { resultType: 'input_required' } })
    isChallenge(await gate.decide(retry(challenge, { amount: 1000 }, accept(true)))) // other arguments
    const mallory = gateFor(SENSITIVE, { identity: 'mallory', tenantId }).gate
    isChallenge(await mallory.decide(retry(challenge, { amount: 1 }, accept(true)))) // other identity
    isChallenge(await gate.decide(modernCall({ amount: 1 }, FORM, { ...accept(true), requestState: `mcpfw1.a.${'0'.repeat(32)}` }))) // forged
    isChallenge(await gate.decide(modernCall({ amount: 1 }, FORM, { ...accept(true), requestState: 'anything the origin might say' })))
    await runInDurableObject(env.TOOL_PINS.getByName(tenantId), (_, state) => void state.storage.sql.exec(`UPDATE confirmations SET expires_at = 0`))
    isChallenge(await gate.decide(retry(challenge, { amount: 1 }, accept(true)))) // expired
  })

  it('caps the questions one caller leaves open, so it cannot use up the tenant’s and lock other users out', async () => {
    const { gate, tenantId } = gateFor(SENSITIVE, { identity: 'greedy' })
    for (let i = 0; i < 100; i++) expect(answerOf(await gate.decide(modernCall({ amount: i })))).toMatchObject({ result: { resultType: 'input_required' } })
    // Not asked, and not recorded for an operator either: its calls waiting for one passed its share long ago.
    expect(answerOf(await gate.decide(modernCall({ amount: 100 })))).toMatchObject({ error: { code: -31001, data: { reason: 'approval-requests-full' } } })
    const alice = gateFor(SENSITIVE, { identity: 'alice', tenantId }).gate
    expect(answerOf(await alice.decide(modernCall({ amount: 1 })))).toMatchObject({ result: { resultType: 'input_required' } })
    await runInDurableObject(env.TOOL_PINS.getByName(tenantId), (_, state) => void state.storage.sql.exec(`UPDATE confirmations SET expires_at = 0 WHERE identity = 'greedy'`))
    expect(answerOf(await gate.decide(modernCall({ amount: 101 })))).toMatchObject({ result: { resultType: 'input_required' } }) // expired ones no longer count
  })

  it('asks again when the retry carries the state but no answer to the question', async () => {
    const { gate } = gateFor(SENSITIVE)
    const challenge = answerOf(await gate.decide(modernCall({ amount: 2 })))
    expect(answerOf(await gate.decide(retry(challenge, { amount: 2 }, {})))).toMatchObject({ result: { resultType: 'input_required' } })
  })

  it.each([
    ['no elicitation capability', {}],
    ['URL-mode elicitation only', { elicitation: { url: {} } }],
  ])('refuses exactly as before for a client with %s', async (_name, capabilities) => {
    const { gate } = gateFor(SENSITIVE)
    const call = modernCall({ amount: 3 }, capabilities)
    expect(answerOf(await gate.decide(call))).toEqual({
      jsonrpc: '2.0',
      id: call.id,
      error: {
        code: -31001,
        message: 'Blocked by MCP firewall: this call needs an approval; ask an administrator to approve it, then retry',
        data: { requestId: expect.any(String), reason: 'approval-required', approvalId: expect.stringMatching(/^[0-9a-f]{24}$/) },
      },
    })
  })

  it('shows the user every argument: characters that render as nothing or break lines are written as escapes', async () => {
    const { gate } = gateFor(SENSITIVE)
    const to = 'bob\u200b\u202eevil\u2028\u2029\u0085\u00ad\ufeff'
    const challenge = answerOf(await gate.decide(modernCall({ amount: 1, to })))
    const requests = ('result' in challenge ? challenge.result['inputRequests'] : {}) as Record<string, { params: { message: string } }>
    const shown = requests[CONFIRM_KEY]?.params.message.split('\n')[1] ?? ''
    expect(shown).toBe('{"amount":1,"to":"bob\\u200b\\u202eevil\\u2028\\u2029\\u0085\\u00ad\\ufeff"}')
    expect(JSON.parse(shown)).toEqual({ amount: 1, to }) // still the JSON of the arguments the user allows
  })

  it('asks no user to allow arguments too long to show whole: the call waits for an operator instead', async () => {
    const { gate, tenantId } = gateFor(SENSITIVE)
    // Keys are shown sorted, so a long first member would push `to` past any cut.
    const call = modernCall({ amount: 1, memo: 'm'.repeat(1_000), to: 'mallory' })
    expect(answerOf(await gate.decide(call))).toMatchObject({ error: { code: -31001, data: { reason: 'approval-required', approvalId: expect.stringMatching(/^[0-9a-f]{24}$/) } } })
    expect(await env.TOOL_PINS.getByName(tenantId).listCalls()).toMatchObject([{ tool: 'transfer_funds' }])
  })

  it('treats an empty elicitation capability as form mode', async () => {
    const { gate } = gateFor(SENSITIVE)
    expect(answerOf(await gate.decide(modernCall({ amount: 4 }, { elicitation: {} })))).toMatchObject({ result: { resultType: 'input_required' } })
  })

  it('asks nobody when the tenant wants operator approvals only, and changes nothing in monitor mode', async () => {
    const operatorsOnly = gateFor({ ...SENSITIVE, approvalByElicitation: false }).gate
    expect(answerOf(await operatorsOnly.decide(modernCall({ amount: 6 })))).toMatchObject({ error: { data: { reason: 'approval-required' } } })
    const monitored = gateFor(SENSITIVE, { monitor: true }).gate
    const call = modernCall({ amount: 6 })
    expect(forwarded(await monitored.decide(call))).toBe(call)
  })

  it('lets an operator grant still run the call, taking the firewall’s parts out', async () => {
    const { gate, tenantId } = gateFor(SENSITIVE)
    const challenge = answerOf(await gate.decide(modernCall({ amount: 7 })))
    const [pending] = await env.TOOL_PINS.getByName(tenantId).listCalls()
    await env.TOOL_PINS.getByName(tenantId).grantCall({ id: pending?.id ?? '', by: 'operator' })
    const out = forwarded(await gate.decide(retry(challenge, { amount: 7 }, {})))
    expect(out).toMatchObject({ params: { name: 'transfer_funds', arguments: { amount: 7 } } })
    expect(Object.keys(('params' in out && out.params) || {})).toEqual(['name', 'arguments', '_meta'])
  })
})

describe('2026-07-28: an approved call the origin answers with its own input_required', () => {
  /** Confirms a call through the firewall's challenge and returns the forwarded retry. */
  async function confirmedCall(gate: ToolGate, args: JsonObject): Promise<JsonRpcRequest> {
    const challenge = answerOf(await gate.decide(modernCall(args)))
    return forwarded(await gate.decide(retry(challenge, args, accept(true)))) as JsonRpcRequest
  }
  const originAsks = (callId: JsonRpcRequest['id'], requestState?: string): JsonRpcMessage => ({
    jsonrpc: '2.0',
    id: callId,
    result: { resultType: 'input_required', inputRequests: { otp: { method: 'elicitation/create', params: { mode: 'form', message: 'Code?', requestedSchema: { type: 'object', properties: {} } } } }, ...(requestState !== undefined ? { requestState } : {}) },
  })
  const stateIn = (m: JsonRpcMessage) => ('result' in m ? (m.result['requestState'] as string) : '')

  it('wraps the origin’s state so the retry keeps the approval and the origin gets its own state back', async () => {
    const { gate } = gateFor(SENSITIVE)
    const call = await confirmedCall(gate, { amount: 8 })
    const wrapped = await gate.beforeEmit(originAsks(call.id, 'origin-state.with.dots'), 'tools/call')
    expect(stateIn(wrapped)).toMatch(/^mcpfw1\.c\.[0-9a-f]{32}\.origin-state\.with\.dots$/)
    expect('result' in wrapped && wrapped.result['inputRequests']).toEqual({ otp: expect.objectContaining({ method: 'elicitation/create' }) })
    const next = modernCall({ amount: 8 }, FORM, { inputResponses: { otp: { action: 'accept', content: {} } }, requestState: stateIn(wrapped) })
    expect(forwarded(await gate.decide(next))).toMatchObject({ params: { requestState: 'origin-state.with.dots', inputResponses: { otp: { action: 'accept' } } } })
    // Single use: echoing it again is no approval.
    expect(answerOf(await gate.decide({ ...next, id: ++id }))).toMatchObject({ result: { resultType: 'input_required', inputRequests: { [CONFIRM_KEY]: expect.anything() } } })
  })

  it('wraps an origin input_required without state too, and forwards the retry without one', async () => {
    const { gate } = gateFor(SENSITIVE)
    const call = await confirmedCall(gate, { amount: 9 })
    const wrapped = await gate.beforeEmit(originAsks(call.id), 'tools/call')
    expect(stateIn(wrapped)).toMatch(/^mcpfw1\.c\.[0-9a-f]{32}$/)
    const out = forwarded(await gate.decide(modernCall({ amount: 9 }, FORM, { requestState: stateIn(wrapped) })))
    expect('params' in out && 'requestState' in (out.params ?? {})).toBe(false)
  })

  it('refuses to continue with a tampered origin state or a made-up continuation', async () => {
    const { gate } = gateFor(SENSITIVE)
    const call = await confirmedCall(gate, { amount: 10 })
    const wrapped = stateIn(await gate.beforeEmit(originAsks(call.id, 'step-1'), 'tools/call'))
    const asked = (d: GateDecision) => expect(answerOf(d)).toMatchObject({ result: { inputRequests: { [CONFIRM_KEY]: expect.anything() } } })
    asked(await gate.decide(modernCall({ amount: 10 }, FORM, { requestState: wrapped.replace('step-1', 'step-9') })))
    asked(await gate.decide(modernCall({ amount: 10 }, FORM, { requestState: `mcpfw1.c.${'a'.repeat(32)}.step-1` })))
  })

  it('leaves input_required answers to calls that needed no approval alone', async () => {
    const { gate } = gateFor(SENSITIVE)
    const plain: JsonRpcRequest = { jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'echo', arguments: {} } }
    expect(forwarded(await gate.decide(plain))).toBe(plain)
    const asks = originAsks(plain.id, 'origin-only')
    expect(await gate.beforeEmit(asks, 'tools/call')).toBe(asks)
  })
})

describe('monitor mode: a sensitive call goes on, and the approvals are left for enforce mode', () => {
  const originAsks = (callId: JsonRpcRequest['id']): JsonRpcMessage => ({
    jsonrpc: '2.0',
    id: callId,
    result: { resultType: 'input_required', inputRequests: { otp: { method: 'elicitation/create', params: { mode: 'form', message: 'Code?', requestedSchema: { type: 'object', properties: {} } } } }, requestState: 'origin-state' },
  })
  async function eventsOf(sink: EventSink, tenantId: string) {
    sink.flush()
    await sink.settled()
    return (await readEvents(env, tenantId, 10)).map((e) => [e.verdict, e.monitor, e.ruleIds])
  }

  it('logs the refusal it would have given, records no request for an operator and asks nobody', async () => {
    const { gate, tenantId, sink } = gateFor(SENSITIVE, { monitor: true, identity: 'alice' })
    const call = modernCall({ amount: 20 })
    expect(forwarded(await gate.decide(call))).toBe(call)
    expect(await env.TOOL_PINS.getByName(tenantId).listCalls()).toEqual([])
    expect(await eventsOf(sink, tenantId)).toEqual([['block', true, ['tool-call-approval-required']]])
  })

  it('leaves an operator’s grant for the call unused, and leaves the origin’s input_required answer alone', async () => {
    const enforced = gateFor(SENSITIVE, { identity: 'alice' })
    const tenantId = enforced.tenantId
    const monitored = gateFor(SENSITIVE, { monitor: true, identity: 'alice', tenantId, version: 2 })
    const pins = env.TOOL_PINS.getByName(tenantId)
    expect(answerOf(await enforced.gate.decide(modernCall({ amount: 21 }, {})))).toMatchObject({ error: { data: { reason: 'approval-required' } } })
    const [pending] = await pins.listCalls()
    await pins.grantCall({ id: pending?.id ?? '', by: 'operator' })

    const call = modernCall({ amount: 21 }, {})
    expect(forwarded(await monitored.gate.decide(call))).toBe(call)
    // Monitor mode rewrites nothing: not the origin's MRTR state either (wrapping it is how enforce mode keeps an approval).
    const asks = originAsks(call.id)
    expect(await monitored.gate.beforeEmit(asks, 'tools/call')).toBe(asks)
    expect(await pins.listCalls()).toMatchObject([{ id: pending?.id, grantedBy: 'operator' }])
    // The grant is still there once the tenant enforces.
    expect(forwarded(await enforced.gate.decide(modernCall({ amount: 21 }, {})))).toMatchObject({ params: { arguments: { amount: 21 } } })
    expect(await pins.listCalls()).toEqual([])
  })
})

describe('legacy: the call held on its stream while the user answers on another POST', () => {
  const initialize = (capabilities: JsonObject): JsonRpcRequest => ({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 't', version: '1' } } })

  async function session(capabilities: JsonObject = FORM, opts: GateOptions = {}) {
    const sessionId = `sess-${++seq}`
    const { gate, tenantId } = gateFor(SENSITIVE, { era: 'legacy', sessionId, ...opts })
    await gate.afterInitialize(initialize(capabilities), sessionId)
    const answer = (held: HeldCall, result: JsonObject, from = sessionId, identity = opts.identity ?? null) =>
      deliverAnswer({ env, tenantId, requestId: 'answer', sessionId: from, identity }, { jsonrpc: '2.0', id: held.question.id, result })
    return { gate, tenantId, sessionId, answer }
  }

  it('asks on the stream, and forwards the call once the answer arrives', async () => {
    const { gate, tenantId, answer } = await session()
    const call = legacyCall({ amount: 11 })
    const held = heldOf(await gate.decide(call, { streamable: true }))
    expect(held.call).toBe(call)
    expect(held.question).toEqual({
      jsonrpc: '2.0',
      id: expect.stringMatching(/^mcpfw-confirm-[0-9a-f]{32}$/),
      method: 'elicitation/create',
      params: {
        message: 'The MCP firewall needs your confirmation before the tool "transfer_funds" on bank.example runs with these arguments:\n{"amount":11}\nAllow this call once?',
        requestedSchema: expect.objectContaining({ required: ['confirm'] }),
      },
    })
    expect(isConfirmationAnswer({ jsonrpc: '2.0', id: held.question.id, result: {} })).toBe(true)
    const settled = held.settle() // waits in the object until the answer is written
    await answer(held, { action: 'accept', content: { confirm: true } })
    expect(await settled).toEqual({ forward: call })
    expect(await env.TOOL_PINS.getByName(tenantId).listCalls()).toEqual([])
  })

  it.each([
    ['declines', { action: 'decline' }],
    ['accepts without confirming', { action: 'accept', content: { confirm: false } }],
  ])('refuses the call with the usual error when the user %s', async (_name, result) => {
    const { gate, answer } = await session()
    const held = heldOf(await gate.decide(legacyCall({ amount: 12 }), { streamable: true }))
    const settled = held.settle()
    await answer(held, result)
    expect(await settled).toMatchObject({ answer: { error: { code: -31001, data: { reason: 'approval-required', confirmation: 'declined' } } } })
  })

  it('still asks a caller whose share of calls waiting for an operator is full, and refuses without an approval id if it declines', async () => {
    const { gate, tenantId, answer } = await session(FORM, { identity: 'busy' })
    await runInDurableObject(env.TOOL_PINS.getByName(tenantId), (_, state) => {
      for (let n = 0; n < MAX_WAITING_CALLS_PER_IDENTITY; n++) {
        state.storage.sql.exec(
          `INSERT INTO call_approvals (id, origin, tool, identity, arguments, requested_at, window_seconds) VALUES (?, ?, 'transfer_funds', 'busy', '{}', ?, 60)`,
          n.toString(16).padStart(24, 'e'), ORIGIN, Date.now(),
        )
      }
    })
    const declined = heldOf(await gate.decide(legacyCall({ amount: 16 }), { streamable: true }))
    expect(declined.question).toMatchObject({ method: 'elicitation/create' })
    const refusal = declined.settle()
    await answer(declined, { action: 'decline' })
    const refused = answerOf(await refusal)
    expect(refused).toMatchObject({ error: { code: -31001, data: { reason: 'approval-requests-full', confirmation: 'declined' } } })
    expect('approvalId' in (refused as { error: { data: object } }).error.data).toBe(false) // nothing recorded for an operator to grant
    const call = legacyCall({ amount: 17 })
    const confirmed = heldOf(await gate.decide(call, { streamable: true }))
    const settled = confirmed.settle()
    await answer(confirmed, { action: 'accept', content: { confirm: true } })
    expect(await settled).toEqual({ forward: call })
  })

  it('ignores an answer from another session, and times out into the refusal', async () => {
    const { gate, tenantId, answer } = await session()
    const held = heldOf(await gate.decide(legacyCall({ amount: 13 }), { streamable: true }))
    await answer(held, { action: 'accept', content: { confirm: true } }, 'someone-elses-session')
    const confirmationId = String(held.question.id).slice('mcpfw-confirm-'.length)
    const rows = await runInDurableObject(env.TOOL_PINS.getByName(tenantId), (_, state) => state.storage.sql.exec(`SELECT answer FROM confirmations WHERE id = ?`, confirmationId).toArray())
    expect(rows).toEqual([{ answer: null }])
    // The question's deadline, brought forward: the waiting call gives up and is refused.
    await runInDurableObject(env.TOOL_PINS.getByName(tenantId), (_, state) => void state.storage.sql.exec(`UPDATE confirmations SET expires_at = ? WHERE id = ?`, Date.now(), confirmationId))
    expect(await held.settle()).toMatchObject({ answer: { error: { code: -31001, data: { reason: 'approval-required', confirmation: 'timeout' } } } })
    expect(await runInDurableObject(env.TOOL_PINS.getByName(tenantId), (_, state) => state.storage.sql.exec(`SELECT id FROM confirmations`).toArray())).toEqual([])
  })

  it.each([
    ['the POST cannot carry an SSE answer', FORM, false, undefined],
    ['the session declared no elicitation', {}, true, undefined],
    ['the session declared URL mode only', { elicitation: { url: {} } }, true, undefined],
    ['another identity presents the session', FORM, true, 'mallory'],
  ])('refuses exactly as before when %s', async (_name, capabilities, streamable, otherIdentity) => {
    const { gate, sessionId, tenantId } = await session(capabilities as JsonObject, { identity: 'alice' })
    const asker = otherIdentity ? gateFor(SENSITIVE, { era: 'legacy', sessionId, identity: otherIdentity, tenantId }).gate : gate
    const d = await asker.decide(legacyCall({ amount: 14 }), { streamable: streamable as boolean })
    expect(answerOf(d)).toMatchObject({ error: { code: -31001, data: { reason: 'approval-required', approvalId: expect.any(String) } } })
    expect('confirmation' in ((answerOf(d) as { error: { data: object } }).error.data)).toBe(false)
  })

  it('refuses a call from a session it never saw initialize', async () => {
    const { gate } = gateFor(SENSITIVE, { era: 'legacy', sessionId: 'never-initialized' })
    expect(answerOf(await gate.decide(legacyCall({ amount: 15 }), { streamable: true }))).toMatchObject({ error: { data: { reason: 'approval-required' } } })
  })
})

describe('the firewall’s own request ids', () => {
  it('are never shown to the client when an origin uses them: the origin is declined on the client’s behalf', async () => {
    const config = TenantConfig.parse({ origin: { url: ORIGIN } })
    const exchange = new Exchange({ tenantId: 'ids', configVersion: 1, requestId: 'r', era: 'legacy', policy: compilePolicy('ids', 1, config), sink: new EventSink(env, 'ids', () => undefined) })
    const spoof: JsonRpcMessage = { jsonrpc: '2.0', id: `mcpfw-confirm-${'1'.repeat(32)}`, method: 'elicitation/create', params: { message: 'Allow?', requestedSchema: { type: 'object', properties: {} } } }
    expect(await exchange.fromServerChecked(spoof)).toEqual({ drop: true, answerOrigin: { jsonrpc: '2.0', id: spoof.id, result: { action: 'decline' } } })
  })
})
