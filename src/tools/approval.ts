/**
 * Whether a call to a `requireApproval` tool may run (docs/tool-integrity.md, "Sensitive calls"). It may
 * when an operator granted exactly this call through the admin API within the window, or when the user
 * confirmed it through elicitation:
 *
 * - 2026-07-28: the firewall answers the call itself with an MRTR `input_required` result asking
 *   `elicitation/create`; the client's retry carries the answer under `CONFIRM_KEY` and the firewall's
 *   `requestState`, which is redeemed once, in the `ToolPins` object, for exactly this call and caller.
 * - 2025-06-18 / 2025-11-25: the call is held on its own SSE response while the question travels on it;
 *   the answer comes back on a separate POST and meets the held call in the `ToolPins` object.
 *
 * A client that declared no form elicitation (or a tenant with `approvalByElicitation: false`) gets the
 * refusal it always got. A call the origin answers with its own `input_required` keeps its approval for
 * the next leg through a continuation (`wrapContinuation`); a forged or replayed `requestState` finds no
 * row and is treated as no approval at all.
 *
 * In monitor mode the call goes on whatever is decided, so the step only reads: it records no request for
 * an operator, leaves an operator's grant unused for when the tenant enforces, and asks nobody. A retry
 * presenting a firewall `requestState` (issued before the switch) still redeems it: it is that retry's.
 */
import type { JsonObject, JsonRpcRequest, JsonRpcResponse, JsonRpcResultResponse, JsonValue } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'
import { canonicalJson } from './canonical'
import { sha256Hex } from '../hex'
import { unseenEscaped } from './unseen'
import {
  CONFIRM_KEY,
  allowsFormElicitation,
  confirmationParams,
  confirmationRequest,
  forOrigin,
  formatState,
  inputRequiredChallenge,
  isConfirmed,
  modernElicitation,
  parseState,
  type FirewallState,
} from './confirm-wire'
import { enforcing, refusal, type Refusal, type ToolGateInit } from './context'
import { MAX_APPROVABLE_ARGUMENTS, approvalIdOf, type ConfirmationOutcome } from './pin-types'

/** What the approval step decided for one call. */
export type Approval =
  /** Forward `message` (the call without the firewall's own parts). `confirmed`: the user just confirmed it. */
  | { granted: true; message: JsonRpcRequest; confirmed: boolean; callHash: string; grant?: OperatorGrant }
  | { refused: Refusal; extra: JsonObject }
  /** 2026-07-28: answer the call with this `input_required` result; the origin is not contacted. */
  | { challenge: JsonRpcResponse }
  /** Legacy: hold the call, send `question` on its stream, then `wait` for the user's answer. */
  | { held: HeldApproval }

/** An operator's grant this call used up: given back (`restoreGrant`) if the firewall refuses the call after all. */
export interface OperatorGrant {
  readonly id: string
  readonly usedAt: number
}

export interface HeldApproval {
  readonly question: JsonRpcRequest
  /** The call's approval id, or null when its request could not be recorded (`approval-requests-full`). */
  readonly approvalId: string | null
  wait(): Promise<ConfirmationOutcome | 'unavailable'>
}

export interface ApprovalOptions {
  /** The call is alone in a POST whose client accepts an SSE answer, so a legacy question can be asked on it. */
  streamable?: boolean
}

