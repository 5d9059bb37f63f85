/**
 * `ToolGate`: the tool-integrity step of one exchange, around the synchronous inspection pipeline
 * (docs/tool-integrity.md). Pins live in a Durable Object, so these checks are asynchronous and run in
 * the proxy layer: `decide` on each client request the pipeline let through, `beforeEmit` on each
 * server message before the pipeline inspects it.
 *
 * @example
 * const gate = new ToolGate({ env, tenantId, configVersion, origin: config.origin.url, tools: config.policy.tools, policy, era, requestId, sink })
 * const d = await gate.decide(message, { streamable: true }) // { forward } | { answer } | { hold } (a call its user must confirm)
 * const emitted = await gate.beforeEmit(serverMessage, 'tools/list')
 * await gate.beforeNotify('notifications/tools/list_changed') // the next call lists the origin first
 */
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, JsonRpcResultResponse, JsonValue } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'
import { restoreGrant, wrapContinuation, type ApprovalOptions, type OperatorGrant } from './approval'
import { approvedDefinition, approvedOutput, checkAccess, checkRequest, checkTaskRequest, taskPushPermitted, type CallMemo } from './call-check'
import { paramBindings, type ParamHeaderBinding } from '../mcp/headers2026'
import type { StreamRequest } from '../proxy/stream-state'
import { rememberSession } from './confirm-session'
import { LISTS, checkList } from './list-check'
import { LIST_CHANGED, markListChanged } from './list-changed'
import { checkResult } from './result-check'
import { toolResultPath } from '../mcp/tool-result'
import type { ToolGateInit } from './context'
import { Pins } from './pins'
import type { CompiledSchema } from './schema'
import type { TaskRecord } from './task-store'

export type { ToolGateInit } from './context'
export type { ApprovalOptions } from './approval'

/** Requests whose answers carry a tool's result: a call's own, or its task's. */
const RESULT_METHODS: ReadonlySet<string> = new Set(['tools/call', 'tasks/result', 'tasks/get'])

/** Requests whose checks need nothing from this module. */
const CHECKED_REQUESTS = new Set(['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe'])

/**
 * A legacy sensitive call held on its own SSE response: send `question` first, then `settle` waits for
 * the user's answer and says whether `call` goes to the origin or which refusal the client gets.
 */
export interface HeldCall {
  readonly question: JsonRpcRequest
  readonly call: JsonRpcRequest
  settle(): Promise<{ forward: JsonRpcRequest } | { answer: JsonRpcResponse }>
}

/** What becomes of a client message: forwarded (maybe without the firewall's own parts), answered here, or held. */
export type GateDecision = { forward: JsonRpcMessage } | { answer: JsonRpcResponse } | { hold: HeldCall }

/**
 * Task → tool records this isolate made or read (a task's tool never changes), keyed by the caller too:
 * a verified caller only ever finds its own tasks here, so another's task is looked up like an unknown one.
 */
const taskTools = new Map<string, string>()
function remembered(key: string, tool: string): void {
  if (taskTools.size >= 10_000) taskTools.clear()
  taskTools.set(key, tool)
}

/** Whether a structured content fits `output`, a pinned output schema. */
function fitOf(output: CompiledSchema): (structured: JsonValue) => boolean {
  return (structured) => output.check(structured).valid
}

export class ToolGate {
  readonly #pins: Pins
  /** Forwarded calls waiting for their result, by JSON-RPC id. */
  readonly #calls = new Map<JsonRpcId, CallMemo>()
  /** Operator grants the calls of this exchange (one POST) used up, by JSON-RPC id. */
  readonly #grants = new Map<JsonRpcId, OperatorGrant>()

  constructor(readonly init: ToolGateInit) {
    this.#pins = new Pins(init)
  }

  /**
   * An open stream's gate under a newer version of the tenant's config: its access lists, pinning, schema
   * and approval settings and its monitor mode apply to what the stream carries from then on. The origin
   * stays the one the stream talks to, and so do the calls this gate already forwarded (their output schemas).
   */
  follow(configVersion: number, tools: ToolGateInit['tools'], policy: ToolGateInit['policy']): void {
    this.init.configVersion = configVersion
    this.init.tools = tools
    this.init.policy = policy
  }

