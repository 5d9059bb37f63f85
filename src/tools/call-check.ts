/**
 * A client's `tools/call`, `prompts/get`, `resources/read` and `resources/subscribe` before they reach
 * the origin: the caller may use the name (access lists, on the body's name or URI only); the tool or
 * prompt is approved and unchanged (pins); the arguments satisfy the pinned `inputSchema`; and a
 * sensitive tool has an approval for exactly this call. Anything refused never reaches the origin.
 */
import type { JsonObject, JsonRpcRequest, JsonRpcResponse, JsonValue } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'
import type { Finding } from '../inspect/types'
import { globMatch } from '../inspect/policy'
import { canonicalJson, sha256Hex } from './canonical'
import { accessOf, enforcing, recordVerdict, refusal, type Refusal, type ToolGateInit } from './context'
import type { Pins } from './pins'
import type { IndexedPin } from './pin-cache'
import { compileSchema, type CompiledSchema, type SchemaCheck } from './schema'

/** What a forwarded call leaves behind for its result. */
export interface CallMemo {
  tool: string
  output: CompiledSchema | null
}

export type RequestVerdict = { answer: JsonRpcResponse } | { forward: true; memo?: CallMemo }

const FORWARD: RequestVerdict = { forward: true }

/** Checks one client request; an `answer` refuses it. */
export async function checkRequest(init: ToolGateInit, pins: Pins, m: JsonRpcRequest): Promise<RequestVerdict> {
  const params = m.params ?? {}
  if (m.method === 'tools/call') return checkToolCall(init, pins, m, params)
  if (m.method === 'prompts/get') {
    const name = getOwn(params, 'name')
    if (typeof name !== 'string') return FORWARD
    if (!accessOf(init.tools).permits('prompts', name, init.identity)) return refuse(init, m, 'prompt-not-allowed', [policyFinding('prompt-access-denied', '/params/name')], name)
    return pinnedOrRefused(init, pins, m, 'prompt', name).then((r) => ('refuse' in r ? refuse(init, m, r.refuse, r.findings, name) : FORWARD))
  }
  if (m.method === 'resources/read' || m.method === 'resources/subscribe') {
    const uri = getOwn(params, 'uri')
    if (typeof uri === 'string' && !accessOf(init.tools).permits('resources', uri, init.identity)) {
      return refuse(init, m, 'resource-not-allowed', [policyFinding('resource-access-denied', '/params/uri')])
    }
  }
  return FORWARD
}

async function checkToolCall(init: ToolGateInit, pins: Pins, m: JsonRpcRequest, params: JsonObject): Promise<RequestVerdict> {
  const name = getOwn(params, 'name')
  if (typeof name !== 'string') return FORWARD
  const started = performance.now()
  if (!accessOf(init.tools).permits('tools', name, init.identity)) return refuse(init, m, 'tool-not-allowed', [policyFinding('tool-access-denied', '/params/name')], name)

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
  if (input && init.tools.schema.arguments !== 'off') {
    const check = input.check(args)
    findings.push(...schemaFindings(check, '/params/arguments', 'schema-arguments-invalid'))
    if (!check.valid && init.tools.schema.arguments === 'block' && enforcing(init)) {
      recordVerdict(init, { direction: 'client_to_server', method: m.method, tool: name, verdict: 'block', findings, started })
      const errors = check.errors.map((e) => ({ at: e.at, keyword: e.keyword }))
      return { answer: { jsonrpc: '2.0', id: m.id, error: { code: -32602, message: "Invalid params: arguments do not match the tool's input schema", data: { requestId: init.requestId, errors } } } }
    }
  }

  if (init.tools.requireApproval.some((g) => globMatch(g, name))) {
    const decision = await requestApproval(init, name, args)
    if (decision !== 'granted') {
      findings.push(policyFinding('tool-call-approval-required', '/params/name'))
      const extra: JsonObject = decision === 'unavailable' ? {} : { approvalId: decision.id }
      return refuse(init, m, decision === 'unavailable' ? 'tool-pins-unavailable' : 'approval-required', findings, name, extra)
    }
  }
  recordVerdict(init, { direction: 'client_to_server', method: m.method, tool: name, verdict: 'allow', findings, started })
  const output = definition ? schemaOf(definition, 'outputSchema') : null
  return { forward: true, memo: { tool: name, output } }
}

