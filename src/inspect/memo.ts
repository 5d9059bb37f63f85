/**
 * Detection results for definition strings, remembered per compiled policy.
 *
 * A server sends the same tool, prompt and resource definitions and the same instructions to every
 * session, and a `tools/list` of a few hundred tools is the dearest message the firewall inspects (tens of
 * milliseconds). Detectors are pure functions of a field's string, role and kind and of the direction
 * (`Detector`), so a definition string seen before under the same compiled policy gets the findings it
 * got then, moved to its current path, without running the detectors again. A new config version
 * compiles a new policy and starts from nothing.
 *
 * Bounded: at most {@link MEMO_MAX_CHARS} characters of remembered strings per isolate, the oldest unused
 * dropped first; strings longer than {@link MEMO_MAX_FIELD_CHARS} and results that depended on the
 * message (a spent work budget, an error) are never remembered. Tool results, resources and other
 * per-call content are always scanned afresh.
 */
import type { CompiledPolicy } from './policy'
import type { InspectField } from './fields'
import type { Direction, FieldRole, Finding, MessageContext } from './types'

/** What the memo is kept per: a compiled policy (its detectors are fixed when it is built). */
type Detectors = Pick<CompiledPolicy, 'detectors'>

/** Roles whose strings repeat from session to session. */
const MEMO_ROLES: ReadonlySet<FieldRole> = new Set<FieldRole>(['tool-definition', 'prompt-definition', 'instructions'])
/**
 * Characters held per isolate, all policies together: each remembered string's key plus
 * {@link ENTRY_CHARS} for the entry itself (about 8 MB in all).
 */
export const MEMO_MAX_CHARS = 4_000_000
const ENTRY_CHARS = 32
const NONE: readonly Finding[] = Object.freeze([])
/** Longer strings are not remembered. */
export const MEMO_MAX_FIELD_CHARS = 16_384

const policyIds = new WeakMap<Detectors, number>()
let nextPolicyId = 1
interface Entry {
  readonly findings: readonly Finding[]
  /** Read since it was last (re)inserted: eviction gives it a second chance. */
  used: boolean
}
const remembered = new Map<string, Entry>()
let heldChars = 0

/**
 * The findings of every detector of `policy` for `field`, in detector order: from the memo when the same
 * definition string was scanned before under this policy, else from the detectors (and remembered).
 */
export function detectField(policy: Detectors, field: InspectField, ctx: MessageContext): Finding[] {
  if (field.raw.length > MEMO_MAX_FIELD_CHARS || field.truncated || !MEMO_ROLES.has(field.role)) return detect(policy, field, ctx)
  const key = memoKey(policy, field, ctx.direction)
  const hit = remembered.get(key)
  if (hit) {
    hit.used = true
    return hit.findings.length === 0 ? [] : hit.findings.map((f) => moved(f, field.path))
  }
  const found = detect(policy, field, ctx)
  if (found.length === 0) remember(key, NONE)
  else if (found.every((f) => f.path === field.path && f.kind !== 'error')) remember(key, found.map((f) => moved(f, field.path)))
  return found
}

/** Forgets everything (tests and benches measure first sight with it). */
export function clearDefinitionMemo(): void {
  remembered.clear()
  heldChars = 0
}

/** How many strings are remembered (tests). */
export function definitionMemoSize(): number {
  return remembered.size
}

function detect(policy: Detectors, field: InspectField, ctx: MessageContext): Finding[] {
  const out: Finding[] = []
  for (const d of policy.detectors) for (const f of d.detect(field, ctx)) out.push(f)
  return out
}

function memoKey(policy: Detectors, field: InspectField, direction: Direction): string {
  let id = policyIds.get(policy)
  if (id === undefined) {
    id = nextPolicyId++
    policyIds.set(policy, id)
  }
  const flags = (field.isKey ? 1 : 0) | (field.joined ? 2 : 0) | (field.decoded ? 4 : 0)
  return `${id}|${direction}|${field.role}|${flags}|${field.raw}`
}

/**
 * Inserts, then evicts oldest first until within bounds; an entry read since its insertion moves to the
 * back instead, once (second chance: close to least-recently-used without reordering on every hit).
 */
function remember(key: string, findings: readonly Finding[]): void {
  remembered.set(key, { findings, used: false })
  heldChars += key.length + ENTRY_CHARS
  while (heldChars > MEMO_MAX_CHARS) {
    const [old, entry] = remembered.entries().next().value as [string, Entry]
    remembered.delete(old)
    if (entry.used) {
      entry.used = false
      remembered.set(old, entry)
    } else heldChars -= old.length + ENTRY_CHARS
  }
}

/** A copy of `f` at `path` (spans copied too: callers may keep and edit what they get). */
function moved(f: Finding, path: string): Finding {
  const copy: Finding = { ...f, path }
  if (f.span) copy.span = [f.span[0], f.span[1]]
  return copy
}
