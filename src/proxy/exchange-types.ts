/**
 * What an exchange (exchange.ts) is built from, and what it decides for each message it judges: a client
 * message is forwarded, answered, dropped or held; a server message is passed on or hidden.
 */
import type { JsonRpcMessage, JsonRpcResponse } from '../mcp/jsonrpc'
import type { ProtocolEra } from '../mcp/era'
import type { CompiledPolicy } from '../inspect/policy'
import type { SecondStage } from '../detectors/classifier/second-stage-backend'
import type { EventSink } from '../audit/sink'
import type { HeldCall, ToolGate } from '../tools/gate'
import type { BudgetMeter } from '../budget/enforce'

export interface ExchangeInit {
  tenantId: string
  configVersion: number
  requestId: string
  era: ProtocolEra
  sessionId?: string
  /** The verified client identity (key id or token subject) when the tenant authenticates clients. */
  identity?: string
  policy: CompiledPolicy
  sink: EventSink
  /** Tools stopped by the kill switch: calls to them are answered with -31003, never forwarded. */
  killedTools?: readonly string[]
  /** The tenant's second-stage classifier for uncertain fields (`policy.classifier.secondStage`). */
  secondStage?: SecondStage
  /** Tool integrity (src/tools): access lists, pins, schema checks, call approvals. */
  tools?: ToolGate
  /** The tenant's token and request budget (src/budget); absent when it has none. */
  meter?: BudgetMeter
  /**
   * Every response on the exchange must answer one of its requests: a POST's, or those of the stream a
   * GET resumes (stream-state.ts; a GET that resumes none answers nothing).
   */
  ownAnswersOnly?: boolean
  /** A GET resuming a POST's stream: its requests are answered there or on a later resumption, never owed here. */
  resumed?: boolean
  /** What the firewall lent the origin for this client (ClientAuth.lent): scrubbed from every server message. */
  lent?: readonly string[]
}

/** What to do with one server → client message. */
export type ServerOutcome =
  | { emit: JsonRpcMessage; own?: true } //              pass (possibly modified or replaced by an error; `own`: the firewall's error for a blocked response)
  | { drop: true; answerOrigin?: JsonRpcMessage } //     hidden from the client; maybe answered on its behalf

/** What to do with one client → server message. */
export type ClientOutcome =
  | { forward: JsonRpcMessage } //                      to the origin (possibly modified, or a rejection)
  | { answer: JsonRpcResponse } //                       answered by the firewall, never forwarded
  | { drop: true } //                                   a blocked notification: nothing to answer
  | { hold: HeldCall } //                                a sensitive call waiting for its user's confirmation (src/tools/approval.ts)
