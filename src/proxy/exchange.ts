/**
 * The state of one HTTP exchange between a client and an origin through the firewall: which requests
 * are waiting for answers (and their methods, since responses carry only an id), how to inspect a
 * message in either direction, and how to answer the origin on the client's behalf when a server
 * request is blocked (mcp-protocol.md §4.5–4.6).
 */
import type { JsonRpcId, JsonRpcMessage, JsonRpcResponse, JsonValue } from '../mcp/jsonrpc'
import { isNotification, isRequest } from '../mcp/jsonrpc'
import type { CompiledPolicy } from '../inspect/policy'
import type { Direction, MessageContext, Verdict } from '../inspect/types'
import { inspect, inspectRefined, uninspected } from '../inspect/pipeline'
import { refineWithSecondStage } from '../detectors/classifier/second-stage'
import type { SecondStageOutcome } from '../detectors/classifier/second-stage'
import type { SecondStage } from '../detectors/classifier/second-stage-backend'
import { SecondStageBudget } from '../detectors/classifier/second-stage-budget'
import { shownToolName, summarizeFindings } from '../audit/events'
import { FirewallCode, toWire } from '../errors'
import type { ApprovalOptions, ToolGate } from '../tools/gate'
import { isFirewallRequestId } from '../tools/confirm-wire'
import { refusal } from '../tools/context'
import type { Problem } from '../errors'
import { gateServer } from '../budget/enforce'
import type { StreamRequest } from './stream-state'
import { scrubLent } from './lent-secrets'
import { methodOf, missingTarget, onBehalfAnswer, rejection, toolNameOf } from './messages'
import { createdTask, requestedTaskTool, TASK_METHODS, TASK_PUSHES, TASK_RESULT_METHODS, taskPush, unreadableTaskRefused } from './tasks'
import { inspectParamHeaders } from './param-headers'
import type { ClientOutcome, ExchangeInit, ServerOutcome } from './exchange-types'

interface Pending {
  method: string
  toolName?: string
}

export class Exchange {
  /** Client requests forwarded to the origin and not yet answered, by id. */
  readonly pending = new Map<JsonRpcId, Pending>()

  /** Set once a response was refused for budget: an SSE stream ends after it. */
  budgetRefused: Problem | undefined

  /** Tools stopped on their own: the kill state when the exchange began, updated on open streams (`killTools`). */
  #killed: readonly string[]

  /** What this client request may still spend on the second stage, across all its messages (a batch, a stream). */
  #stageBudget: SecondStageBudget | undefined

  constructor(readonly init: ExchangeInit) {
    this.#killed = init.killedTools ?? []
  }

  /** The tenant's killed tools as last read: an open stream re-reads the kill state while it runs. */
  killTools(tools: readonly string[]): void {
    this.#killed = tools
  }

  /**
   * Puts an open stream under a newer version of its tenant's config (exchange-setup.ts `configFollower`):
   * what it judges from then on gets that version's inspection policy, second stage and tool checks
   * (`tools`: the gate, brought up to the version by the caller). The SSE relay asks between messages
   * (its re-check runs before the next chunk is read), so each message is judged whole under one policy.
   * What belongs to the exchange stays: the requests waiting, what the gate keeps of forwarded calls, the
   * second stage's spending and the meter (which follows the budget on its own).
   */
  follow(next: { configVersion: number; policy: CompiledPolicy; secondStage: SecondStage | undefined; tools: ToolGate | undefined }): void {
    this.init.configVersion = next.configVersion
    this.init.policy = next.policy
    if (next.secondStage) this.init.secondStage = next.secondStage
    else delete this.init.secondStage
    if (next.tools) this.init.tools = next.tools
  }

  /** Inspects a client message and decides what reaches the origin. */
  fromClient(message: JsonRpcMessage, bytes = 0): ClientOutcome {
    return this.#refusedClient(message) ?? this.#clientVerdict(message, this.#inspect(message, 'client_to_server', methodOf(message), toolNameOf(message), bytes))
  }