/** Decides a call to a tool matching `requireApproval`. */
export async function decideApproval(init: ToolGateInit, m: JsonRpcRequest, tool: string, args: JsonValue, opts: ApprovalOptions = {}): Promise<Approval> {
  const identity = init.identity ?? null
  const callHash = await sha256Hex(canonicalJson({ origin: init.origin, tool, identity, arguments: args }))
  const approvalId = approvalIdOf(callHash)
  const params = m.params ?? {}
  const state = init.era === 'modern' ? parseState(getOwn(params, 'requestState')) : null
  if (state) {
    const redeemed = await redeem(init, state, params, callHash)
    if (redeemed === 'granted') return { granted: true, message: forOrigin(m, state.kind === 'continue' ? state.originState : undefined), confirmed: state.kind === 'confirm', callHash }
    if (redeemed === 'declined') return { refused: 'approval-required', extra: { approvalId, confirmation: 'declined' } }
    if (redeemed === 'unavailable') return { refused: 'tool-pins-unavailable', extra: {} }
    // `invalid`: the state is not (or no longer) one the firewall issued for this call: as if it had none.
  }
  const argsJson = canonicalJson(args)
  // Nobody can be shown these arguments whole, so nobody can approve them: refused at once, with no
  // approval id to wait for, rather than recorded cut (keys are sorted: the caller would pick what a cut hides).
  if (unseenEscaped(argsJson).length > MAX_APPROVABLE_ARGUMENTS) return { refused: 'approval-arguments-too-long', extra: {} }
  if (!enforcing(init)) {
    const granted = await grantStanding(init, callHash)
    if (granted === 'unavailable') return { refused: 'tool-pins-unavailable', extra: {} }
    return granted ? { granted: true, message: forOrigin(m), confirmed: false, callHash } : { refused: 'approval-required', extra: {} }
  }
  const decision = await requestCall(init, tool, argsJson, callHash)
  if (decision === 'unavailable') return { refused: 'tool-pins-unavailable', extra: {} }
  if (decision !== 'denied' && decision !== 'full') return { granted: true, message: forOrigin(m), confirmed: false, callHash, grant: { id: approvalId, usedAt: decision.usedAt } }
  // `full`: too many calls wait for an operator already (the tenant's, or this caller's share), and this
  // one was not recorded: there is no approval id to give. Its user can still be asked (a confirmation
  // needs no request row), so questions left unanswered never lock a client out of being asked.
  const recorded = decision === 'denied'
  const asked = await ask(init, m, tool, argsJson, callHash, opts, recorded)
  return asked ?? (recorded ? { refused: 'approval-required', extra: { approvalId } } : { refused: 'approval-requests-full', extra: {} })
}

/**
 * An origin's `input_required` answer to an approved 2026-07-28 call: its `requestState` (or its
 * absence) is wrapped in a single-use continuation bound to the call, so the client's retry, which
 * echoes it, still counts as approved and gets the origin's own state back. Without it the retry would
 * need a second approval; with a bare origin state, anyone could claim to be continuing a call.
 */
export async function wrapContinuation(init: ToolGateInit, callHash: string, message: JsonRpcResultResponse): Promise<JsonRpcResultResponse | JsonRpcResponse> {
  const result = message.result
  if (getOwn(result, 'resultType') !== 'input_required') return message
  const raw = getOwn(result, 'requestState')
  const originState = typeof raw === 'string' ? raw : undefined
  try {
    const stateHash = originState === undefined ? null : await sha256Hex(originState)
    const opened = await stub(init).openContinuation({ callHash, identity: init.identity ?? null, stateHash, ttlMs: init.tools.approvalWindowSeconds * 1000 })
    if (!opened) throw new Error('openContinuation refused')
    const requestState = formatState({ kind: 'continue', id: opened.id, ...(originState !== undefined ? { originState } : {}) })
    return { ...message, result: { ...result, requestState } }
  } catch (err) {
    unavailable(init, 'call_continuation_unavailable', err)
    return refusal(message.id, init.requestId, 'tool-pins-unavailable')
  }
}

/**
 * Gives an operator's grant back for a call the firewall refused after the grant was used (its budget
 * ran out): the call never reached the origin, so the approval still stands. Best effort: a failure is
 * logged, and the operator grants the call again.
 */
export async function restoreGrant(init: ToolGateInit, grant: OperatorGrant): Promise<void> {
  const restored = await stub(init)
    .restoreCall({ id: grant.id, usedAt: grant.usedAt })
    .catch((err: unknown) => (unavailable(init, 'call_approval_restore_failed', err), true))
  if (!restored) console.log(JSON.stringify({ event: 'call_approval_not_restored', tenant: init.tenantId, requestId: init.requestId, approvalId: grant.id }))
}

