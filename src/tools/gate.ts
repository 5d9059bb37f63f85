/**
 * `ToolGate`: the tool-integrity step of one exchange, around the synchronous inspection pipeline
 * (docs/tool-integrity.md). Pins live in a Durable Object, so these checks are asynchronous and run in
 * the proxy layer: `beforeForward` on each client request the pipeline let through, `beforeEmit` on each
 * server message before the pipeline inspects it.
 *
 * @example
 * const gate = new ToolGate({ env, tenantId, configVersion, origin: config.origin.url, tools: config.policy.tools, policy, era, requestId, sink })
 * const refused = await gate.beforeForward(message)   // a JSON-RPC error to answer, or null to forward
 * const emitted = await gate.beforeEmit(serverMessage, 'tools/list')
 */
import type { JsonRpcId, JsonRpcMessage, JsonRpcResponse } from '../mcp/jsonrpc'
import { checkRequest, type CallMemo } from './call-check'
import { LISTS, checkList } from './list-check'
import { checkResult } from './result-check'
import type { ToolGateInit } from './context'
import { Pins } from './pins'

export type { ToolGateInit } from './context'

/** Requests whose checks need nothing from this module. */
const CHECKED_REQUESTS = new Set(['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe'])

export class ToolGate {
  readonly #pins: Pins
  /** Forwarded calls waiting for their result, by JSON-RPC id. */
  readonly #calls = new Map<JsonRpcId, CallMemo>()

  constructor(readonly init: ToolGateInit) {
    this.#pins = new Pins(init)
  }

  /** A client message about to be forwarded: null to forward it, or the answer refusing it. */
  async beforeForward(message: JsonRpcMessage): Promise<JsonRpcResponse | null> {
    if (!('method' in message) || !('id' in message) || !CHECKED_REQUESTS.has(message.method)) return null
    const verdict = await checkRequest(this.init, this.#pins, message)
    if ('answer' in verdict) return verdict.answer
    // Only a call whose tool declares an output schema has anything to check in its result.
    if (verdict.memo?.output) {
      if (this.#calls.size >= 1_000) this.#calls.clear()
      this.#calls.set(message.id, verdict.memo)
    }
    return null
  }

  /**
   * A server message about to be inspected and emitted. `method` is the method of the request it
   * answers (from the exchange's pending map), undefined when unknown (a resumed stream).
   */
  async beforeEmit(message: JsonRpcMessage, method: string | undefined): Promise<JsonRpcMessage> {
    if (!('result' in message) || method === undefined) return message
    if (method === 'tools/call') {
      const memo = this.#calls.get(message.id)
      this.#calls.delete(message.id)
      return memo ? checkResult(this.init, memo, message) : message
    }
    if (LISTS[method] === undefined) return message
    return checkList(this.init, this.#pins, method, message)
  }
}
