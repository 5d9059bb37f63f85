/**
 * A client's `tools/call`, `prompts/get`, `resources/read` and `resources/subscribe` before they reach
 * the origin: the caller may use the name (access lists, on the body's name or URI only); the tool or
 * prompt is approved and unchanged (pins); the arguments satisfy the pinned `inputSchema`; and a
 * sensitive tool has an approval for exactly this call, or its user confirms it (`approval.ts`).
 * Anything refused never reaches the origin.
 */
import type { JsonObject, JsonRpcRequest, JsonRpcResponse, JsonValue } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'
import type { Finding } from '../inspect/types'
import { FirewallError } from '../errors'
import { globMatch } from '../inspect/policy'
import { canonicalJson } from './canonical'
import { decideApproval, type ApprovalOptions, type HeldApproval, type OperatorGrant } from './approval'
import { accessOf, enforcing, recordVerdict, refusal, type Refusal, type ToolGateInit } from './context'
import type { Pins } from './pins'
import type { AccessKind } from './access'
import type { ToolsPolicy } from './policy'
import { relistIfChanged } from './list-changed'
import type { IndexedPin } from './pin-cache'
import { compileSchema, type CompiledSchema, type SchemaCheck } from './schema'
import { BoundedCache } from '../bounded-cache'
import type { FirewallRuleId } from '../inspect/rule-ids'

/** What a forwarded call leaves behind for its result. */
export interface CallMemo {
  tool: string
  output: CompiledSchema | null
  /** Set for an approved sensitive call: an origin `input_required` answer to it is wrapped (approval.ts). */
  callHash?: string
}

/** A forwarded request; `message` is set when the firewall took its own parts out of it (2026 MRTR). */
export type Forward = { forward: true; memo?: CallMemo; message?: JsonRpcRequest; grant?: OperatorGrant }

/** A sensitive call held until its user answers `question` (legacy elicitation). */
export interface HeldVerdict {
  question: JsonRpcRequest
  settle(): Promise<Forward | { answer: JsonRpcResponse }>
}

export type RequestVerdict = { answer: JsonRpcResponse } | Forward | { hold: HeldVerdict }

const FORWARD: RequestVerdict = { forward: true }

/** Checks one client request; an `answer` refuses it (or, for a 2026 sensitive call, asks its user first). */
export async function checkRequest(init: ToolGateInit, pins: Pins, m: JsonRpcRequest, opts: ApprovalOptions = {}): Promise<RequestVerdict> {
  const denied = accessRefusal(init.tools, m, init.identity)
  if (denied) return refuse(init, m, denied.reason, [denied.finding], denied.tool)
  const params = m.params ?? {}
  if (m.method === 'tools/call') return checkToolCall(init, pins, m, params, opts)
  if (m.method === 'prompts/get') {
    const name = getOwn(params, 'name')
    if (typeof name !== 'string') return FORWARD
    return pinnedOrRefused(init, pins, m, 'prompt', name).then((r) => ('refuse' in r ? refuse(init, m, r.refuse, r.findings, name) : FORWARD))
  }
  return FORWARD
}

/**
 * A request about a task (`tasks/result`, `tasks/get`, `tasks/cancel`) whose task runs `tool`: refused
 * when the access lists do not let this caller use the tool, as a call to it would be. The task may have
 * been created before the tool was denied, or by another identity; its result is the tool's output either way.
 */
export function checkTaskRequest(init: ToolGateInit, m: JsonRpcRequest, tool: string): RequestVerdict {
  if (accessOf(init.tools).permits('tools', tool, init.identity)) return FORWARD
  return refuse(init, m, 'tool-not-allowed', [policyFinding('tool-access-denied', '/params/taskId')], tool)
}

/**
 * A push to this caller (`method`: a 2026-07-28 `notifications/tasks`, a 2025-11-25
 * `notifications/tasks/status`) about a task that runs `tool`: false when the access lists do not let the
 * caller use the tool, so the push is withheld as the task's `tasks/get` would be refused (true in monitor
 * mode, which logs it).
 */
