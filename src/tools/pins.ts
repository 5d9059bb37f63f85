/**
 * The pins as one exchange sees them: look a definition up (edge cache first, then the object, then —
 * for a call naming a tool never seen — the origin's own list), and record definitions the cache does
 * not know as approved (first seen, scan clean) or pending (everything else), in the `ToolPins` object.
 */
import type { JsonObject, JsonRpcRequest } from '../mcp/jsonrpc'
import { definitionJson, pinName, type PinKind } from './canonical'
import { PINS_MISS_REFRESH_MS, SELF_LIST_INTERVAL_MS } from './bounds'
import type { ToolGateInit } from './context'
import { PinIndex, readPins, storePins, type IndexedPin } from './pin-cache'
import { MAX_DEFINITION_CHARS, MAX_FINDING_PATH, MAX_LISTED_DEFINITIONS, type Observation, type PinSet } from './pin-types'
import { InspectionWork, InspectionWorkExceeded } from '../inspect/work'
import { clipped } from '../clip'
import { scanDefinition, type DefinitionFinding, type DefinitionScan } from './scan'
import { looseName } from './shadowing'
import { namesBySkeleton } from './lookalike'

/** A list entry with its pin name. */
export interface Named {
  name: string
  entry: JsonObject
  /** Set when the list itself makes the definition suspect: it is held for review whatever its scan says. */
  hold?: DefinitionFinding
}

/** A name served with more than one definition in one list: a client keeps one copy, the origin may run another. */
export const DUPLICATE_NAME: DefinitionFinding = { ruleId: 'tool-duplicate-name', kind: 'shadowing', path: '/name', score: 1 }

/**
 * The names a list serves with different definitions (canonical JSON). None of their copies can be
 * vouched for: which one the client shows the model and which one the origin runs is anyone's guess.
 * @example mixedNames([{ name: 'add', definition: '{"a":1}' }, { name: 'add', definition: '{"a":2}' }]) // Set { 'add' }
 */
export function mixedNames(served: ReadonlyArray<{ name: string; definition: string }>): Set<string> {
  const first = new Map<string, string>()
  const mixed = new Set<string>()
  for (const { name, definition } of served) {
    const seen = first.get(name)
    if (seen === undefined) first.set(name, definition)
    else if (seen !== definition) mixed.add(name)
  }
  return mixed
}

/**
 * `unknown`: no pin, and the origin's own list (when fetched) does not have it either.
 * `unlisted`: no pin, and the origin could not be listed (it failed or timed out): see `lookup`.
 */
export type Lookup = { kind: 'pin'; pin: IndexedPin } | { kind: 'unknown' } | { kind: 'unlisted' } | { kind: 'unavailable' }

/** Largest `observe` call, in definition characters (RPC arguments stay far below their limit). */
const MAX_BATCH_CHARS = 4 * 1024 * 1024
const MAX_BATCH_ITEMS = 500

// What listing the origin for a name found, remembered for a while: a client calling made-up names
// costs at most one origin list per name per interval, and every call in between gets the same answer.
const selfListed = new Map<string, { at: number; outcome: 'unknown' | 'unlisted' }>()

export class Pins {
  constructor(private readonly init: ToolGateInit) {}

  /** The pin index (edge cache, bounded staleness), or null when the pins cannot be read. */
  async index(refreshOlderThan?: number): Promise<PinIndex | null> {
    const i = this.init
    const read = await readPins(i.tenantId, i.origin, i.tools.volatile, { env: i.env, ...i.pinDeps }, refreshOlderThan)
    return read.ok ? read.index : null
  }

  /**
   * The pin of a definition a request names. A name the cached copy lacks re-reads the object; one the
   * object lacks too makes the firewall list the origin itself (enforce mode) and pin what it finds.
   */
  async lookup(kind: PinKind, name: string, like: JsonRpcRequest): Promise<Lookup> {
    let index = await this.index()
    if (!index) return { kind: 'unavailable' }
    let pin = index.get(kind, name)
    if (pin) return { kind: 'pin', pin }
    index = await this.index(PINS_MISS_REFRESH_MS)
    if (!index) return { kind: 'unavailable' }
    pin = index.get(kind, name)
    if (pin) return { kind: 'pin', pin }
    const lister = this.init.lister
    if (!lister || kind === 'resourceTemplate' || this.init.tools.pinning !== 'enforce') return { kind: 'unknown' }
    const memo = `${this.init.tenantId}\n${this.init.origin}\n${kind}\n${name}`
    const recent = selfListed.get(memo)
    if (recent && Date.now() - recent.at < SELF_LIST_INTERVAL_MS) return { kind: recent.outcome }
    const entries = await lister(kind === 'tool' ? 'tools/list' : 'prompts/list', like)
    // The origin cannot list its tools (it failed, timed out or answered something unreadable), or lists
    // more than the gate judges in one list (it is not recorded, so it vouches for nothing).
    if (!entries || tooLong(this.init, kind === 'tool' ? 'tools/list' : 'prompts/list', entries.length)) {
      remember(memo, 'unlisted')
      return { kind: 'unlisted' }
    }
    // Only names the object can pin (as for a client's page, list-check.ts): one it would refuse would make
    // it refuse the whole batch, and every other tool of the list with it.
    const listed = entries.flatMap((entry) => {
      const name = pinName(entry)
      return name === null ? [] : [{ name, entry, definition: definitionJson(kind, entry) }]
    })
    const mixed = mixedNames(listed)
    const named: Named[] = listed.map(({ name, entry }) => (mixed.has(name) ? { name, entry, hold: DUPLICATE_NAME } : { name, entry }))
    const unknown = named.filter((n) => index?.get(kind, n.name) === undefined)
    let after: PinIndex | null
    try {
      after = unknown.length > 0 ? await this.observe(kind, unknown, index, named.map((n) => n.name)) : index
    } catch (err) {
      if (!(err instanceof InspectionWorkExceeded)) throw err
      remember(memo, 'unlisted')
      return { kind: 'unlisted' }
    }
    pin = after?.get(kind, name)
    if (pin) return { kind: 'pin', pin }
    remember(memo, 'unknown')
    return { kind: 'unknown' }
  }