  /** `fromClient`, with the second stage's opinion when the tenant has one (`init.secondStage`). */
  async #fromClientRefined(message: JsonRpcMessage, bytes: number): Promise<ClientOutcome> {
    if (!this.init.secondStage) return this.fromClient(message, bytes)
    return this.#refusedClient(message) ?? this.#clientVerdict(message, await this.#inspectRefined(message, 'client_to_server', methodOf(message), toolNameOf(message), bytes))
  }

  /** Refusals that need no inspection: a request without a string target, a call to a killed tool. */
  #refusedClient(message: JsonRpcMessage): ClientOutcome | undefined {
    // Deny lists, pins, approvals, kill switches and per-tool budgets all key on the name or URI: a request
    // whose target is not a string would pass every one of them, so it goes no further (as an SDK server would).
    const untargeted = 'method' in message && 'id' in message ? missingTarget(message.method, message.params) : undefined
    if (untargeted && 'id' in message) {
      return { answer: { jsonrpc: '2.0', id: message.id, error: { code: -32602, message: `Invalid params: params.${untargeted} must be a string`, data: { requestId: this.init.requestId } } } }
    }
    const tool = toolNameOf(message)
    if (tool !== undefined && 'id' in message && this.#killed.includes(tool)) return { answer: this.#toolDisabled(message.id) }
    return undefined
  }

  /**
   * The verdict traffic gets: in monitor mode none (it is logged, not applied), except a message the
   * firewall could not inspect whole (a detector that failed, a spent rule budget, a blow-up past the
   * normaliser's cap), which is refused in every mode: monitor mode forwards what was judged, never
   * what could not be.
   */
  #effective(verdict: Verdict): Verdict | null {
    if (!this.init.policy.monitor) return verdict
    return uninspected(verdict)
  }

  #clientVerdict(message: JsonRpcMessage, verdict: Verdict): ClientOutcome {
    const effective = this.#effective(verdict)
    if (!effective || effective.action === 'allow') return this.#track({ forward: message })
    if (effective.action === 'modify') return this.#track({ forward: effective.message })
    if ('method' in message && 'id' in message) return { answer: this.blockedError(message.id, effective) }
    if ('method' in message) return { drop: true }
    // A blocked reply to a server request (sampling, elicitation, roots) becomes a rejection for the origin.
    return { forward: rejection(message.id) }
  }

  /**
   * `fromClient`, then the asynchronous tool-integrity checks (src/tools) on what would be forwarded.
   * `streamable`: the message is alone in a POST accepting SSE, so a sensitive call may be held.
   */
  async fromClientChecked(message: JsonRpcMessage, bytes = 0, opts: ApprovalOptions = {}): Promise<ClientOutcome> {
    // A task's requests name only the task: the tool it runs (recorded when the call created it) stops it
    // with its kill switch and access lists, and its result gets that tool's schema check and budget.
    const lookup = await requestedTaskTool(this.init.tools, message)
    // A verified caller's request about a task not recorded as its own, checked first so that nothing
    // after it (kill switch, access lists) tells whether the task exists: answered as a task that does
    // not, in monitor mode too (an access boundary, like the session's).
    if (lookup === false && this.init.tools && isRequest(message)) return { answer: this.init.tools.taskNotFound(message.id) }
    // The record of the task's tool cannot be read: none of that tool's checks could be applied.
    if (lookup === null && isRequest(message) && unreadableTaskRefused(this.init.policy.monitor, this.init.tools)) return { answer: refusal(message.id, this.init.requestId, 'tool-pins-unavailable') }
    const taskTool = lookup || undefined
    if (taskTool !== undefined && 'id' in message && this.#killed.includes(taskTool)) return { answer: this.#toolDisabled(message.id) }
    // So do the access lists: a tool denied since the task was created, or to this caller, gives it nothing.
    const denied = taskTool !== undefined && isRequest(message) ? this.init.tools?.taskRefusal(message, taskTool) : undefined
    if (denied) return { answer: denied }
    const outcome = await this.#fromClientRefined(message, bytes)
    // Every answer about the task is the tool's: its status message (any of them) and its result are charged to the
    // tool's budget; a result also gets the tool's output-schema check.
    if (taskTool !== undefined && 'forward' in outcome && isRequest(outcome.forward) && TASK_METHODS.has(outcome.forward.method)) {
      const { id, method } = outcome.forward
      this.pending.set(id, { method, toolName: taskTool })
      if (TASK_RESULT_METHODS.has(method)) await this.init.tools?.resume([[id, method, taskTool]])
    }
    if (!this.init.tools || !('forward' in outcome) || !isRequest(outcome.forward)) return outcome
    const decision = await this.init.tools.decide(outcome.forward, opts)
    if ('answer' in decision) this.pending.delete(outcome.forward.id)
    return decision
  }

  /**
   * The asynchronous tool-integrity checks (src/tools) on a server message, then `fromServer`. What the
   * firewall lent the origin is scrubbed first: the gate stores what it is given (a definition in its pin,
   * which reviewers read through the admin API; a task id), not only what the client gets.
   */
  async fromServerChecked(received: JsonRpcMessage, bytes = 0): Promise<ServerOutcome> {
    const message = this.#scrubbed(received)
    // 2026-07-28 servers must not send requests on any stream (they ask through MRTR results), and a client of
    // that revision has no way to answer one: hidden, and not answered on its behalf either.
    if (this.init.era === 'modern' && 'method' in message && 'id' in message) {
      console.warn(JSON.stringify({ event: 'origin_request_dropped', requestId: this.init.requestId, tenant: this.init.tenantId, method: message.method }))
      return { drop: true }
    }
    // The firewall's own request ids are its own: an origin request using one is declined, never shown.
    if ('method' in message && 'id' in message && isFirewallRequestId(message.id)) return { drop: true, answerOrigin: onBehalfAnswer(message.method, message.id) }
    // A call whose tool was killed while it ran (its stream was open): the client gets the kill, not the result.
    const asking = this.#pendingOf(message)
    if (asking?.toolName !== undefined && this.#killed.includes(asking.toolName) && 'id' in message) {
      this.pending.delete(message.id as JsonRpcId)
      return { emit: this.#toolDisabled(message.id), own: true }
    }
    const tools = this.init.tools
    if (tools && isNotification(message)) {
      await tools.beforeNotify(message.method)
      if (TASK_PUSHES.has(message.method)) {
        const push = await taskPush(tools, message, () => ({ killed: this.#killed, monitor: this.init.policy.monitor }))
        if ('drop' in push) return push
        return 'plain' in push ? this.#metered(message, bytes) : this.#metered(push.message, bytes, push.fitsOutput, push.tool)
      }
    }
    if (!tools || 'method' in message || message.id === null) return this.#metered(message, bytes)
    const asked = this.pending.get(message.id)
    const task = asked?.method === 'tools/call' && asked.toolName !== undefined && 'result' in message ? createdTask(message.result, this.init.era) : undefined
    if (task && asked?.toolName !== undefined) await tools.rememberTask(task.taskId, asked.toolName, task.ttlMs)
    const fitsOutput = tools.outputFit(message.id) // asked first: beforeEmit forgets the call
    return this.#metered(await tools.beforeEmit(message, this.pending.get(message.id)?.method), bytes, fitsOutput)
  }

  /**
   * `fromServer`, then the budget (src/budget) on what the client would get: its context tokens
   * are spent from the isolate's lease, or checked with the budget object before the message is released.
   * `fitsOutput`: the tool result's output-schema check; `taskTool`: the tool a notification's task result is charged to.
   */
  async #metered(message: JsonRpcMessage, bytes: number, fitsOutput?: MessageContext['fitsOutput'], taskTool?: string): Promise<ServerOutcome> {
    const meter = this.init.meter
    if (!meter) return this.#fromServerRefined(message, bytes, fitsOutput)
    const pending = this.#pendingOf(message)
    const outcome = await this.#fromServerRefined(message, bytes, fitsOutput)
    // A blocked response is not counted: the firewall's error in its place carries none of the origin's text.
    if (!('emit' in outcome) || outcome.own) return outcome
    const check = meter.server(outcome.emit, pending?.method, pending?.toolName ?? taskTool)
    if (!check) return outcome
    return gateServer(outcome.emit, check, meter).then((gated) => {
      if (gated.refused) this.budgetRefused ??= gated.refused
      return gated.outcome
    })
  }

  /**
   * Inspects a server message (response, server request or notification) bound for the client.
   * `fitsOutput`: the pinned output schema's check, for a tool result (see MessageContext).
   */
  fromServer(message: JsonRpcMessage, bytes = 0, fitsOutput?: MessageContext['fitsOutput']): ServerOutcome {
    const pending = this.#pendingOf(message)
    return this.#serverVerdict(message, this.#inspect(message, 'server_to_client', methodOf(message) ?? pending?.method, pending?.toolName, bytes, fitsOutput))
  }

  /** `fromServer`, with the second stage's opinion when the tenant has one (`init.secondStage`). */
  async #fromServerRefined(message: JsonRpcMessage, bytes: number, fitsOutput?: MessageContext['fitsOutput']): Promise<ServerOutcome> {
    if (!this.init.secondStage) return this.fromServer(message, bytes, fitsOutput)
    const pending = this.#pendingOf(message)
    return this.#serverVerdict(message, await this.#inspectRefined(message, 'server_to_client', methodOf(message) ?? pending?.method, pending?.toolName, bytes, fitsOutput))
  }

  #pendingOf(message: JsonRpcMessage): Pending | undefined {
    return !('method' in message) && message.id !== null ? this.pending.get(message.id) : undefined
  }

  #serverVerdict(message: JsonRpcMessage, verdict: Verdict): ServerOutcome {
    const isResponse = !('method' in message)
    if (isResponse && message.id !== null) this.pending.delete(message.id)
    const effective = this.#effective(verdict)
    if (!effective || effective.action === 'allow') return { emit: this.#scrubbed(message) }
    if (effective.action === 'modify') return { emit: this.#scrubbed(effective.message) }
    if (isResponse) return { emit: this.blockedError(message.id, effective), own: true }
    if ('id' in message) return { drop: true, answerOrigin: onBehalfAnswer(message.method, message.id) }
    return { drop: true }
  }

  /** `message` without what the firewall lent the origin (src/proxy/lent-secrets.ts), whatever the policy. */
  #scrubbed(message: JsonRpcMessage): JsonRpcMessage {
    const scrubbed = this.init.lent ? scrubLent(message, this.init.lent) : null
    if (scrubbed === null) return message
    console.warn(JSON.stringify({ event: 'origin_echoed_lent_secret', requestId: this.init.requestId, tenant: this.init.tenantId }))
    return scrubbed
  }

  /**
   * Scans 2026-07-28 `Mcp-Param-*` header values as request arguments (their values mirror the body,
   * but unknown ones are forwarded as the spec requires, so they are a channel of their own). Returns
   * the blocking verdict when a header must not reach the origin.
   */
  checkParamHeaders(headers: Headers, message: JsonRpcMessage): Extract<Verdict, { action: 'block' }> | null {
    const started = performance.now()
    const ctx = this.#context('client_to_server', methodOf(message), toolNameOf(message))
    const verdict = inspectParamHeaders(headers, this.init.policy, ctx)
    if (verdict === null) return null
    // The body's inspection never sees these headers: their findings are a security event of their own
    // (a block, a monitor-mode hit or a flag), or the log and the block alerts would never hear of them.
    this.#record(verdict, ctx, 0, started)
    const effective = this.#effective(verdict)
    return effective?.action === 'block' ? effective : null
  }

  /** The JSON-RPC error a client sees for a blocked message: a request id always, rule ids on opt-in. */
  blockedError(id: JsonRpcId | null, verdict: Extract<Verdict, { action: 'block' }>): JsonRpcResponse {
    const data: { requestId: string; reason: string; ruleIds?: string[] } = { requestId: this.init.requestId, reason: verdict.reason }
    if (this.init.policy.revealRuleIds) data.ruleIds = summarizeFindings(verdict.findings).ruleIds
    return { jsonrpc: '2.0', id, error: { code: FirewallCode.blocked, message: `Blocked by MCP firewall: ${verdict.reason}`, data } }
  }

  /**
   * Whether `messages` from the origin hold a response that answers no request of this POST, or answers
   * one twice: an origin fault, or an attempt to hand the client an answer it never asked for. The relays
   * refuse such a body or event whole (-31007) rather than pass it or pick a part.
   */
  answersUnasked(messages: readonly JsonRpcMessage[]): boolean {
    if (!this.init.ownAnswersOnly) return false
    let answered: Set<JsonRpcId> | undefined // only a batch can answer an id twice
    for (const m of messages) {
      if ('method' in m || m.id === null) continue
      if (!this.pending.has(m.id) || answered?.has(m.id)) return true
      if (messages.length > 1) (answered ??= new Set()).add(m.id)
    }
    return false
  }

  /**
   * A resumed GET stream's requests (stream-state.ts), forwarded by an earlier POST: their answers are
   * matched, checked and charged as on the POST's own stream, and nothing else is answered on it.
   */
  async resume(requests: readonly StreamRequest[]): Promise<void> {
    this.init.ownAnswersOnly = true
    this.init.resumed = true
    for (const [id, method, tool] of requests) this.pending.set(id, { method, ...(tool !== undefined ? { toolName: tool } : {}) })
    await this.init.tools?.resume(requests)
  }

  /** The requests still waiting, as a stream carries them (stream-state.ts). */
  streamRequests(): StreamRequest[] {
    return [...this.pending].map(([id, p]) => (p.toolName !== undefined ? [id, p.method, p.toolName] : [id, p.method]))
  }

  #toolDisabled(id: JsonRpcId | null): JsonRpcResponse {
    return { jsonrpc: '2.0', id, error: { code: FirewallCode.tenantDisabled, message: 'Tool disabled', data: { requestId: this.init.requestId } } }
  }

  /** Errors for every request still waiting (a stream that had to be cut), then forgets them. */
  failPending(code: number, message: string, data: { [key: string]: JsonValue } = {}): JsonRpcResponse[] { // data: the budget window
    const out: JsonRpcResponse[] = []
    for (const id of this.pending.keys()) out.push({ jsonrpc: '2.0', id, error: { code, message, data: { ...data, requestId: this.init.requestId } } })
    this.pending.clear()
    return out
  }

  /**
   * Errors for the requests a complete answer left without a response (a JSON body, a 202): the client
   * would otherwise wait for them until its own timeout. Empty when every request was answered.
   */
  unanswered(): JsonRpcResponse[] {
    if (this.pending.size === 0 || this.init.resumed) return []
    const { code, message } = toWire({ kind: 'origin_no_answer' })
    return this.failPending(code, message)
  }

  #track(outcome: { forward: JsonRpcMessage }): ClientOutcome {
    const m = outcome.forward
    if ('method' in m && 'id' in m) {
      const toolName = toolNameOf(m)
      this.pending.set(m.id, { method: m.method, ...(toolName ? { toolName } : {}) })
    }
    return outcome
  }

  #context(direction: Direction, method: string | undefined, toolName: string | undefined, fitsOutput?: MessageContext['fitsOutput']): MessageContext {
    return {
      tenantId: this.init.tenantId,
      direction,
      requestId: this.init.requestId,
      era: this.init.era,
      ...(method ? { method } : {}),
      ...(toolName ? { toolName } : {}),
      ...(this.init.sessionId ? { sessionId: this.init.sessionId } : {}),
      ...(this.init.identity ? { identity: this.init.identity } : {}),
      ...(fitsOutput ? { fitsOutput } : {}),
    }
  }

  #inspect(message: JsonRpcMessage, direction: Direction, method: string | undefined, toolName: string | undefined, bytes: number, fitsOutput?: MessageContext['fitsOutput']): Verdict {
    const ctx = this.#context(direction, method, toolName, fitsOutput)
    const started = performance.now()
    return this.#record(inspect(message, ctx, this.init.policy), ctx, bytes, started)
  }

  /**
   * `#inspect` with the classifier's uncertain fields put to the tenant's second stage, within the
   * request's budget of calls and waiting time (shared by every message of the exchange).
   */
  async #inspectRefined(message: JsonRpcMessage, direction: Direction, method: string | undefined, toolName: string | undefined, bytes: number, fitsOutput?: MessageContext['fitsOutput']): Promise<Verdict> {
    const ctx = this.#context(direction, method, toolName, fitsOutput)
    const started = performance.now()
    const { policy, secondStage, requestId, lent } = this.init
    const cfg = policy.classifier.secondStage
    const budget = cfg ? (this.#stageBudget ??= new SecondStageBudget(cfg.timeoutMs)) : undefined
    let outcome: SecondStageOutcome = 'skipped'
    const verdict = await inspectRefined(message, ctx, policy, async (findings, fieldOf) => {
      if (!secondStage) return findings
      const refined = await refineWithSecondStage(findings, fieldOf, policy.classifier, secondStage, { injectionThreshold: policy.injectionThreshold, requestId, lent, ...(budget ? { budget } : {}) })
      outcome = refined.outcome
      if (refined.outcome !== 'skipped') {
        const { sent, unsent, error } = refined
        console.log(JSON.stringify({ event: 'second_stage', requestId, tenant: this.init.tenantId, outcome, sent, ...(unsent ? { unsent } : {}), ...(error ? { error } : {}) }))
      }
      return refined.findings
    })
    return this.#record(verdict, ctx, bytes, started, outcome)
  }

  #record(verdict: Verdict, ctx: MessageContext, bytes: number, started: number, secondStage: SecondStageOutcome = 'skipped'): Verdict {
    const { direction, method, toolName } = ctx
    const { ruleIds, kinds } = summarizeFindings(verdict.findings)
    if (toolName !== undefined && direction === 'client_to_server') this.init.sink.showToolAs(toolName, shownToolName(toolName, verdict.findings))
    this.init.sink.record({
      ts: new Date().toISOString(),
      requestId: this.init.requestId,
      tenant: this.init.tenantId,
      configVersion: this.init.configVersion,
      direction,
      ...(method ? { method } : {}),
      ...(toolName ? { tool: toolName } : {}),
      // What would have happened: the verdict, or more where rules in monitor mode would have acted (staged).
      verdict: verdict.staged ?? verdict.action,
      monitor: (this.init.policy.monitor && verdict.action !== 'allow' && uninspected(verdict) === null) || verdict.staged !== undefined,
      ruleIds,
      kinds,
      bytes,
      inspectMicros: Math.round((performance.now() - started) * 1000),
      ...(secondStage !== 'skipped' ? { secondStage } : {}),
    })
    return verdict
  }
}

