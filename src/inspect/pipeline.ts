/**
 * The inspection pipeline: one message in, one verdict out.
 *
 *   policy checks (deny-listed tools) → fields (every attacker-controlled string, §3) → detectors
 *   → actions resolved under the tenant's policy → injection scores combined → block | modify | allow
 *
 * Synchronous, and deterministic for a given policy: the findings of definition strings come from a memo
 * when the same string was scanned before (`memo.ts`). A detector that throws blocks the message (fail
 * closed); monitor mode is applied by the caller, which logs the verdict and forwards the original.
 */
import type { JsonObject, JsonRpcMessage, JsonValue } from '../mcp/jsonrpc'
import type { CompiledPolicy } from './policy'
import type { BlockReason, Finding, FindingKind, MessageContext, RuleAction, Verdict } from './types'
import { collectFields } from './fields'
import type { InspectField } from './fields'
import { applyEdits } from './redact'
import type { DecodedPayload, TextEdit } from './redact'
import { base64SpellingOf } from './base64'
import { getAt, setAt } from './pointer'
import { toolResultPath } from '../mcp/tool-result'
import { combineInjection } from './combine'
import { detectField } from './memo'
import { InspectionWork, InspectionWorkExceeded } from './work'

/**
 * Inspects one JSON-RPC message under a compiled policy. Never throws. The verdict's `work` is the
 * items the message cost (`work.ts`); past the cap it is refused as an inspection error.
 */
export function inspect(message: JsonRpcMessage, ctx: MessageContext, policy: CompiledPolicy): Verdict {
  const work = new InspectionWork()
  try {
    const d = detect(message, ctx, policy, work)
    return { ...('verdict' in d ? d.verdict : withStaged(message, ctx, policy, d)), work: work.spent }
  } catch (err) {
    return inspectionError(ctx, err, work)
  }
}

/**
 * Rewrites a message's findings before the verdict, e.g. the optional second stage's opinion on the
 * classifier's uncertain fields. Returns the findings in the same order (one per input finding).
 */
export type Refine = (findings: readonly Finding[], fieldOf: (f: Finding) => InspectField | undefined) => Promise<readonly Finding[]>

/** `inspect`, with the findings refined (asynchronously) before the verdict. Never throws. */
export async function inspectRefined(message: JsonRpcMessage, ctx: MessageContext, policy: CompiledPolicy, refine: Refine): Promise<Verdict> {
  const work = new InspectionWork()
  try {
    const d = detect(message, ctx, policy, work)
    if ('verdict' in d) return { ...d.verdict, work: work.spent }
    const refined = await refine(d.findings, (f) => d.source.get(f))
    if (refined.length !== d.findings.length) throw new Error('refine must keep one finding per finding')
    const source = new Map(d.source)
    refined.forEach((f, i) => {
      const field = d.source.get(d.findings[i] as Finding)
      if (field) source.set(f, field)
    })
    return { ...withStaged(message, ctx, policy, { subject: d.subject, findings: [...refined], source }), work: work.spent }
  } catch (err) {
    return inspectionError(ctx, err, work)
  }
}

/**
 * The refusal for a verdict whose findings say part of the message went unread (kind `error`: a detector
 * that failed, a spent rule budget, a blow-up past the normaliser's cap, more items than the work cap),
 * else null. Monitor mode forwards what was judged, never what could not be: the live path
 * (src/proxy/exchange.ts) and the dry run both ask.
 */
export function uninspected(verdict: Verdict): Verdict | null {
  const errors = verdict.findings.filter((f) => f.kind === 'error')
  return errors.length === 0 ? null : { action: 'block', reason: 'inspection-error', findings: errors }
}

function inspectionError(ctx: MessageContext, err: unknown, work: InspectionWork): Verdict {
  if (err instanceof InspectionWorkExceeded) {
    // Not a fault: a message of more items than the cap, refused before the detectors read them.
    console.warn(JSON.stringify({ event: 'inspection_work_exceeded', requestId: ctx.requestId, tenant: ctx.tenantId, direction: ctx.direction, ...(ctx.method ? { method: ctx.method } : {}), limit: err.limit }))
    return { action: 'block', reason: 'inspection-error', findings: [{ ruleId: 'inspection-work-exceeded', kind: 'error', path: '', score: 1, action: 'block' }], work: work.spent }
  }
  console.error(JSON.stringify({ event: 'inspection_error', requestId: ctx.requestId, tenant: ctx.tenantId, error: String(err) }))
  return { action: 'block', reason: 'inspection-error', findings: [{ ruleId: 'inspection-error', kind: 'error', path: '', score: 1, action: 'block' }], work: work.spent }
}