  /**
   * Records definitions the cache could not vouch for. Returns the object's updated pins (also stored
   * in the edge cache), or null when the object could not be reached (nothing is approved then). Their
   * scans share one meter of the inspection work cap (`MAX_INSPECTION_ITEMS`): past it this throws
   * `InspectionWorkExceeded` before anything is recorded, and the caller refuses the list.
   */
  async observe(kind: PinKind, entries: readonly Named[], base: PinIndex | null, pageNames: readonly string[]): Promise<PinIndex | null> {
    const i = this.init
    const known = new Set([...(base?.names ?? []), ...pageNames.map(looseName)])
    const pinned = (base?.set.entries ?? []).flatMap((e) => (e.kind === kind ? [e.name] : []))
    const names = namesBySkeleton([...pinned, ...pageNames])
    const items: Observation[] = []
    const work = new InspectionWork()
    for (const { name, entry, hold } of entries) {
      const definition = definitionJson(kind, entry)
      if (definition.length > MAX_DEFINITION_CHARS) continue // never approved: stays unknown, so stripped
      // A name approved before its look-alikes appeared is the one they imitate: it is not held for them.
      const scan = this.#scan(kind, entry, known, base?.get(kind, name)?.approved ? undefined : names, work)
      items.push({ kind, name, definition, scan: hold ? { ...scan, held: true, findings: [hold, ...scan.findings].slice(0, 50) } : scan })
    }
    if (items.length === 0) return base
    try {
      let set: PinSet | undefined
      for (const batch of batches(items)) {
        const result = await i.env.TOOL_PINS.getByName(i.tenantId).observe({ tenant: i.tenantId, origin: i.origin, volatile: i.tools.volatile, items: batch })
        if (!result) throw new Error('observe refused its arguments')
        set = result.set
      }
      if (!set) return base
      await storePins(i.tenantId, i.origin, set, { ...i.pinDeps })
      return new PinIndex(set, i.tools.volatile)
    } catch (err) {
      console.error(JSON.stringify({ event: 'tool_pins_observe_failed', tenant: i.tenantId, requestId: i.requestId, error: String(err) }))
      return null
    }
  }

  #scan(kind: PinKind, entry: JsonObject, knownNames: ReadonlySet<string>, namesBySkeleton: ReadonlyMap<string, ReadonlySet<string>> | undefined, work: InspectionWork): DefinitionScan {
    const i = this.init
    try {
      const scan = scanDefinition(kind, entry, { policy: i.policy, tenantId: i.tenantId, requestId: i.requestId, era: i.era, knownNames, work, ...(namesBySkeleton ? { namesBySkeleton } : {}) })
      // The path is a pointer through the origin's own keys: cut, or the object would refuse the whole batch.
      return { ...scan, findings: scan.findings.slice(0, 50).map((f) => (f.path.length > MAX_FINDING_PATH ? { ...f, path: clipped(f.path, MAX_FINDING_PATH) } : f)) }
    } catch (err) {
      // The list's scans spent the work cap: the whole list is refused, not this definition held.
      if (err instanceof InspectionWorkExceeded) {
        console.warn(JSON.stringify({ event: 'definition_scan_work_exceeded', tenant: i.tenantId, requestId: i.requestId, kind, limit: err.limit }))
        throw err
      }
      // A detector that throws holds the definition (fail closed).
      console.error(JSON.stringify({ event: 'definition_scan_error', tenant: i.tenantId, requestId: i.requestId, error: String(err) }))
      return { held: true, score: 1, findings: [{ ruleId: 'inspection-error', kind: 'error', path: '', score: 1 }] }
    }
  }

}

/**
 * True (and logged) when a list holds more definitions than the gate judges in one list
 * (`MAX_LISTED_DEFINITIONS`): it is refused before any of them is compared, scanned or recorded.
 */
export function tooLong(init: ToolGateInit, method: string, count: number): boolean {
  if (count <= MAX_LISTED_DEFINITIONS) return false
  console.warn(JSON.stringify({ event: 'tool_list_too_long', tenant: init.tenantId, requestId: init.requestId, method, count, limit: MAX_LISTED_DEFINITIONS }))
  return true
}

function remember(key: string, outcome: 'unknown' | 'unlisted'): void {
  if (selfListed.size >= 10_000) selfListed.clear()
  selfListed.set(key, { at: Date.now(), outcome })
}

function* batches(items: Observation[]): Generator<Observation[]> {
  let batch: Observation[] = []
  let chars = 0
  for (const item of items) {
    if (batch.length > 0 && (batch.length >= MAX_BATCH_ITEMS || chars + item.definition.length > MAX_BATCH_CHARS)) {
      yield batch
      batch = []
      chars = 0
    }
    batch.push(item)
    chars += item.definition.length
  }
  if (batch.length > 0) yield batch
}