export function taskPushPermitted(init: ToolGateInit, tool: string, method: string): boolean {
  if (accessOf(init.tools).permits('tools', tool, init.identity)) return true
  const started = performance.now()
  recordVerdict(init, { direction: 'server_to_client', method, tool, verdict: 'block', findings: [policyFinding('tool-access-denied', '/params/taskId')], started })
  return !enforcing(init)
}

/** The access lists' refusal of `m` alone (as `checkRequest` gives it), or a forward when they permit it or the tenant monitors. */
export function checkAccess(init: ToolGateInit, m: JsonRpcRequest): RequestVerdict {
  const denied = accessRefusal(init.tools, m, init.identity)
  return denied ? refuse(init, m, denied.reason, [denied.finding], denied.tool) : FORWARD
}

/** Where each request names what the access lists judge, and how their refusal of it reads. */
const NAMED: Readonly<Record<string, { kind: AccessKind; field: 'name' | 'uri'; reason: Refusal; rule: FirewallRuleId }>> = {
  'tools/call': { kind: 'tools', field: 'name', reason: 'tool-not-allowed', rule: 'tool-access-denied' },
  'prompts/get': { kind: 'prompts', field: 'name', reason: 'prompt-not-allowed', rule: 'prompt-access-denied' },
  'resources/read': { kind: 'resources', field: 'uri', reason: 'resource-not-allowed', rule: 'resource-access-denied' },
  'resources/subscribe': { kind: 'resources', field: 'uri', reason: 'resource-not-allowed', rule: 'resource-access-denied' },
}

/**
 * The access lists' refusal of a request for a tool, prompt or resource they do not permit `identity`
 * (judged on the body's name or URI only); null when they permit it or it names nothing. `tool`: the
 * tool or prompt name, for the event. The tool gate and the dry run (src/tenant/dry-run.ts) share it.
 */
export function accessRefusal(tools: ToolsPolicy, m: JsonRpcRequest, identity: string | undefined): { reason: Refusal; finding: Finding; tool?: string } | null {
  const named = NAMED[m.method]
  const name = named ? getOwn(m.params ?? {}, named.field) : undefined
  if (!named || typeof name !== 'string' || accessOf(tools).permits(named.kind, name, identity)) return null
  return { reason: named.reason, finding: policyFinding(named.rule, `/params/${named.field}`), ...(named.field === 'name' ? { tool: name } : {}) }
}

async function checkToolCall(init: ToolGateInit, pins: Pins, m: JsonRpcRequest, params: JsonObject, opts: ApprovalOptions): Promise<RequestVerdict> {
  const name = getOwn(params, 'name')
  if (typeof name !== 'string') return FORWARD
  const started = performance.now()

  const findings: Finding[] = []
  let definition: JsonObject | null = null
  if (init.tools.pinning !== 'off') {
    const pinned = await pinnedOrRefused(init, pins, m, 'tool', name)
    if ('refuse' in pinned) return refuse(init, m, pinned.refuse, pinned.findings, name)
    findings.push(...pinned.findings)
    definition = pinned.definition
  }

  const args = getOwn(params, 'arguments') ?? {}
  const input = definition ? schemaOf(definition, 'inputSchema') : null
  // What the call is recorded as when it goes on: in monitor mode, the refusal it would have met.
  let verdict: 'allow' | 'block' = 'allow'
  if (input && init.tools.schema.arguments !== 'off') {
    const check = input.check(args)
    findings.push(...schemaFindings(check, '/params/arguments', 'schema-arguments-invalid'))
    if (!check.valid && init.tools.schema.arguments === 'block') {
      verdict = 'block'
      if (enforcing(init)) {
        recordVerdict(init, { direction: 'client_to_server', method: m.method, tool: name, verdict, findings, started })
        const errors = check.errors.map((e) => ({ at: e.at, keyword: e.keyword }))
        return { answer: { jsonrpc: '2.0', id: m.id, error: { code: -32602, message: "Invalid params: arguments do not match the tool's input schema", data: { requestId: init.requestId, errors } } } }
      }
    }
  }

  const output = definition ? schemaOf(definition, 'outputSchema') : null
  if (!init.tools.requireApproval.some((g) => globMatch(g, name))) {
    recordVerdict(init, { direction: 'client_to_server', method: m.method, tool: name, verdict, findings, started })
    return { forward: true, memo: { tool: name, output } }
  }
  const approval = await decideApproval(init, m, name, args, opts)
  if ('challenge' in approval) return { answer: approval.challenge } // nothing decided yet: recorded when the retry is
  if ('held' in approval) return { hold: holdCall(init, m, name, output, findings, approval.held) }
  if ('refused' in approval) {
    findings.push(policyFinding('tool-call-approval-required', '/params/name'))
    return refuse(init, m, approval.refused, findings, name, approval.extra)
  }
  if (approval.confirmed) findings.push(confirmedFinding())
  recordVerdict(init, { direction: 'client_to_server', method: m.method, tool: name, verdict, findings, started })
  // In monitor mode an origin's own `input_required` answer is not wrapped: that would rewrite it.
  const memo: CallMemo = { tool: name, output, ...(enforcing(init) ? { callHash: approval.callHash } : {}) }
  return { forward: true, memo, ...(approval.message !== m ? { message: approval.message } : {}), ...(approval.grant ? { grant: approval.grant } : {}) }
}

