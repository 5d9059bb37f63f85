/**
 * The pinned form of a definition: canonical JSON (keys sorted by UTF-16 code units at every level, no
 * whitespace, numbers as ECMAScript prints them — the RFC 8785 scheme for the values MCP carries) of
 * exactly the fields that reach the model (mcp-protocol.md §6.2). Two definitions are "the same" when
 * their canonical JSON is equal after the tenant's volatile fields are left out.
 */
import type { JsonObject, JsonValue } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'

/** What is pinned: tools (tools/list), prompts (prompts/list), resource templates (resources/templates/list). */
export type PinKind = 'tool' | 'prompt' | 'resourceTemplate'

/** The fields pinned per kind; everything else (`icons`, `_meta`, `execution`) is not compared. */
export const PINNED_FIELDS: Readonly<Record<PinKind, readonly string[]>> = {
  tool: ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'],
  prompt: ['name', 'title', 'description', 'arguments'],
  resourceTemplate: ['name', 'uriTemplate', 'title', 'description', 'mimeType', 'annotations'],
}

/** Decides, per path of keys from the definition's root, whether a member is left out. */
export type SkipPath = (path: readonly string[]) => boolean

/**
 * Canonical JSON of a value. Keys that `skip` names are left out (their whole subtree).
 * @example canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: JsonValue, skip?: SkipPath): string {
  return write(value, [], skip)
}

// Built by concatenation (V8 ropes): about twice as fast as collecting parts and joining them.
function write(value: JsonValue, path: string[], skip: SkipPath | undefined): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + write(value[i] as JsonValue, skip ? [...path, String(i)] : path, skip)
    return `${out}]`
  }
  let out = '{'
  let first = true
  // Sorted by UTF-16 code units (RFC 8785 §3.2.3), which is what the default sort compares.
  for (const key of Object.keys(value).sort()) {
    const member = getOwn(value, key)
    if (member === undefined) continue
    // Paths are only built when something may be skipped: this runs for every tool of every list page.
    const at = skip ? [...path, key] : path
    if (skip?.(at)) continue
    out += `${first ? '' : ','}${JSON.stringify(key)}:${write(member, at, skip)}`
    first = false
  }
  return `${out}}`
}

/** The picked, pinned fields of a list entry as a JSON object (a fresh object; the entry is not changed). */
export function pickDefinition(kind: PinKind, entry: JsonObject): JsonObject {
  const picked: JsonObject = {}
  for (const field of PINNED_FIELDS[kind]) {
    const v = getOwn(entry, field)
    if (v !== undefined) Object.defineProperty(picked, field, { value: v, enumerable: true, writable: true, configurable: true })
  }
  return picked
}

/** The key a definition is pinned under: its `name` (every kind has one), or null when it has none. */
export function pinName(entry: JsonValue | undefined): string | null {
  if (!isJsonObject(entry)) return null
  const name = getOwn(entry, 'name')
  return typeof name === 'string' && name.length > 0 && name.length <= 200 ? name : null
}

/**
 * A matcher for the tenant's volatile paths (`annotations.title`, `inputSchema.properties.*.description`):
 * a member is skipped when its key path equals a pattern, `*` standing for any one key.
 */
export function volatileSkip(volatile: readonly string[]): SkipPath | undefined {
  if (volatile.length === 0) return undefined
  const patterns = volatile.map((v) => v.split('.'))
  return (path) => patterns.some((p) => p.length === path.length && p.every((seg, i) => seg === '*' || seg === path[i]))
}

/** The canonical JSON of an entry's pinned fields, volatile fields included (what is stored and shown). */
export function definitionJson(kind: PinKind, entry: JsonObject): string {
  return canonicalJson(pickDefinition(kind, entry))
}

/** The canonical JSON compared for changes: the pinned fields minus the tenant's volatile paths. */
export function comparisonJson(kind: PinKind, entry: JsonObject, volatile: readonly string[]): string {
  return canonicalJson(pickDefinition(kind, entry), volatileSkip(volatile))
}

/** The comparison form of a stored canonical definition. */
export function comparisonOf(kind: PinKind, definition: string, volatile: readonly string[]): string {
  if (volatile.length === 0) return definition
  const parsed = JSON.parse(definition) as JsonValue
  return isJsonObject(parsed) ? comparisonJson(kind, parsed, volatile) : definition
}