/** What the detectors found in a message, each finding with the field it came from (a key and its value share a pointer). */
interface Detected {
  subject: JsonRpcMessage
  findings: Finding[]
  source: Map<Finding, InspectField>
}

function detect(message: JsonRpcMessage, ctx: MessageContext, policy: CompiledPolicy, work: InspectionWork): Detected | { verdict: Verdict } {
  const denied = deniedToolCall(message, ctx, policy)
  if (denied) return { verdict: { action: 'block', reason: 'denied-tool', findings: [denied] } }

  const filtered = filterDeniedTools(message, ctx, policy)
  const subject = filtered?.message ?? message
  const findings: Finding[] = filtered ? [...filtered.findings] : []

  const fields = collectFields(subject, { direction: ctx.direction, era: ctx.era, ...(ctx.method ? { method: ctx.method } : {}) }, { work })
  const source = new Map<Finding, InspectField>()
  for (const field of fields) {
    for (const f of detectField(policy, field, ctx)) {
      work.charge(1) // its bookkeeping, and an edit or a count in the verdict
      const resolved = resolveAction(f, policy)
      findings.push(resolved)
      source.set(resolved, field)
    }
  }
  return { subject, findings, source }
}

/**
 * `decide`, plus what the rules a tenant runs in monitor mode would have done (`Verdict.staged`): their
 * findings come as flags that add nothing to the score, so the verdict alone would log a staged rule that
 * would block as an allow, and the tenant watching its event log before raising the pin would see nothing.
 * A message modified anyway is `staged: 'modify'` too when they would have redacted or stripped more of it
 * (a staged secret beside hidden Unicode the tenant strips): raising the pin would change what is forwarded.
 */
function withStaged(message: JsonRpcMessage, ctx: MessageContext, policy: CompiledPolicy, d: Detected): Verdict {
  const monitored = d.findings.some((f) => monitoredActionOf(f) !== undefined)
  const base = monitored ? [...d.findings] : d.findings // decide appends its own findings (quarantined tools)
  const verdict = decide(message, ctx, policy, d)
  if (!monitored || verdict.action === 'block') return verdict
  const source = new Map<Finding, InspectField>()
  const enforced = base.map((f) => {
    const e = enforcedFinding(f)
    const field = d.source.get(f)
    if (field) source.set(e, field)
    return e
  })
  const would = decide(message, ctx, policy, { subject: d.subject, findings: enforced, source })
  if (would.action === 'block') return { ...verdict, staged: 'block' }
  if (would.action !== 'modify') return verdict
  // The enforced edits are a subset of the would-be ones: any difference is more.
  const more = verdict.action === 'allow' || (verdict.action === 'modify' && JSON.stringify(would.message) !== JSON.stringify(verdict.message))
  return more ? { ...verdict, staged: 'modify' } : verdict
}

/**
 * The findings as they would be with every rule a tenant runs in monitor mode enforced, or null when none
 * of them comes from such a rule. For verdicts taken outside `inspect` (the `Mcp-Param-*` headers).
 */
export function stagedFindings(findings: readonly Finding[]): Finding[] | null {
  return findings.some((f) => monitoredActionOf(f) !== undefined) ? findings.map(enforcedFinding) : null
}

function monitoredActionOf(f: Finding): RuleAction | undefined {
  return (f as { monitoredAction?: RuleAction }).monitoredAction
}

/** A monitored rule finding as it would be enforced (src/detectors/rules/findings.ts makes it the other way round). */
function enforcedFinding(f: Finding): Finding {
  const action = monitoredActionOf(f)
  if (action === undefined) return f
  const e: Finding = { ...f }
  if (f.kind === 'injection' && action === 'block') {
    // An enforced blocking injection rule counts toward the threshold with its score, and has no action.
    delete e.action
    e.score = (f as { ruleScore?: number }).ruleScore ?? f.score
  } else e.action = action
  return e
}

