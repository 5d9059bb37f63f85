/**
 * Values the firewall lends the origin on the client's behalf (the tenant's origin credential, the signed
 * identity assertion) never reach the client: an origin that echoes its request headers (a debug tool,
 * an error page dumped into a result, a log notification) would otherwise hand them to whoever called.
 * Every string of a message bound for the client, keys included, has each lent value replaced by
 * `[REDACTED:secret]`, before the tool gate stores any of it (pins, task records). This holds under every
 * tenant policy and in monitor mode: the values are the firewall's to keep, not findings for the tenant to tune.
 */
import type { JsonObject, JsonRpcMessage, JsonValue } from '../mcp/jsonrpc'

/** Shorter values are not scrubbed: they would match ordinary text (no real credential is this short). */
export const MIN_LENT_LENGTH = 8
const MARKER = '[REDACTED:secret]'

/**
 * `message` with every occurrence of a `lent` value replaced, or null when none occurs (the common case
 * allocates nothing). Values shorter than 8 characters are ignored.
 */
export function scrubLent(message: JsonRpcMessage, lent: readonly string[]): JsonRpcMessage | null {
  if (lent.length === 0 || !occurs(message as unknown as JsonValue, lent)) return null
  return scrub(message as unknown as JsonValue, lent) as unknown as JsonRpcMessage
}

/** Whether any value occurs in any string (keys included); allocates nothing. */
function occurs(value: JsonValue, values: readonly string[]): boolean {
  if (typeof value === 'string') return holds(value, values)
  if (value === null || typeof value !== 'object') return false
  if (Array.isArray(value)) {
    for (const item of value) if (occurs(item, values)) return true
    return false
  }
  for (const k in value) {
    if (holds(k, values)) return true
    if (occurs(value[k] as JsonValue, values)) return true
  }
  return false
}

function scrub(value: JsonValue, values: readonly string[]): JsonValue {
  if (typeof value === 'string') return scrubString(value, values)
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    let copy: JsonValue[] | undefined
    for (let i = 0; i < value.length; i++) {
      const item = value[i] as JsonValue
      const next = scrub(item, values)
      if (next !== item) (copy ??= value.slice())[i] = next
    }
    return copy ?? value
  }
  let changed = false
  const entries: Array<[string, JsonValue]> = []
  for (const [k, item] of Object.entries(value)) {
    const key = scrubString(k, values)
    const next = scrub(item, values)
    if (key !== k || next !== item) changed = true
    entries.push([key, next])
  }
  if (!changed) return value
  const copy: JsonObject = {}
  for (const [k, v] of entries) copy[k] = v
  return copy
}

function holds(s: string, values: readonly string[]): boolean {
  for (const v of values) if (v.length >= MIN_LENT_LENGTH && s.includes(v)) return true
  return false
}

function scrubString(s: string, values: readonly string[]): string {
  let out = s
  for (const v of values) if (v.length >= MIN_LENT_LENGTH && out.includes(v)) out = out.split(v).join(MARKER)
  return out
}
