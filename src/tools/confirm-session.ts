/**
 * The two legacy-era moments of a user confirmation that happen outside the call itself
 * (2025-06-18 / 2025-11-25, docs/tool-integrity.md "Sensitive calls"):
 *
 * - `initialize` is the only place a legacy client declares its capabilities, so a session whose
 *   initialize declared form elicitation is remembered (by the SHA-256 of its `Mcp-Session-Id`, with the
 *   verified identity) in the tenant's `ToolPins` object when the origin's answer gives it its id.
 * - The client answers the firewall's `elicitation/create` with a JSON-RPC response on a separate POST.
 *   It is handed to the `ToolPins` object (which wakes the held call, wherever it is) and never forwarded:
 *   the origin never asked anything.
 */
import type { JsonRpcMessage, JsonRpcRequest } from '../mcp/jsonrpc'
import { sha256Hex } from '../hex'
import { allowsFormElicitation, confirmationIdOf, initializeElicitation, isConfirmed, isFirewallRequestId } from './confirm-wire'
import type { ToolsPolicy } from './policy'

/** Who answers: the tenant, the session the POST carries and the verified identity. */
export interface AnswerContext {
  env: Env
  tenantId: string
  requestId: string
  sessionId: string | null
  identity: string | null
}

/**
 * Remembers a session that can confirm sensitive calls. Does nothing when the tenant has none or asks
 * operators only, or the client did not declare form elicitation, or the origin minted no session.
 */
export async function rememberSession(
  ctx: Omit<AnswerContext, 'sessionId'> & { tools: ToolsPolicy },
  initialize: JsonRpcRequest,
  sessionId: string | null,
): Promise<void> {
  if (sessionId === null || ctx.tools.requireApproval.length === 0 || !ctx.tools.approvalByElicitation) return
  if (!allowsFormElicitation(initializeElicitation(initialize.params))) return
  try {
    const ok = await ctx.env.TOOL_PINS.getByName(ctx.tenantId).rememberSession({ session: await sha256Hex(sessionId), identity: ctx.identity })
    if (!ok) throw new Error('rememberSession refused its arguments')
  } catch (err) {
    // The session is then treated as one without elicitation: its sensitive calls are refused as before.
    console.error(JSON.stringify({ event: 'confirm_session_unrecorded', tenant: ctx.tenantId, requestId: ctx.requestId, error: String(err) }))
  }
}

/** True for a client response to one of the firewall's own requests (it must never reach the origin). */
export function isConfirmationAnswer(m: JsonRpcMessage): boolean {
  return !('method' in m) && isFirewallRequestId(m.id)
}

/** Delivers a client's answer to the held call; an answer matching no open question is dropped. */
export async function deliverAnswer(ctx: AnswerContext, m: JsonRpcMessage): Promise<void> {
  if ('method' in m) return
  const id = confirmationIdOf(m.id)
  if (id === null || ctx.sessionId === null) return
  try {
    const session = await sha256Hex(ctx.sessionId)
    const confirmed = 'result' in m && isConfirmed(m.result)
    await ctx.env.TOOL_PINS.getByName(ctx.tenantId).answerConfirmation({ id, session, identity: ctx.identity, confirmed })
  } catch (err) {
    // The held call then times out and is refused.
    console.error(JSON.stringify({ event: 'confirm_answer_undelivered', tenant: ctx.tenantId, requestId: ctx.requestId, error: String(err) }))
  }
}
