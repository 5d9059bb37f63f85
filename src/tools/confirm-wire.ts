/**
 * The wire side of a user confirming a sensitive call (`requireApproval`, docs/tool-integrity.md
 * "Sensitive calls"): what the firewall asks (`elicitation/create`, form mode, one boolean), how it
 * recognises its own request ids and `requestState` values, how it reads the answer, and what is left
 * of a call once the firewall's own parts are taken out. Pure: no storage, no I/O.
 *
 * @example
 * const params = confirmationParams('transfer_funds', '{"amount":100}', 'bank.example', true)
 * const challenge = inputRequiredChallenge(7, params, confirmationId) // 2026-07-28
 * const request = confirmationRequest(confirmationId, params) //        2025-06-18 / 2025-11-25
 */
import type { JsonObject, JsonRpcId, JsonRpcRequest, JsonRpcResponse, JsonValue } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'
import { unseenEscaped } from './unseen'

/**
 * The firewall's key in a 2026-07-28 `inputRequests` / `inputResponses` map. The origin never sees
 * a round carrying it (the firewall answers that round itself), so it cannot collide with the origin's keys.
 */
export const CONFIRM_KEY = 'mcp-firewall/confirm'

/**
 * Prefix of the ids of the firewall's own legacy `elicitation/create` requests. Answers carrying it are
 * never forwarded, and origin requests carrying it never reach the client (src/proxy/exchange.ts), so the
 * firewall's ids and the origin's cannot be confused.
 */
export const CONFIRM_ID_PREFIX = 'mcpfw-confirm-'

/** Prefix of every `requestState` the firewall issues (`a`: its own challenge, `c`: an origin state it wraps). */
const STATE_PREFIX = 'mcpfw1.'

/** A confirmation or continuation id: 128 random bits, hex, minted by the `ToolPins` object. */
export const CONFIRMATION_ID = /^[0-9a-f]{32}$/

/** A `requestState` the firewall issued, as read back from a retry. */
export type FirewallState = { kind: 'confirm'; id: string } | { kind: 'continue'; id: string; originState?: string }

/**
 * Longest arguments text the confirmation message shows. Longer arguments are not asked about at all: keys
 * are sorted, so the caller picks what a cut would hide (a long `memo` before `to`), and a user cannot
 * allow what they cannot read. Such a call needs an operator's grant (who is shown up to
 * MAX_APPROVABLE_ARGUMENTS, pin-types.ts).
 */
const MAX_SHOWN_ARGUMENTS = 1_000

/** A flat form with one boolean (elicitation form mode allows primitive properties only, client/elicitation.mdx). */
const CONFIRM_SCHEMA: JsonObject = {
  type: 'object',
  properties: {
    confirm: { type: 'boolean', title: 'Allow this call', description: 'Run the tool once, with exactly the arguments shown.', default: false },
  },
  required: ['confirm'],
}

/**
 * The `elicitation/create` params asking the user to allow one call, or null when its arguments cannot be
 * shown whole. They are shown as the JSON the approval covers, with every character a person would not see
 * written as a `\u` escape (still the same JSON value). `withMode`: send `mode: "form"` (2025-11-25 and
 * later; 2025-06-18 predates the field, and an absent mode means form everywhere).
 */
export function confirmationParams(tool: string, argumentsJson: string, originHost: string, withMode: boolean): JsonObject | null {
  const shown = unseenEscaped(argumentsJson)
  if (shown.length > MAX_SHOWN_ARGUMENTS) return null
  const message =
    `The MCP firewall needs your confirmation before the tool "${unseenEscaped(tool)}" on ${originHost} runs with these arguments:\n` +
    `${shown}\n` +
    'Allow this call once?'
  return { ...(withMode ? { mode: 'form' } : {}), message, requestedSchema: CONFIRM_SCHEMA }
}

/** The 2026-07-28 answer to a call the user must confirm first: an MRTR `input_required` result (basic/patterns/mrtr.mdx). */
export function inputRequiredChallenge(id: JsonRpcId, params: JsonObject, confirmationId: string): JsonRpcResponse {
  return {
    jsonrpc: '2.0',
    id,
    result: {
      resultType: 'input_required',
      inputRequests: { [CONFIRM_KEY]: { method: 'elicitation/create', params } },
      requestState: formatState({ kind: 'confirm', id: confirmationId }),
    },
  }
}

/** The legacy server → client request sent on the call's own SSE stream. */
export function confirmationRequest(confirmationId: string, params: JsonObject): JsonRpcRequest {
  return { jsonrpc: '2.0', id: `${CONFIRM_ID_PREFIX}${confirmationId}`, method: 'elicitation/create', params }
}