/** Uses up a firewall state presented on a retry; `invalid` when it does not belong to this call and caller. */
async function redeem(init: ToolGateInit, state: FirewallState, params: JsonObject, callHash: string): Promise<ConfirmationOutcome | 'unavailable'> {
  const identity = init.identity ?? null
  try {
    if (state.kind === 'continue') {
      const stateHash = state.originState === undefined ? null : await sha256Hex(state.originState)
      return await stub(init).redeemConfirmation({ kind: 'continue', id: state.id, callHash, identity, stateHash })
    }
    if (!init.tools.approvalByElicitation) return 'invalid'
    const responses = getOwn(params, 'inputResponses')
    const answer = isJsonObject(responses) ? getOwn(responses, CONFIRM_KEY) : undefined
    // No answer to the firewall's question: ask again rather than refuse (mrtr.mdx §Error Handling).
    if (answer === undefined) return 'invalid'
    return await stub(init).redeemConfirmation({ kind: 'confirm', id: state.id, callHash, identity, confirmed: isConfirmed(answer) })
  } catch (err) {
    unavailable(init, 'call_confirmation_unavailable', err)
    return 'unavailable'
  }
}

/** Consumes an operator's grant for exactly this call, or records the request for one. */
async function requestCall(init: ToolGateInit, tool: string, argsJson: string, callHash: string): Promise<{ usedAt: number } | 'denied' | 'full' | 'unavailable'> {
  try {
    const d = await stub(init).requestCall({
      origin: init.origin,
      tool,
      identity: init.identity ?? null,
      callHash,
      arguments: argsJson,
      windowSeconds: init.tools.approvalWindowSeconds,
    })
    if (!d) return 'unavailable'
    return d.granted ? { usedAt: d.usedAt } : 'full' in d ? 'full' : 'denied'
  } catch (err) {
    unavailable(init, 'call_approval_unavailable', err)
    return 'unavailable'
  }
}

/**
 * Monitor mode: whether an operator's grant would let this call run, read without recording a request or
 * using the grant up, so that it is still there when the tenant enforces.
 */
async function grantStanding(init: ToolGateInit, callHash: string): Promise<boolean | 'unavailable'> {
  try {
    const granted = await stub(init).callGranted({ callHash })
    return granted ?? 'unavailable'
  } catch (err) {
    unavailable(init, 'call_approval_unavailable', err)
    return 'unavailable'
  }
}

/** Asks the user, when the tenant allows it and this client can be asked; null to refuse as before. */
async function ask(init: ToolGateInit, m: JsonRpcRequest, tool: string, argsJson: string, callHash: string, opts: ApprovalOptions, recorded: boolean): Promise<Approval | null> {
  if (!init.tools.approvalByElicitation || !enforcing(init)) return null
  const identity = init.identity ?? null
  const timeoutMs = init.tools.elicitationTimeoutSeconds * 1000
  const question = confirmationParams(tool, argsJson, originHost(init.origin), init.era === 'modern')
  if (question === null) return null // arguments too long to show whole: an operator decides
  try {
    if (init.era === 'modern') {
      if (!allowsFormElicitation(modernElicitation(m.params ?? {}))) return null
      const opened = await stub(init).openConfirmation({ kind: 'mrtr', callHash, identity, ttlMs: timeoutMs })
      return opened ? { challenge: inputRequiredChallenge(m.id, question, opened.id) } : null
    }
    // Legacy: the capability is known only from the session's initialize (recorded by confirm-session.ts).
    if (!opts.streamable || init.sessionId === undefined) return null
    const session = await sha256Hex(init.sessionId)
    const opened = await stub(init).openConfirmation({ kind: 'stream', callHash, identity, session, ttlMs: timeoutMs })
    if (!opened) return null
    const id = opened.id
    const wait = async (): Promise<ConfirmationOutcome | 'unavailable'> => {
      try {
        return await stub(init).awaitConfirmation({ id, callHash, identity, timeoutMs })
      } catch (err) {
        unavailable(init, 'call_confirmation_unavailable', err)
        return 'unavailable'
      }
    }
    return { held: { question: confirmationRequest(id, question), approvalId: recorded ? approvalIdOf(callHash) : null, wait } }
  } catch (err) {
    // The question cannot be asked: the call is refused as it would be without elicitation.
    unavailable(init, 'call_confirmation_unavailable', err)
    return null
  }
}

function stub(init: ToolGateInit) {
  return init.env.TOOL_PINS.getByName(init.tenantId)
}

/** The origin's host, to name the server in the question (a client shows which server asks, not which it calls). */
function originHost(origin: string): string {
  try {
    return new URL(origin).host
  } catch {
    return origin
  }
}

function unavailable(init: ToolGateInit, event: string, err: unknown): void {
  console.error(JSON.stringify({ event, tenant: init.tenantId, requestId: init.requestId, error: String(err) }))
}
