/**
 * The definition scan (docs/tool-integrity.md): every string of a definition's pinned fields —
 * description, title, annotations, and every schema key, description, enum, default, pattern — through
 * the tenant's own detectors (invisible Unicode, rule packs, the classifier when enabled), plus the
 * cross-tool shadowing check. It runs when a definition is first seen and whenever it changes; a
 * first-seen definition is approved automatically only when this scan holds nothing.
 *
 * Held for review when any of:
 * - the combined injection score of one field reaches the tenant's `injectionThreshold` (what would block
 *   the same text in a tool result);
 * - a `shadowing` finding (rule packs' "whenever you use X" / "tools from other servers", or a
 *   directive naming a tool this server does not define);
 * - hidden Unicode, or any finding whose action is `block`;
 * - a tool or prompt name holding an invisible or format character, or looking like another name of
 *   the same kind in the list or the pins (`lookalike.ts`).
 * Weaker signals (an imperative "you must", a bare mention of a foreign tool) are recorded, not held:
 * real descriptions are full of them (data/mcp_tool_descriptions).
 */
import type { JsonObject, JsonRpcMessage, JsonValue } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'
import type { ProtocolEra } from '../mcp/era'
import type { CompiledPolicy } from '../inspect/policy'
import type { Finding, MessageContext } from '../inspect/types'
import { collectFields } from '../inspect/fields'
import type { InspectionWork } from '../inspect/work'
import { combineInjection } from '../inspect/combine'
import { detectField } from '../inspect/memo'
import { pickDefinition, type PinKind } from './canonical'
import { FOREIGN_MENTION, foreignReferences, looseName } from './shadowing'
import { lookalikeFindings } from './lookalike'

/** A finding as stored with a pin: enough to explain a hold, no text. */
export interface DefinitionFinding {
  ruleId: string
  kind: string
  /** JSON pointer inside the definition (e.g. `/description`, `/inputSchema/properties/notes/description`). */
  path: string
  score: number
}

export interface DefinitionScan {
  /** True when the definition must wait for an approval even on first sight. */
  held: boolean
  /** Combined injection score of the worst field (0..1). */
  score: number
  findings: DefinitionFinding[]
}

/** What the scan needs besides the definition. */
export interface ScanContext {
  policy: Pick<CompiledPolicy, 'detectors' | 'injectionThreshold'>
  tenantId: string
  requestId: string
  era: ProtocolEra
  /** Names this server defines (tools and prompts), compared loosely; the definition's own name is added. */
  knownNames: ReadonlySet<string>
  /** Names of the same kind (the list and the pins) by skeleton (`namesBySkeleton`); absent, look-alikes are not looked for. */
  namesBySkeleton?: ReadonlyMap<string, ReadonlySet<string>>
  /**
   * The meter of the whole list this definition comes from: every value and key the scan visits and every
   * finding counts against it, and past its cap the scan throws `InspectionWorkExceeded` (absent: no cap).
   */
  work?: InspectionWork
}

/** `knownNames` compared loosely, made once per set (a list's scans share it: rebuilding it for each definition made a list's scan quadratic). */
const looseSets = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>()
function looseSet(names: ReadonlySet<string>): ReadonlySet<string> {
  let loose = looseSets.get(names)
  if (!loose) {
    loose = new Set([...names].map(looseName))
    looseSets.set(names, loose)
  }
  return loose
}

const NO_NAMES: ReadonlyMap<string, ReadonlySet<string>> = new Map()

const LIST: Record<PinKind, { method: string; key: string }> = {
  tool: { method: 'tools/list', key: 'tools' },
  prompt: { method: 'prompts/list', key: 'prompts' },
  resourceTemplate: { method: 'resources/templates/list', key: 'resourceTemplates' },
}

/**
 * Scans one definition's pinned fields. Pure; throws on a detector bug (callers hold on throw), and
 * `InspectionWorkExceeded` once the list's meter (`ctx.work`) is spent (callers refuse the list).
 */
export function scanDefinition(kind: PinKind, entry: JsonObject, ctx: ScanContext): DefinitionScan {
  const list = LIST[kind]
  const picked = pickDefinition(kind, entry)
  const message: JsonRpcMessage = { jsonrpc: '2.0', id: 0, result: { [list.key]: [picked] } }
  const prefix = `/result/${list.key}/0`
  // A fresh context per definition: the rule engine's work budget is kept per context object.
  const mctx: MessageContext = { tenantId: ctx.tenantId, direction: 'server_to_client', method: list.method, requestId: ctx.requestId, era: ctx.era }
  const ownName = typeof picked['name'] === 'string' ? picked['name'] : ''
  // Its own parameters are not foreign tools ("pass this instead of 'field_ids'").
  const server = looseSet(ctx.knownNames)
  const own = new Set([ownName, ...parameterNames(picked)].map(looseName))
  const known = { has: (name: string) => own.has(name) || server.has(name) }
  const findings: Finding[] = []
  const keyOf = new Map<Finding, string>()
  const work = ctx.work
  for (const field of collectFields(message, { direction: 'server_to_client', method: list.method }, work ? { work } : {})) {
    // Through the pipeline's memo: the same list's inspection has usually just scanned these strings.
    for (const f of detectField(ctx.policy, field, mctx)) {
      findings.push(f)
      if (field.isKey) keyOf.set(f, `${f.path}#key`)
    }
    if (!field.isKey) findings.push(...foreignReferences(field.normalized.text, field.path, known))
  }
  // Tools and prompts are picked by name; a resource template's name picks nothing.
  if (kind !== 'resourceTemplate') findings.push(...lookalikeFindings(ownName, `${prefix}/name`, ctx.namesBySkeleton ?? NO_NAMES))
  work?.charge(findings.length)
  const score = combineInjection(findings, (f) => keyOf.get(f) ?? f.path)
  // Rules a tenant stages in monitor mode report what they would do (`monitoredAction`) and hold nothing.
  // A bare mention of a foreign tool is recorded only (real descriptions name companion servers' tools).
  const live = findings.filter((f) => !('monitoredAction' in f) && f.ruleId !== FOREIGN_MENTION)
  const held = score >= ctx.policy.injectionThreshold || live.some((f) => f.kind === 'shadowing' || f.kind === 'unicode' || f.action === 'block')
  return {
    held,
    score: Math.round(score * 1000) / 1000,
    findings: findings.map((f) => ({ ruleId: f.ruleId, kind: f.kind, path: f.path.startsWith(prefix) ? f.path.slice(prefix.length) || '/' : f.path, score: Math.round(f.score * 1000) / 1000 })),
  }
}

/** Every property name in a definition's schemas and every prompt argument name (bounded walk). */
function parameterNames(def: JsonObject): string[] {
  const out: string[] = []
  const stack: JsonValue[] = [def['inputSchema'] ?? null, def['outputSchema'] ?? null]
  const args = def['arguments']
  if (Array.isArray(args)) for (const a of args) if (isJsonObject(a) && typeof a['name'] === 'string') out.push(a['name'])
  for (let v = stack.pop(); v !== undefined && out.length < 2_000; v = stack.pop()) {
    if (Array.isArray(v)) stack.push(...v)
    else if (isJsonObject(v)) {
      const props = getOwn(v, 'properties')
      if (isJsonObject(props)) out.push(...Object.keys(props))
      stack.push(...Object.values(v))
    }
  }
  return out
}