type Pinned = { definition: JsonObject | null; findings: Finding[] } | { refuse: Refusal; findings: Finding[] }

/** The definition a call runs against, or why it is refused (enforce) — alert mode only records. */
async function pinnedOrRefused(init: ToolGateInit, pins: Pins, m: JsonRpcRequest, kind: 'tool' | 'prompt', name: string): Promise<Pinned> {
  const lookup = await pins.lookup(kind, name, m)
  const strict = init.tools.pinning === 'enforce'
  const refuseOr = (reason: Refusal, rule: string, definition: string | null): Pinned => {
    const findings = [policyFinding(rule, '/params/name')]
    return strict ? { refuse: reason, findings } : { definition: parse(definition), findings: findings.map((f) => ({ ...f, action: 'flag' })) }
  }
  if (lookup.kind === 'unavailable') return refuseOr('tool-pins-unavailable', 'tool-pins-unavailable', null)
  if (lookup.kind === 'unknown') return refuseOr('tool-not-reviewed', 'tool-not-reviewed', null)
  // The firewall could not list the origin to review a never-seen tool: the origin answers the call (its
  // failure, most likely) and the result is inspected as usual. Recorded when the list was tried (once
  // per tool, isolate and SELF_LIST_INTERVAL_MS), not for every call in between.
  if (lookup.kind === 'unlisted') return { definition: null, findings: lookup.listed ? [{ ...policyFinding('tool-not-reviewed', '/params/name'), action: 'flag' }] : [] }
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

async function requestApproval(init: ToolGateInit, tool: string, args: JsonValue): Promise<'granted' | 'unavailable' | { id: string }> {
  const identity = init.identity ?? null
  const argsJson = canonicalJson(args)
  const callHash = await sha256Hex(canonicalJson({ origin: init.origin, tool, identity, arguments: args }))
  try {
    const d = await init.env.TOOL_PINS.getByName(init.tenantId).requestCall({
      origin: init.origin,
      tool,
      identity,
      callHash,
      arguments: argsJson.length > 8 * 1024 ? `${argsJson.slice(0, 8 * 1024 - 1)}…` : argsJson,
      windowSeconds: init.tools.approvalWindowSeconds,
    })
    if (!d) return 'unavailable'
    return d.granted ? 'granted' : { id: d.id }
  } catch (err) {
    console.error(JSON.stringify({ event: 'call_approval_unavailable', tenant: init.tenantId, requestId: init.requestId, error: String(err) }))
    return 'unavailable'
  }
}

/** Findings of a schema check: a violation, members the schema does not declare, keywords not checked. */
export function schemaFindings(check: SchemaCheck, base: string, invalidRule: string): Finding[] {
  const out: Finding[] = []
  if (!check.valid) out.push({ ruleId: invalidRule, kind: 'policy', path: base, score: 1, action: 'flag' })
  for (const at of check.undeclared) out.push({ ruleId: 'schema-undeclared-property', kind: 'exfiltration', path: `${base}${at.slice(1)}`, score: 0, action: 'flag' })
  if (check.unchecked.length > 0) out.push({ ruleId: 'schema-keyword-unchecked', kind: 'policy', path: base, score: 0, action: 'flag' })
  return out
}

function policyFinding(ruleId: string, path: string): Finding {
  return { ruleId, kind: 'policy', path, score: 1, action: 'block' }
}

// Parsed pinned definitions, by their canonical text (shared by every call of a tool in the isolate).
const parsed = new Map<string, JsonObject>()

function parse(definition: string | null): JsonObject | null {
  if (definition === null) return null
  const hit = parsed.get(definition)
  if (hit) return hit
  const value = JSON.parse(definition) as JsonValue
  if (!isJsonObject(value)) return null
  if (parsed.size >= 1_000) parsed.clear()
  parsed.set(definition, value)
  return value
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