function decide(message: JsonRpcMessage, ctx: MessageContext, policy: CompiledPolicy, d: Detected): Verdict {
  const { subject, findings, source } = d

  // A poisoned tool in tools/list is removed from the list rather than failing the whole list.
  const fieldOf = (f: Finding): string => (source.get(f)?.isKey ? `${f.path}#key` : f.path)
  const quarantine = ctx.direction === 'server_to_client' && ctx.method === 'tools/list' ? poisonedTools(findings, policy, fieldOf) : new Set<number>()
  const active = quarantine.size === 0 ? findings : findings.filter((f) => !quarantine.has(toolIndex(f.path) ?? -1))

  const injection = combineInjection(active, fieldOf)
  if (injection >= policy.injectionThreshold) return { action: 'block', reason: 'injection', findings }

  const blocking = active.find((f) => f.action === 'block')
  if (blocking) return { action: 'block', reason: reasonFor(blocking.kind), findings }

  const edits: TextEdit[] = []
  const numbers = new Map<string, string>()
  const payloads = new Map<InspectField, DecodedPayload | null>()
  for (const f of active) {
    if ((f.action !== 'redact' && f.action !== 'strip') || !f.span) continue
    const field = source.get(f)
    // Keys, joined views and base64 that cannot be written back exactly have no place to edit: refuse the message instead.
    if (!field || field.isKey || field.joined) return { action: 'block', reason: reasonFor(f.kind), findings }
    const payload = field.decoded ? rewritablePayload(field, subject, ctx, payloads) : undefined
    if (payload === null) return { action: 'block', reason: reasonFor(f.kind), findings }
    const replacement = f.action === 'redact' ? `[REDACTED:${f.kind}]` : ''
    // A number has no part to cut: the whole value becomes the marker (a string, so the schema check below applies).
    if (field.numeric) numbers.set(f.path, replacement || `[REDACTED:${f.kind}]`)
    else edits.push({ path: f.path, span: f.span, replacement, ...(payload ? { decoded: payload } : {}), ...(field.loose ? { loose: true } : {}) })
  }
  let result = edits.length > 0 ? applyEdits(subject, edits) : subject
  for (const [path, marker] of numbers) result = setAt(result, path, marker)
  const edited = [...edits.map((e) => e.path), ...numbers.keys()]
  const at = toolResultPath(message, ctx.method)
  if (at !== null && edited.some((path) => path.startsWith(`${at}/structuredContent`)) && !stillFits(result, at, ctx)) result = asErrorResult(result, at, ctx)
  if (quarantine.size > 0) {
    result = withoutTools(result, quarantine)
    for (const i of quarantine) findings.push({ ruleId: 'tool-quarantined', kind: 'policy', path: `/result/tools/${i}`, score: 1, action: 'strip' })
  }
  if (result !== message) return { action: 'modify', message: result, findings }
  return { action: 'allow', findings }
}

/**
 * The text a decoded base64 field gives back to its payload, once per field (`memo`), or null when it
 * cannot: in a server's result only (a request's secrets block it, and a client's call is not rewritten),
 * and only when the whole payload was decoded and re-encoding its text gives the payload back exactly.
 */
function rewritablePayload(field: InspectField, message: JsonRpcMessage, ctx: MessageContext, memo: Map<InspectField, DecodedPayload | null>): DecodedPayload | null {
  let payload = memo.get(field)
  if (payload !== undefined) return payload
  const value = getAt(message, field.path)
  const inResult = ctx.direction === 'server_to_client' && field.path.startsWith('/result/')
  const spelling = inResult && !field.truncated && typeof value === 'string' ? base64SpellingOf(value, field.raw) : null
  payload = spelling && { text: field.raw, spelling }
  memo.set(field, payload)
  return payload
}

/** Whether a redacted `structuredContent` of the tool result at `at` still fits the tool's pinned `outputSchema` (unknown: no). */
function stillFits(message: JsonRpcMessage, at: string, ctx: MessageContext): boolean {
  if (!ctx.fitsOutput) return false
  const structured = getAt(message, `${at}/structuredContent`) as JsonValue | undefined
  return structured !== undefined && ctx.fitsOutput(structured)
}

/**
 * A redacted `structuredContent` may no longer match the tool's `outputSchema` (a `format`, `pattern`
 * or `enum` broken by `[REDACTED:…]`), and the SDK client rejects such results. An `isError` result
 * skips that validation, so unless the redacted content is known to fit the pinned schema the tool result
 * at `at` goes back as an error result instead (mcp-protocol.md §4.6). 2026-07-28 results keep their `resultType`.
 */