/** True for an id in the firewall's own range (see {@link CONFIRM_ID_PREFIX}). */
export function isFirewallRequestId(id: JsonRpcId | null | undefined): boolean {
  return typeof id === 'string' && id.startsWith(CONFIRM_ID_PREFIX)
}

/** The confirmation id inside one of the firewall's request ids, or null when it is not one. */
export function confirmationIdOf(id: JsonRpcId | null): string | null {
  if (!isFirewallRequestId(id)) return null
  const rest = String(id).slice(CONFIRM_ID_PREFIX.length)
  return CONFIRMATION_ID.test(rest) ? rest : null
}

/**
 * True only for an `ElicitResult` that accepted with `confirm: true`. Decline, cancel, `false`, a
 * missing field or anything malformed is a refusal.
 */
export function isConfirmed(result: JsonValue | undefined): boolean {
  if (!isJsonObject(result) || getOwn(result, 'action') !== 'accept') return false
  const content = getOwn(result, 'content')
  return isJsonObject(content) && getOwn(content, 'confirm') === true
}

/**
 * Whether an `elicitation` capability allows form mode: an empty object does (backwards compatibility),
 * so does one naming `form`; one naming only `url` does not (client/elicitation.mdx §Capabilities).
 */
export function allowsFormElicitation(elicitation: JsonValue | undefined): boolean {
  if (!isJsonObject(elicitation)) return false
  return getOwn(elicitation, 'form') !== undefined || getOwn(elicitation, 'url') === undefined
}

/** The `elicitation` capability a 2026-07-28 request declares in its `_meta` (every request carries it). */
export function modernElicitation(params: JsonObject): JsonValue | undefined {
  const meta = getOwn(params, '_meta')
  const caps = isJsonObject(meta) ? getOwn(meta, 'io.modelcontextprotocol/clientCapabilities') : undefined
  return isJsonObject(caps) ? getOwn(caps, 'elicitation') : undefined
}

/** The `elicitation` capability of a legacy `initialize` request (the only place a legacy client declares it). */
export function initializeElicitation(params: JsonObject | undefined): JsonValue | undefined {
  const caps = params ? getOwn(params, 'capabilities') : undefined
  return isJsonObject(caps) ? getOwn(caps, 'elicitation') : undefined
}

/** The `requestState` text of a firewall state. */
export function formatState(state: FirewallState): string {
  if (state.kind === 'confirm') return `${STATE_PREFIX}a.${state.id}`
  return `${STATE_PREFIX}c.${state.id}${state.originState === undefined ? '' : `.${state.originState}`}`
}

/** A retry's `requestState` read as a firewall state, or null when it is absent or not one (the origin's own, or forged). */
export function parseState(value: JsonValue | undefined): FirewallState | null {
  if (typeof value !== 'string' || !value.startsWith(STATE_PREFIX)) return null
  const kind = value.slice(STATE_PREFIX.length, STATE_PREFIX.length + 2)
  const id = value.slice(STATE_PREFIX.length + 2, STATE_PREFIX.length + 34)
  const rest = value.slice(STATE_PREFIX.length + 34)
  if (!CONFIRMATION_ID.test(id)) return null
  if (kind === 'a.') return rest === '' ? { kind: 'confirm', id } : null
  if (kind !== 'c.') return null
  if (rest === '') return { kind: 'continue', id }
  return rest.startsWith('.') ? { kind: 'continue', id, originState: rest.slice(1) } : null
}

/**
 * The call as the origin must see it: the firewall's input response and `requestState` taken out, and
 * when the call continues an origin's own MRTR exchange, the origin's `requestState` put back. Returns
 * `m` itself when there is nothing to take out.
 */
export function forOrigin(m: JsonRpcRequest, originState?: string): JsonRpcRequest {
  const params = m.params
  if (!params) return m
  const responses = getOwn(params, 'inputResponses')
  const ours = isJsonObject(responses) && getOwn(responses, CONFIRM_KEY) !== undefined
  const state = parseState(getOwn(params, 'requestState'))
  if (!ours && !state && originState === undefined) return m
  const next: JsonObject = { ...params }
  if (ours && isJsonObject(responses)) {
    const rest: JsonObject = { ...responses }
    delete rest[CONFIRM_KEY]
    if (Object.keys(rest).length > 0) next['inputResponses'] = rest
    else delete next['inputResponses']
  }
  if (originState !== undefined) next['requestState'] = originState
  else if (state) delete next['requestState']
  return { ...m, params: next }
}