/** A legacy call waiting for its user: forwarded once confirmed, refused as before otherwise (`data.confirmation` says why). */
function holdCall(init: ToolGateInit, m: JsonRpcRequest, tool: string, output: CompiledSchema | null, findings: Finding[], held: HeldApproval): HeldVerdict {
  return {
    question: held.question,
    async settle() {
      const outcome = await held.wait()
      const started = performance.now()
      if (outcome === 'granted') {
        recordVerdict(init, { direction: 'client_to_server', method: m.method, tool, verdict: 'allow', findings: [...findings, confirmedFinding()], started })
        return { forward: true, memo: { tool, output } }
      }
      recordVerdict(init, { direction: 'client_to_server', method: m.method, tool, verdict: 'block', findings: [...findings, policyFinding('tool-call-approval-required', '/params/name')], started })
      if (outcome === 'unavailable') return { answer: refusal(m.id, init.requestId, 'tool-pins-unavailable') }
      if (held.approvalId === null) return { answer: refusal(m.id, init.requestId, 'approval-requests-full', { confirmation: outcome }) }
      return { answer: refusal(m.id, init.requestId, 'approval-required', { approvalId: held.approvalId, confirmation: outcome }) }
    },
  }
}

/** Recorded with the verdict of a call its user confirmed through elicitation (the event log is the audit trail). */
function confirmedFinding(): Finding {
  return { ruleId: 'tool-call-confirmed-by-user', kind: 'policy', path: '/params/name', score: 0, action: 'flag' }
}

type Pinned = { definition: JsonObject | null; findings: Finding[] } | { refuse: Refusal; findings: Finding[] }

/** The definition a call runs against, or why it is refused (enforce) — alert mode only records. */
async function pinnedOrRefused(init: ToolGateInit, pins: Pins, m: JsonRpcRequest, kind: 'tool' | 'prompt', name: string): Promise<Pinned> {
  // The origin was down or refused the caller while the firewall listed it: the client learns that, for
  // this call's id, as if the call had been forwarded; nothing is.
  const asCall = (err: unknown): never => {
    throw err instanceof FirewallError ? new FirewallError(err.problem, m.id) : err
  }
  const strict = init.tools.pinning === 'enforce'
  const refuseOr = (reason: Refusal, rule: FirewallRuleId, definition: string | null): Pinned => {
    const findings = [policyFinding(rule, '/params/name')]
    return strict ? { refuse: reason, findings } : { definition: parse(definition), findings: findings.map((f) => ({ ...f, action: 'flag' })) }
  }
  // The origin announced a changed list nobody listed since: the pins may still vouch for the old definition.
  const relist = await relistIfChanged(init, pins, kind, m).catch(asCall)
  if (!relist.ok) return refuseOr('tool-list-unavailable', 'tool-not-reviewed', null)
  if (relist.unverified.has(name)) return refuseOr('tool-pins-unavailable', 'tool-pins-unavailable', null)
  const lookup = await pins.lookup(kind, name, m).catch(asCall)
  if (lookup.kind === 'unavailable') return refuseOr('tool-pins-unavailable', 'tool-pins-unavailable', null)
  if (lookup.kind === 'unknown') return refuseOr('tool-not-reviewed', 'tool-not-reviewed', null)
  // The firewall could not list the origin to review a never-seen tool: nothing vouches for it, so the
  // call is refused like any unreviewed one (only enforce mode lists the origin at all).
  if (lookup.kind === 'unlisted') return refuseOr('tool-list-unavailable', 'tool-not-reviewed', null)
  const pin: IndexedPin = lookup.pin
  if (pin.state === 'approved') return { definition: parse(pin.approved), findings: [] }
  if (pin.state === 'pending') return refuseOr('tool-pending-approval', 'tool-pending-approval', pin.candidate ?? pin.approved)
  return refuseOr('tool-rejected', 'tool-rejected', pin.candidate ?? pin.approved)
}