  /** Decides a client message about to be forwarded. `streamable`: a legacy call may be held for its user's confirmation. */
  async decide(message: JsonRpcMessage, opts: ApprovalOptions = {}): Promise<GateDecision> {
    if (!('method' in message) || !('id' in message) || !CHECKED_REQUESTS.has(message.method)) return { forward: message }
    const verdict = await checkRequest(this.init, this.#pins, message, opts)
    if ('answer' in verdict) return verdict
    if ('hold' in verdict) {
      const held = verdict.hold
      const settle = async (): Promise<{ forward: JsonRpcRequest } | { answer: JsonRpcResponse }> => {
        const settled = await held.settle()
        if ('answer' in settled) return settled
        this.#remember(message.id, settled.memo)
        return { forward: message }
      }
      return { hold: { question: held.question, call: message, settle } }
    }
    this.#remember(message.id, verdict.memo)
    if (verdict.grant) this.#grants.set(message.id, verdict.grant)
    return { forward: verdict.message ?? message }
  }

  /**
   * A held call's access checked again once its user confirmed it, under the settings the gate follows now
   * (`follow`): the tool may have been denied to this caller meanwhile. Null when it may go to the origin.
   */
  accessRefusal(call: JsonRpcRequest): JsonRpcResponse | null {
    const verdict = checkAccess(this.init, call)
    return 'answer' in verdict ? verdict.answer : null
  }

  /** The refusal of a request about a task that runs `tool` (task-store.ts) this caller may not use; null when it may go on. */
  taskRefusal(message: JsonRpcRequest, tool: string): JsonRpcResponse | null {
    const verdict = checkTaskRequest(this.init, message, tool)
    return 'answer' in verdict ? verdict.answer : null
  }

  /**
   * Whether this caller may get a push about a task that runs `tool` on a stream (`method`: a 2026-07-28
   * `notifications/tasks`, a 2025-11-25 `notifications/tasks/status`).
   */
  taskPushPermitted(tool: string, method: string): boolean {
    return taskPushPermitted(this.init, tool, method)
  }

  /**
   * Calls this exchange decided to forward but then refused itself (over budget): an operator's grant
   * each used up is given back, since the call never reached the origin.
   */
  async refusedAfterDecision(ids: Iterable<JsonRpcId>): Promise<void> {
    const grants: OperatorGrant[] = []
    for (const id of ids) {
      const grant = this.#grants.get(id)
      this.#grants.delete(id)
      if (grant) grants.push(grant)
    }
    await Promise.all(grants.map((g) => restoreGrant(this.init, g)))
  }

  /**
   * The answer refusing `message`, or null when it may go to the origin as it is. For callers that
   * neither hold a stream nor forward a rewritten message (benchmarks, tests): never holds a call.
   */
  async beforeForward(message: JsonRpcMessage): Promise<JsonRpcResponse | null> {
    const decision = await this.decide(message)
    return 'answer' in decision ? decision.answer : null
  }

  /** A legacy `initialize` the origin accepted: remembers whether its session can confirm sensitive calls. */
  async afterInitialize(initialize: JsonRpcRequest, sessionId: string | null): Promise<void> {
    const i = this.init
    await rememberSession({ env: i.env, tenantId: i.tenantId, requestId: i.requestId, identity: i.identity ?? null, tools: i.tools }, initialize, sessionId)
  }

  /**
   * A server message about to be inspected and emitted. `method` is the method of the request it
   * answers (from the exchange's pending map), undefined when unknown (a resumed stream).
   */
  async beforeEmit(message: JsonRpcMessage, method: string | undefined): Promise<JsonRpcMessage> {
    if (!('result' in message) || method === undefined) return message
    // A task's result is its call's result; a 2026-07-28 task's `tasks/get` answer carries it once it completed.
    if (method === 'tools/call' || method === 'tasks/result' || method === 'tasks/get') {
      const memo = this.#calls.get(message.id)
      this.#calls.delete(message.id)
      if (!memo) return message
      // An approved call the origin answers with `input_required` keeps its approval for the retry.
      if (method !== 'tasks/get' && memo.callHash !== undefined && getOwn(message.result, 'resultType') === 'input_required') return wrapContinuation(this.init, memo.callHash, message)
      const at = toolResultPath(message, method)
      return at === null ? message : checkResult(this.init, memo, message, at)
    }
    if (method === 'tasks/list') return this.#ownTasks(message)
    if (LISTS[method] === undefined) return message
    return checkList(this.init, this.#pins, method, message)
  }

  /**
   * A server notification about to be relayed: an announced list change makes the next call or prompt get
   * list the origin first (list-changed.ts). Awaited before the client sees it, so a client that calls
   * right after the notification cannot overtake the mark.
   */
  async beforeNotify(method: string): Promise<void> {
    const kind = LIST_CHANGED.get(method)
    if (kind !== undefined) await markListChanged(this.init, kind)
  }

  /**
   * A 2026-07-28 `notifications/tasks` about a task that runs `tool`: the final result it carries gets the
   * output-schema check of the tool's approved definition, as the task's `tasks/get` would. `fitsOutput`:
   * that schema's check, for a redaction of the result (as `outputFit` gives it for an answer). A push of
   * the task's status alone has nothing to check, nor has a 2025-11-25 `notifications/tasks/status`, whose
   * task carries no result (it comes from `tasks/result`).
   */
  async checkTaskNotification(message: JsonRpcNotification, tool: string): Promise<{ message: JsonRpcNotification; fitsOutput?: (structured: JsonValue) => boolean }> {
    const at = toolResultPath(message, undefined)
    if (at === null || this.init.tools.pinning === 'off') return { message }
    const output = approvedOutput((await this.#pins.index())?.get('tool', tool))
    return { message: checkResult(this.init, { tool, output }, message, at), ...(output ? { fitsOutput: fitOf(output) } : {}) }
  }

  /**
   * The `Mcp-Param-*` bindings (`x-mcp-header`) of a tool's approved definition (2026-07-28): with them, a
   * header the schema names is checked against its argument even when their names differ, and a bound
   * argument sent without its header is refused. Empty when the tool has none or is not pinned.
   */
  async paramBindings(tool: string): Promise<ParamHeaderBinding[]> {
    if (this.init.tools.pinning === 'off') return []
    const definition = approvedDefinition((await this.#pins.index())?.get('tool', tool))
    return definition ? paramBindings(getOwn(definition, 'inputSchema')) : []
  }

  /**
   * Records the tool a task-augmented call created a task for, so its `tasks/result` gets that tool's
   * checks (task-store.ts). Best effort: a failure is logged, and that task's result then goes unattributed.
   */
  async rememberTask(taskId: string, tool: string, ttlMs: number): Promise<void> {
    const i = this.init
    remembered(this.#taskKey(taskId), tool)
    const ok = await i.env.TOOL_PINS.getByName(i.tenantId)
      .rememberTask({ origin: i.origin, taskId, tool, ttlMs, identity: i.identity ?? null })
      .catch((err: unknown) => (console.error(JSON.stringify({ event: 'task_record_failed', tenant: i.tenantId, requestId: i.requestId, error: String(err) })), false))
    if (!ok) console.error(JSON.stringify({ event: 'task_record_refused', tenant: i.tenantId, requestId: i.requestId }))
  }

  /**
   * The tool a task runs, when a call through the firewall created it (task-store.ts); undefined otherwise,
   * null when the record cannot be read (the task's kill switch, access lists and schema are then unknown).
   * False for a verified caller (apiKey, jwt) when the task is not recorded as its own: another identity's,
   * or one the firewall cannot vouch for (not recorded, expired, or recorded before tasks had owners). Such
   * a request is answered as a task that does not exist (`taskNotFound`), whichever it is.
   */
  async taskTool(taskId: string): Promise<string | undefined | null | false> {
    const i = this.init
    const key = this.#taskKey(taskId)
    const known = taskTools.get(key)
    if (known !== undefined) return known
    let task: TaskRecord | null
    try {
      task = await i.env.TOOL_PINS.getByName(i.tenantId).task({ origin: i.origin, taskId })
    } catch (err) {
      console.error(JSON.stringify({ event: 'task_lookup_failed', tenant: i.tenantId, requestId: i.requestId, error: String(err) }))
      return null
    }
    if (i.identity !== undefined && task?.identity !== i.identity) return false
    if (task === null) return undefined
    remembered(key, task.tool)
    return task.tool
  }

  /** The answer to a verified caller's request about a task that is not its own: the one a task that never existed gets. */
  taskNotFound(id: JsonRpcId): JsonRpcResponse {
    const i = this.init
    console.warn(JSON.stringify({ event: 'task_not_bound_to_client', tenant: i.tenantId, requestId: i.requestId }))
    return { jsonrpc: '2.0', id, error: { code: -32602, message: 'Invalid params: task not found', data: { requestId: i.requestId } } }
  }

  #taskKey(taskId: string): string {
    return `${this.init.tenantId}\n${this.init.origin}\n${this.init.identity ?? ''}\n${taskId}`
  }

  /**
   * A `tasks/list` page as a verified caller may see it: only the tasks recorded as its own. The origin
   * sees one credential for every client and lists them all; an entry the store does not vouch for, or a
   * page it cannot check, is left out (the list is a view, so nothing is refused). Unchanged without
   * client authentication.
   */
  async #ownTasks(message: JsonRpcResultResponse): Promise<JsonRpcMessage> {
    const i = this.init
    const tasks = getOwn(message.result, 'tasks')
    if (i.identity === undefined || !Array.isArray(tasks)) return message
    const ids = tasks.map((t) => (isJsonObject(t) ? getOwn(t, 'taskId') : undefined)).filter((t): t is string => typeof t === 'string' && t.length > 0 && t.length <= 512)
    let owned: ReadonlySet<string> = new Set()
    if (ids.length > 0 && ids.length <= 1_000) {
      const lookup = i.env.TOOL_PINS.getByName(i.tenantId).ownedTasks({ origin: i.origin, identity: i.identity, taskIds: ids })
      const found = await lookup.catch((err: unknown) => {
        // Unreadable: no entry is vouched for, so the page shows none.
        console.error(JSON.stringify({ event: 'task_lookup_failed', tenant: i.tenantId, requestId: i.requestId, error: String(err) }))
        return null
      })
      owned = new Set(found ?? [])
    }
    const own = tasks.filter((t) => isJsonObject(t) && owned.has(getOwn(t, 'taskId') as string))
    return own.length === tasks.length ? message : { ...message, result: { ...message.result, tasks: own } }
  }

  /**
   * Calls whose results this exchange did not forward the call for (a resumed stream, stream-state.ts; a
   * task's `tasks/result`, or 2026-07-28 `tasks/get`): they get the output-schema check of the tool's
   * approved definition, as a direct answer would.
   */
  async resume(requests: readonly StreamRequest[]): Promise<void> {
    const calls = requests.filter(([, method, tool]) => RESULT_METHODS.has(method) && tool !== undefined)
    if (calls.length === 0 || this.init.tools.pinning === 'off') return
    const index = await this.#pins.index()
    for (const [id, , tool = ''] of calls) this.#remember(id, { tool, output: approvedOutput(index?.get('tool', tool)) })
  }

  /**
   * For the result of forwarded call `id`: whether a structured content fits the tool's pinned
   * `outputSchema`. Undefined when the tool has none known (ask before `beforeEmit`, which forgets the call).
   */
  outputFit(id: JsonRpcId): ((structured: JsonValue) => boolean) | undefined {
    const output = this.#calls.get(id)?.output
    return output ? fitOf(output) : undefined
  }

  /** Keeps what a forwarded call's result needs: its output schema, or its approval (2026 MRTR). */
  #remember(id: JsonRpcId, memo: CallMemo | undefined): void {
    if (!memo) return
    const needed = memo.output !== null || (memo.callHash !== undefined && this.init.era === 'modern')
    if (!needed) return
    if (this.#calls.size >= 1_000) this.#calls.clear()
    this.#calls.set(id, memo)
  }
}
