/**
 * `notifications/tools/list_changed` and `notifications/prompts/list_changed` (server/tools.mdx and
 * server/prompts.mdx, "List Changed Notification"): the origin says its list changed. Calls are judged
 * against the pins, so a client that does not list again would keep calling a tool whose definition the
 * origin just swapped (a rug pull, mcp-protocol.md §6.2) until some client listed. Instead the firewall
 * marks the list stale when it relays the notification — in the isolate at once, and in the `ToolPins`
 * object, whose pin sets carry the mark to every isolate and location within the pins' staleness bound —
 * and the next call (or prompt get) lists the origin itself (origin-list.ts) and judges that list as it
 * judges a client's page (list-check.ts) before it is decided. One complete list clears the mark
 * everywhere: from then on the pins hold what changed.
 */
import type { JsonRpcRequest } from '../mcp/jsonrpc'
import type { ToolGateInit } from './context'
import { judgePinnable, pageNames, pinnableEntry, type Outcome } from './list-check'
import { storePins } from './pin-cache'
import type { ListedKind, PinSet } from './pin-types'
import { tooLong, type Pins } from './pins'
import { InspectionWorkExceeded } from '../inspect/work'

/** The notifications that announce a changed list, and the kind of definition each is about. */
export const LIST_CHANGED: ReadonlyMap<string, ListedKind> = new Map([
  ['notifications/tools/list_changed', 'tool'],
  ['notifications/prompts/list_changed', 'prompt'],
])

/** After a relist: `ok: false` when the origin could not be listed; `unverified`, definitions the object did not record. */
export type Relist = { ok: true; unverified: ReadonlySet<string> } | { ok: false }

const FRESH: Relist = { ok: true, unverified: new Set() }

// Lists this isolate relayed a change for and has not listed since, each with a sequence number: an
// announcement that arrives while the origin is being listed keeps the list stale.
const announced = new Map<string, number>()
let sequence = 0

/**
 * Marks an origin's list stale (enforce mode only: nothing else refuses a call, so nothing else lists).
 * The object is told once per stale period per isolate, so an origin repeating the notification costs
 * no writes.
 */
export async function markListChanged(init: ToolGateInit, kind: ListedKind): Promise<void> {
  if (!relists(init)) return
  const key = keyOf(init, kind)
  const first = !announced.has(key)
  if (first && announced.size >= 10_000) announced.clear() // the object's marks still hold
  announced.set(key, ++sequence)
  if (first) await shared(init, 'list_changed', (stub) => stub.listChanged({ origin: init.origin, kind }))
}

/**
 * Before a call or prompt get is decided: when the origin's list of `kind` was announced changed and not
 * listed since, lists it as the caller and records what changed, so the pins then decide the request.
 * Throws the failure the request itself would have met when the origin is down or refuses the caller
 * (origin-list.ts). Nothing stale: a map lookup and the cached pins the request reads anyway.
 */
export async function relistIfChanged(init: ToolGateInit, pins: Pins, kind: ListedKind, like: JsonRpcRequest): Promise<Relist> {
  if (!relists(init) || !init.lister) return FRESH
  const key = keyOf(init, kind)
  const seen = announced.get(key)
  const marker = (await pins.index())?.set.stale?.[kind]
  if (seen === undefined && marker === undefined) return FRESH
  const method = kind === 'tool' ? 'tools/list' : 'prompts/list'
  const entries = await init.lister(method, like)
  // Unlisted, or too long a list to judge (MAX_LISTED_DEFINITIONS, or its scans past the work cap): still stale.
  if (!entries || tooLong(init, method, entries.length)) return { ok: false }
  const pinnable = entries.flatMap((e) => pinnableEntry(kind, e, init.tools.volatile) ?? [])
  let outcomes: Outcome[]
  try {
    outcomes = await judgePinnable(pins, kind, pinnable, pageNames(entries))
  } catch (err) {
    if (err instanceof InspectionWorkExceeded) return { ok: false }
    throw err
  }
  const unverified = new Set(pinnable.flatMap((p, at) => (outcomes[at] === 'unverified' ? [p.name] : [])))
  // Announced again while listing, or not all recorded (the object failed, a definition too large): still stale.
  if (unverified.size === 0 && announced.get(key) === seen) {
    announced.delete(key)
    if (marker !== undefined) await shared(init, 'list_checked', (stub) => stub.listChecked({ origin: init.origin, kind, marker }))
  }
  return { ok: true, unverified }
}

function relists(init: ToolGateInit): boolean {
  return init.tools.pinning === 'enforce'
}

function keyOf(init: ToolGateInit, kind: ListedKind): string {
  return `${init.tenantId}\n${init.origin}\n${kind}`
}

type PinsStub = ReturnType<Env['TOOL_PINS']['getByName']>

/**
 * An object call answering with the origin's pins, kept as this isolate's and location's copy. A failure
 * is logged: the isolate's own mark still holds, and other isolates are no worse off than before.
 */
async function shared(init: ToolGateInit, what: string, call: (stub: PinsStub) => Promise<PinSet | null>): Promise<void> {
  try {
    const set = await call(init.env.TOOL_PINS.getByName(init.tenantId))
    if (set) await storePins(init.tenantId, init.origin, set, { ...init.pinDeps })
  } catch (err) {
    console.error(JSON.stringify({ event: `tool_${what}_failed`, tenant: init.tenantId, requestId: init.requestId, error: String(err) }))
  }
}
