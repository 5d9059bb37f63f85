/**
 * The hooks the proxy calls for a tenant with a `budget` (DESIGN.md steps 6 and 9). A tenant without one
 * gets no meter, so its traffic pays nothing.
 *
 * - Before forwarding, {@link BudgetMeter.admitClient} charges one request per JSON-RPC request and the
 *   argument tokens; a refusal means the request never reaches the origin (-31002).
 * - For each server message the Exchange calls {@link BudgetMeter.server}: its context tokens are counted
 *   and spent from the isolate's lease synchronously; only when the lease cannot cover them does the
 *   relay wait for the object ({@link gateServer}) before releasing the message.
 *
 * Every counted message is charged exactly once: either from a lease or directly, never both, and a
 * refused message is not charged at all.
 */
import { toWire } from '../errors'
import type { Problem } from '../errors'
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse, JsonValue } from '../mcp/jsonrpc'
import type { ServerOutcome } from '../proxy/exchange-types'
import type { BudgetConfig, ScopeKey } from './config'
import { toolLimits } from './config'
import { LeaseLedger } from './lease'
import type { LedgerContext, Spend, SpendOutcome } from './lease'
import type { Refusal, ReserveInput, ReserveResult } from './rpc'
import { PRODUCING_METHODS, loadTokenizer, messageTokens } from './tokens'
import { budgetClock } from './windows'

/** What the proxy learns from a budget check: nothing to say (null), or the problem to answer with. */
export type BudgetVerdict = Problem | null

/** How long an object call may take before the tenant's failure mode applies. */
export const RPC_TIMEOUT_MS = 5_000

const ledgers = new Map<string, LeaseLedger>()

/** This isolate's lease ledger for a tenant (one lease holder per tenant per isolate). */
export function ledgerFor(env: Env, tenant: string): LeaseLedger {
  let ledger = ledgers.get(tenant)
  if (!ledger) {
    const reserve = async (input: ReserveInput): Promise<ReserveResult> => await env.BUDGET.getByName(tenant).reserve(input)
    ledger = new LeaseLedger((input) => withTimeout(reserve(input), RPC_TIMEOUT_MS))
    ledgers.set(tenant, ledger)
  }
  return ledger
}

export interface MeterInit {
  env: Env
  tenantId: string
  configVersion: number
  budget: BudgetConfig
  requestId: string
  /** The verified client identity (apiKey / jwt modes). */
  identity?: string
  /** The Mcp-Session-Id, the unverified fallback for per-client limits. */
  sessionId?: string
}

/** The budget of one HTTP exchange. */
export class BudgetMeter {
  readonly #init: MeterInit
  readonly #ctx: LedgerContext
  readonly #ledger: LeaseLedger
  readonly #client: ScopeKey | undefined

  constructor(init: MeterInit, ledger: LeaseLedger = ledgerFor(init.env, init.tenantId)) {
    this.#init = init
    this.#ctx = { tenant: init.tenantId, configVersion: init.configVersion, config: init.budget }
    this.#ledger = ledger
    const who = init.identity !== undefined ? clientScope('client', init.identity) : init.sessionId !== undefined ? clientScope('session', init.sessionId) : undefined
    this.#client = init.budget.perClient ? who : undefined
  }

  /** Resolves when messages can be counted (the tokenizer is loaded on the first budgeted request). */
  ready(): Promise<void> {
    return loadTokenizer()
  }

