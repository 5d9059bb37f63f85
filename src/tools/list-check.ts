/**
 * Every page of `tools/list`, `prompts/list`, `resources/templates/list` and `resources/list` on its way
 * to the client (mcp-protocol.md §6.2): entries the caller may not see are removed; each definition is
 * compared with its pin, and a changed, new-and-held, or rejected one is removed in enforce mode (kept
 * and reported in alert mode) until someone approves it. Definitions the edge cache already vouches for
 * cost no object call; the rest are scanned and recorded in one `observe` per page.
 */
import type { JsonObject, JsonRpcResponse, JsonRpcResultResponse, JsonValue } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'
import type { Finding } from '../inspect/types'
import { comparisonJson, definitionJson, pinName, type PinKind } from './canonical'
import { accessOf, enforcing, recordVerdict, refusal, type ToolGateInit } from './context'
import type { Access, AccessKind } from './access'
import type { IndexedPin, PinIndex } from './pin-cache'
import { DUPLICATE_NAME, mixedNames, tooLong, type Named, type Pins } from './pins'
import type { FirewallRuleId } from '../inspect/rule-ids'
import { InspectionWorkExceeded } from '../inspect/work'

/** Where a list method keeps its entries, what they are pinned as, and which access list applies. */
export interface ListSpec {
  key: string
  pin: PinKind | null
  access: AccessKind
  field: 'name' | 'uri'
}

/** The list methods and their {@link ListSpec}. */
export const LISTS: Readonly<Record<string, ListSpec>> = {
  'tools/list': { key: 'tools', pin: 'tool', access: 'tools', field: 'name' },
  'prompts/list': { key: 'prompts', pin: 'prompt', access: 'prompts', field: 'name' },
  'resources/templates/list': { key: 'resourceTemplates', pin: 'resourceTemplate', access: 'resources', field: 'name' },
  'resources/list': { key: 'resources', pin: null, access: 'resources', field: 'uri' },
}

export type Outcome = 'keep' | 'denied' | 'pending' | 'rejected' | 'duplicate' | 'unverified'

/**
 * Checks one list page; returns the page to emit (the same object when nothing changed), or the refusal
 * in its place when the gate cannot judge it within its bounds (below).
 */
export async function checkList(init: ToolGateInit, pins: Pins, method: string, message: JsonRpcResultResponse): Promise<JsonRpcResponse> {
  const list = LISTS[method]
  const entries = list ? getOwn(message.result, list.key) : undefined
  if (!list || !Array.isArray(entries)) return message
  const started = performance.now()
  const access = accessOf(init.tools)
  const pinKind = init.tools.pinning === 'off' ? null : list.pin
  if (!access.active && pinKind === null) return message
  // More definitions than an origin can have pinned: refused before any is compared, scanned or recorded.
  if (pinKind !== null && tooLong(init, method, entries.length)) return refuseList(init, method, message, 'tool-list-too-long', started)

  const outcomes: Outcome[] = entries.map(() => 'keep')
  const pinnable: Array<Pinnable & { at: number }> = []
  entries.forEach((entry, at) => {
    const name = isJsonObject(entry) ? getOwn(entry, list.field) : undefined
    if (typeof name !== 'string') return
    if (hidesEntry(list, entry, access, init.identity)) {
      outcomes[at] = 'denied'
      return
    }
    if (!pinKind || !isJsonObject(entry)) return
    const p = pinnableEntry(pinKind, entry, init.tools.volatile)
    if (p) pinnable.push({ ...p, at })
    else outcomes[at] = 'unverified' // a name too long to pin is never approved
  })
  if (!pinKind || pinnable.length === 0) return emit(init, method, message, list.key, entries, outcomes, started)

  let judged: Outcome[]
  try {
    judged = await judgePinnable(pins, pinKind, pinnable, pageNames(entries))
  } catch (err) {
    // The scans of its new definitions spent the work cap: nothing of it was recorded.
    if (!(err instanceof InspectionWorkExceeded)) throw err
    return refuseList(init, method, message, 'inspection-work-exceeded', started)
  }
  pinnable.forEach((p, i) => (outcomes[p.at] = judged[i] ?? 'unverified'))
  return emit(init, method, message, list.key, entries, outcomes, started)
}

/**
 * The answer in place of a list page the gate could not judge within its bounds: -31001 `inspection-error`,
 * as the pipeline refuses a message past its work cap, in every mode (what was not judged is never shown).
 */
function refuseList(init: ToolGateInit, method: string, message: JsonRpcResultResponse, ruleId: FirewallRuleId, started: number): JsonRpcResponse {
  const findings: Finding[] = [{ ruleId, kind: 'error', path: '', score: 1, action: 'block' }]
  recordVerdict(init, { direction: 'server_to_client', method, verdict: 'block', findings, started, inAnyMode: true })
  return refusal(message.id, init.requestId, 'inspection-error')
}

/** A list entry to judge against its pin: its name, and the definition as compared and as stored. */
export type Pinnable = Named & { served: Served }

/** A pinnable entry of a list, or null when it has no name or one too long to pin (never approved). */
export function pinnableEntry(kind: PinKind, entry: JsonObject, volatile: readonly string[]): Pinnable | null {
  const name = getOwn(entry, 'name')
  if (typeof name !== 'string' || pinName(entry) === null) return null
  return { name, entry, served: servedForms(kind, entry, volatile) }
}

/** The names a list page serves (for the shadowing check, which looks at the whole page). */
export function pageNames(entries: readonly JsonValue[]): string[] {
  return entries.flatMap((e) => (isJsonObject(e) && typeof e['name'] === 'string' ? [e['name']] : []))
}