function refuse(init: ToolGateInit, m: JsonRpcRequest, reason: Refusal, findings: Finding[], tool?: string, extra: JsonObject = {}): RequestVerdict {
  const started = performance.now()
  recordVerdict(init, { direction: 'client_to_server', method: m.method, ...(tool ? { tool } : {}), verdict: 'block', findings, started })
  return enforcing(init) ? { answer: refusal(m.id, init.requestId, reason, extra) } : FORWARD
}

/** Findings of a schema check: a violation, members the schema does not declare, keywords not checked. */
export function schemaFindings(check: SchemaCheck, base: string, invalidRule: FirewallRuleId): Finding[] {
  const out: Finding[] = []
  if (!check.valid) out.push({ ruleId: invalidRule, kind: 'policy', path: base, score: 1, action: 'flag' })
  for (const at of check.undeclared) out.push({ ruleId: 'schema-undeclared-property', kind: 'exfiltration', path: `${base}${at.slice(1)}`, score: 0, action: 'flag' })
  if (check.unchecked.length > 0) out.push({ ruleId: 'schema-keyword-unchecked', kind: 'policy', path: base, score: 0, action: 'flag' })
  return out
}

function policyFinding(ruleId: FirewallRuleId, path: string): Finding {
  return { ruleId, kind: 'policy', path, score: 1, action: 'block' }
}

// Parsed pinned definitions, by their canonical text (shared by every call of a tool in the isolate).
const MAX_PARSED = 1_000
/**
 * Definition text kept by the cache, all entries together (a parsed definition takes a few times its
 * text). Without it 1,000 definitions of up to MAX_DEFINITION_CHARS would outgrow the isolate's memory; a
 * 200-tool list of realistic definitions is about 150,000 characters.
 */
export const MAX_PARSED_CHARS = 2_000_000
const parsed = new BoundedCache<JsonObject>(MAX_PARSED, MAX_PARSED_CHARS)

/** A tool's approved definition, or null when none was ever approved. */
export function approvedDefinition(pin: IndexedPin | undefined): JsonObject | null {
  return parse(pin?.approved ?? null)
}

/** The output schema of a tool's approved definition (a resumed stream's call, whose request this exchange never saw). */
export function approvedOutput(pin: IndexedPin | undefined): CompiledSchema | null {
  const definition = approvedDefinition(pin)
  return definition ? schemaOf(definition, 'outputSchema') : null
}

function parse(definition: string | null): JsonObject | null {
  if (definition === null) return null
  const hit = parsed.get(definition)
  if (hit) return hit
  const value = JSON.parse(definition) as JsonValue
  if (!isJsonObject(value)) return null
  parsed.set(definition, value, definition.length)
  return value
}

/** Characters of definition text the cache holds (tests). */
export function parsedDefinitionChars(): number {
  return parsed.chars
}

const schemas = new WeakMap<JsonObject, Map<string, CompiledSchema | null>>()

/** The compiled `inputSchema` / `outputSchema` of a pinned definition, or null when it has none. */
function schemaOf(definition: JsonObject, field: 'inputSchema' | 'outputSchema'): CompiledSchema | null {
  let byField = schemas.get(definition)
  if (!byField) {
    byField = new Map()
    schemas.set(definition, byField)
  }
  const hit = byField.get(field)
  if (hit !== undefined) return hit
  const schema = getOwn(definition, field)
  const compiled = schema === undefined || (typeof schema !== 'boolean' && !isJsonObject(schema)) ? null : compileSchema(canonicalJson(schema), schema)
  byField.set(field, compiled)
  return compiled
}