  /**
   * Charges client messages about to be forwarded: a request each and their argument tokens, plus the
   * content of replies to sampling requests. Requests for methods that produce context text also need at
   * least one token left. All or nothing. `taskTool` names the tool a `tasks/result` request's task runs,
   * when recorded (Exchange.pending): its result is that tool's text, so it needs a token of the tool's
   * left too, as a call of the tool does; the request itself was the call's, and is not charged to it again.
   */
  async admitClient(messages: readonly JsonRpcMessage[], taskTool: (request: JsonRpcRequest) => string | undefined = () => undefined): Promise<BudgetVerdict> {
    await loadTokenizer()
    const spends = new Map<string, Spend>()
    for (const m of messages) {
      const isRequest = 'method' in m && 'id' in m
      if ('method' in m && !isRequest) continue
      const tokens = messageTokens(m, 'client_to_server')
      const probe = isRequest && PRODUCING_METHODS.has(m.method)
      const requests = isRequest ? 1 : 0
      if (tokens === 0 && requests === 0) continue
      for (const scope of this.#scopes(isRequest ? toolOf(m) : undefined)) add(spends, scope, tokens, requests, probe)
      const task = isRequest && m.method === 'tasks/result' ? taskTool(m) : undefined
      if (task !== undefined && toolLimits(this.#init.budget, task)) add(spends, `tool:${task}`, 0, 0, true)
    }
    if (spends.size === 0) return null
    return this.#verdict(await this.#ledger.spend(this.#ctx, [...spends.values()]))
  }

  /**
   * Counts a server message's context tokens and spends them from the local lease. Returns undefined when
   * that settled it, or the pending object check the relay must await before releasing the message.
   */
  server(message: JsonRpcMessage, answers: string | undefined, tool: string | undefined): Promise<BudgetVerdict> | undefined {
    const tokens = messageTokens(message, 'server_to_client', answers)
    if (tokens === 0) return undefined
    const spends = this.#scopes(tool).map((scope): Spend => ({ scope, tokens, requests: 0 }))
    if (this.#ledger.trySpend(this.#ctx, spends)) return undefined
    return this.#ledger.spend(this.#ctx, spends).then((o) => this.#verdict(o))
  }

  /** The JSON-RPC error a client (or, for a server request, the origin) gets for a budget problem. */
  errorFor(id: JsonRpcId | null, problem: Problem): JsonRpcResponse {
    const wire = toWire(problem)
    return { jsonrpc: '2.0', id, error: { code: wire.code, message: wire.message, data: { ...dataOf(problem), requestId: this.#init.requestId } } }
  }

  #scopes(tool: string | undefined): ScopeKey[] {
    const out: ScopeKey[] = ['tenant']
    if (this.#client) out.push(this.#client)
    if (tool !== undefined && toolLimits(this.#init.budget, tool)) out.push(`tool:${tool}`)
    return out
  }

  #verdict(o: SpendOutcome): BudgetVerdict {
    if (o.ok) return null
    if ('refusal' in o) return exhausted(o.refusal)
    console.error(JSON.stringify({ event: 'budget_unavailable', tenant: this.#init.tenantId, requestId: this.#init.requestId, failureMode: this.#init.budget.failureMode, error: o.unavailable }))
    return this.#init.budget.failureMode === 'open' ? null : { kind: 'budget_unavailable' }
  }
}

/**
 * Awaits the object check of a server message the local lease could not cover. A refused response
 * becomes a -31002 error for its id (`refused` is set: an SSE stream ends after it); a refused server
 * request is hidden and answered to the origin with the same error.
 */
export async function gateServer(m: JsonRpcMessage, check: Promise<BudgetVerdict>, meter: BudgetMeter): Promise<{ outcome: ServerOutcome; refused?: Problem }> {
  const problem = await check
  if (!problem) return { outcome: { emit: m } }
  if (!('method' in m)) return { outcome: { emit: meter.errorFor(m.id, problem) }, refused: problem }
  if ('id' in m) return { outcome: { drop: true, answerOrigin: meter.errorFor(m.id, problem) } }
  return { outcome: { drop: true } }
}

/**
 * What to do with client messages the budget refused: requests are answered here (never forwarded),
 * replies to server requests become errors for the origin, notifications still go through.
 */
export function refuseClient(messages: readonly JsonRpcMessage[], problem: Problem, meter: BudgetMeter): { forward: JsonRpcMessage[]; answers: JsonRpcResponse[] } {
  const forward: JsonRpcMessage[] = []
  const answers: JsonRpcResponse[] = []
  for (const m of messages) {
    if ('method' in m && 'id' in m) answers.push(meter.errorFor(m.id, problem))
    else if ('method' in m) forward.push(m)
    else forward.push(meter.errorFor(m.id, problem))
  }
  return { forward, answers }
}

function exhausted(r: Refusal): Problem {
  const kind = r.scope === 'tenant' ? 'tenant' : r.scope.startsWith('tool:') ? 'tool' : 'client'
  return {
    kind: 'budget_exhausted',
    scope: kind,
    ...(kind === 'tool' ? { tool: r.scope.slice(5) } : {}),
    metric: r.metric,
    window: r.window,
    limit: r.limit,
    resetsAt: new Date(r.resetsAt).toISOString(),
    retryAfter: Math.max(1, Math.ceil((r.resetsAt - budgetClock.now()) / 1000)),
  }
}

function add(spends: Map<string, Spend>, scope: ScopeKey, tokens: number, requests: number, probe: boolean): void {
  const s = spends.get(scope)
  if (!s) spends.set(scope, { scope, tokens, requests, ...(probe ? { probe } : {}) })
  else spends.set(scope, { scope, tokens: s.tokens + tokens, requests: s.requests + requests, ...(probe || s.probe ? { probe: true } : {}) })
}

function toolOf(m: JsonRpcMessage): string | undefined {
  if (!('method' in m) || m.method !== 'tools/call') return undefined
  const name = m.params?.['name']
  return typeof name === 'string' ? name : undefined
}

/** The `data` object of a budget problem's wire error (also what pending requests get when a stream is cut). */
export function dataOf(problem: Problem): { [key: string]: JsonValue } {
  const data = toWire(problem).data
  return typeof data === 'object' && data !== null && !Array.isArray(data) ? data : {}
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('budget object timed out')), ms)
  })
  return Promise.race([p, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer)
  })
}

/**
 * A client's scope key within the budget object's limit (256 characters after the prefix). A longer
 * identity or session id keeps its first 200 characters and a 64-bit FNV-1a hash of the whole, so two
 * long ids sharing a prefix stay apart; cutting it instead (as before) broke every budget call for it.
 */
export function clientScope(kind: 'client' | 'session', id: string): ScopeKey {
  if (id.length <= 256) return `${kind}:${id}`
  let h = 0xcbf29ce484222325n
  for (let i = 0; i < id.length; i++) h = ((h ^ BigInt(id.charCodeAt(i))) * 0x100000001b3n) & 0xffffffffffffffffn
  return `${kind}:${id.slice(0, 200)}#${h.toString(16).padStart(16, '0')}`
}