function asErrorResult(message: JsonRpcMessage, at: string, ctx: MessageContext): JsonRpcMessage {
  const content = getAt(message, `${at}/content`)
  const result: JsonObject = { content: Array.isArray(content) ? (content as JsonValue[]) : [], isError: true }
  if (ctx.era === 'modern') result['resultType'] = 'complete'
  return setAt(message, at, result)
}

const TOOL_PATH = /^\/result\/tools\/(\d+)(?:\/|$)/

function toolIndex(path: string): number | undefined {
  const m = TOOL_PATH.exec(path)
  return m?.[1] === undefined ? undefined : Number(m[1])
}

/** Indices of tools whose own findings would block: an injection score over the threshold, or a block. */
function poisonedTools(findings: readonly Finding[], policy: CompiledPolicy, fieldOf: (f: Finding) => string): Set<number> {
  const byTool = new Map<number, Finding[]>()
  for (const f of findings) {
    const i = toolIndex(f.path)
    if (i !== undefined) byTool.set(i, [...(byTool.get(i) ?? []), f])
  }
  const bad = new Set<number>()
  for (const [i, group] of byTool) {
    if (combineInjection(group, fieldOf) >= policy.injectionThreshold || group.some((f) => f.action === 'block')) bad.add(i)
  }
  return bad
}

/** The tools/list result without the tools at `indices`. */
function withoutTools(message: JsonRpcMessage, indices: ReadonlySet<number>): JsonRpcMessage {
  if (!('result' in message)) return message
  const tools = message.result['tools']
  if (!Array.isArray(tools)) return message
  const result: JsonObject = { ...message.result }
  Object.defineProperty(result, 'tools', { value: tools.filter((_, i) => !indices.has(i)), enumerable: true, writable: true, configurable: true })
  return { ...message, result }
}

/**
 * The invisible-Unicode detector's findings follow the tenant's `policy.unicode` action; everything else
 * keeps its rule's action. The unicode rule pack's findings (they carry `pack`) already hold the action
 * its pack and rule settings resolved, monitor mode included: that pack is how a tenant tunes hidden
 * Unicode per rule, with `policy.unicode` set to `off`, which must not turn its strips and blocks into flags.
 */
function resolveAction(f: Finding, policy: CompiledPolicy): Finding {
  if (f.kind !== 'unicode' || 'pack' in f) return f
  const action: RuleAction = policy.unicode === 'off' ? 'flag' : policy.unicode
  return { ...f, action }
}

function reasonFor(kind: FindingKind): BlockReason {
  switch (kind) {
    case 'injection':
    case 'secret':
    case 'pii':
    case 'unicode':
    case 'exfiltration':
    case 'shadowing':
    case 'policy':
      return kind
    case 'error':
      return 'inspection-error'
  }
}

/** A client's `tools/call` naming a deny-listed tool is refused before anything else runs. */
function deniedToolCall(message: JsonRpcMessage, ctx: MessageContext, policy: CompiledPolicy): Finding | null {
  if (ctx.direction !== 'client_to_server' || !('method' in message) || message.method !== 'tools/call') return null
  const name = message.params?.['name']
  if (typeof name !== 'string' || !policy.isToolDenied(name)) return null
  return { ruleId: 'tool-deny-list', kind: 'policy', path: '/params/name', score: 1, action: 'block' }
}

/** A `tools/list` result loses its deny-listed tools (a sanitised result, not an error). */
function filterDeniedTools(
  message: JsonRpcMessage,
  ctx: MessageContext,
  policy: CompiledPolicy,
): { message: JsonRpcMessage; findings: Finding[] } | null {
  if (ctx.direction !== 'server_to_client' || ctx.method !== 'tools/list' || !('result' in message)) return null
  const tools = message.result['tools']
  if (!Array.isArray(tools)) return null
  const findings: Finding[] = []
  const kept: JsonValue[] = []
  tools.forEach((tool, i) => {
    const name = isObject(tool) ? tool['name'] : undefined
    if (typeof name === 'string' && policy.isToolDenied(name)) {
      findings.push({ ruleId: 'tool-deny-list', kind: 'policy', path: `/result/tools/${i}`, score: 1, action: 'strip' })
    } else kept.push(tool)
  })
  if (findings.length === 0) return null
  const result: JsonObject = { ...message.result }
  Object.defineProperty(result, 'tools', { value: kept, enumerable: true, writable: true, configurable: true })
  return { message: { ...message, result }, findings }
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