/**
 * The outcome of each entry of one list page (in order): definitions the pins vouch for cost no object
 * call; the rest are scanned and recorded in one `observe`. `unverified`: the object could not record it.
 */
export async function judgePinnable(pins: Pins, kind: PinKind, pinnable: readonly Pinnable[], names: readonly string[]): Promise<Outcome[]> {
  const index = await pins.index()
  const mixed = mixedNames(pinnable.map((p) => ({ name: p.name, definition: p.served.full })))
  const outcomes: Outcome[] = pinnable.map(() => 'unverified')
  const unknown: Array<Pinnable & { at: number }> = []
  pinnable.forEach((s, at) => {
    const pin = index?.get(kind, s.name)
    if (mixed.has(s.name)) {
      // Every copy goes; each one other than the approved definition is put under review whatever its scan
      // says, so calls are refused too, and the approved copy is never sent: this page cannot clear a rejection.
      outcomes[at] = 'duplicate'
      if (pin?.approved !== s.served.full) unknown.push({ ...s, at, hold: DUPLICATE_NAME })
      return
    }
    const known = pin ? judge(pin, s.served) : undefined
    if (known) outcomes[at] = known
    else unknown.push({ ...s, at })
  })
  if (unknown.length === 0) return outcomes
  const after: PinIndex | null = await pins.observe(kind, unknown, index, names)
  for (const u of unknown) {
    if (mixed.has(u.name)) continue
    const pin = after?.get(kind, u.name)
    outcomes[u.at] = (pin && judge(pin, u.served)) ?? 'unverified'
  }
  return outcomes
}

/** The page with what may not be shown taken out, and the verdict recorded (the same object when nothing changed). */
function emit(init: ToolGateInit, method: string, message: JsonRpcResultResponse, key: string, entries: JsonValue[], outcomes: Outcome[], started: number): JsonRpcResultResponse {
  const findings: Finding[] = []
  outcomes.forEach((o, at) => {
    if (o !== 'keep') findings.push({ ruleId: RULE[o], kind: 'policy', path: `/result/${key}/${at}`, score: 1, action: 'strip' })
  })
  if (findings.length === 0) return message
  const strip = (o: Outcome) => o !== 'keep' && (o === 'denied' || init.tools.pinning === 'enforce')
  const kept = entries.filter((_, at) => !strip(outcomes[at] ?? 'keep'))
  const changed = kept.length !== entries.length
  // Monitor mode records the page as it would have gone out (a `modify` the event marks as monitored) and sends it whole.
  recordVerdict(init, { direction: 'server_to_client', method, verdict: changed ? 'modify' : 'allow', findings: changed ? findings : findings.map((f) => ({ ...f, action: 'flag' })), started })
  if (!changed || !enforcing(init)) return message
  const result: JsonObject = { ...message.result }
  Object.defineProperty(result, key, { value: kept, enumerable: true, writable: true, configurable: true })
  return { ...message, result }
}

/**
 * True when the access lists hide a list entry from `identity` (one without a name or URI is left alone).
 * The tool gate and the dry run (src/tenant/dry-run.ts) share it.
 */
export function hidesEntry(list: ListSpec, entry: JsonValue, access: Access, identity: string | undefined): boolean {
  const name = isJsonObject(entry) ? getOwn(entry, list.field) : undefined
  return typeof name === 'string' && !accessNames(list.key, entry, name).every((n) => access.permits(list.access, n, identity))
}

/**
 * What the access lists judge an entry by: its name or URI; for a resource template, its URI template and
 * the literal prefix before its first expression, so `secret://*` hides `secret://{id}` and an allow list
 * hides a template that could expand outside it (`{+uri}`). Reads of what it expands to are checked anyway.
 */
function accessNames(key: string, entry: JsonValue, name: string): string[] {
  if (key !== 'resourceTemplates') return [name]
  const template = isJsonObject(entry) ? getOwn(entry, 'uriTemplate') : undefined
  if (typeof template !== 'string') return ['']
  const expression = template.indexOf('{')
  return expression === -1 ? [template] : [template, template.slice(0, expression)]
}

const RULE: Record<Exclude<Outcome, 'keep'>, FirewallRuleId> = {
  denied: 'tool-access-denied',
  pending: 'tool-pending-approval',
  rejected: 'tool-rejected',
  duplicate: 'tool-duplicate-name',
  unverified: 'tool-pins-unavailable',
}

/** A served definition as compared (`cmp`, volatile fields left out) and as stored and scanned (`full`). */
interface Served {
  cmp: string
  full: string
}

function servedForms(kind: PinKind, entry: JsonObject, volatile: readonly string[]): Served {
  const cmp = comparisonJson(kind, entry, volatile)
  return { cmp, full: volatile.length === 0 ? cmp : definitionJson(kind, entry) }
}

/** What a pin says about a served definition, or undefined when only the object can tell (its `observe` mirrors this). */
function judge(pin: IndexedPin, { cmp, full }: Served): Outcome | undefined {
  // Pending keeps priority over anything else the origin serves (decided before newer changes).
  if (pin.state === 'pending') return 'pending'
  if (pin.approvedCmp === cmp) {
    // New text in a volatile field is no change, but the object scans it before it is shown.
    if (pin.state === 'approved') return pin.approved === full ? 'keep' : undefined
    return pin.candidate === full ? 'rejected' : undefined
  }
  return pin.state === 'rejected' && pin.candidateCmp === cmp ? 'rejected' : undefined
}
