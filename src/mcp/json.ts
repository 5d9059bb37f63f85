/**
 * Plain-JSON helpers under the JSON-RPC layer: a stack-safe nesting pre-scan, own-property reads and a
 * deep clone that keeps `__proto__` keys as data. Nothing here knows about JSON-RPC or MCP.
 */
import type { JsonObject, JsonValue } from './jsonrpc'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d

/** True for a JSON object: not an array, not null. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Reads an own property only. Plain indexing would also find inherited members
 * (`params.constructor`, `arguments.toString`), so a field an attacker never sent could appear to exist.
 */
export function getOwn(obj: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined
}

/**
 * True when `text` nests `[`/`{` deeper than `maxDepth` (outside strings). Runs before `JSON.parse`,
 * which recurses and can overflow the stack on very deep input (100k `[` is 100 KB). A top-level value
 * counts as depth 1. The scan is linear and jumps over string bodies with `indexOf`, so large string
 * values (base64 blobs) cost little. Invalid JSON is not detected here; `JSON.parse` does that next.
 */
export function exceedsDepth(text: string, maxDepth: number): boolean {
  let depth = 0
  let i = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      i = endOfString(text, i + 1)
      continue
    }
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth++
      if (depth > maxDepth) return true
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--
    }
    i++
  }
  return false
}

/** Index just past the closing quote of a string whose body starts at `from`, or text.length if unterminated. */
function endOfString(text: string, from: number): number {
  let at = text.indexOf('"', from)
  while (at !== -1) {
    let backslashes = 0
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return at + 1
    at = text.indexOf('"', at + 1)
  }
  return text.length
}

type Container = JsonValue[] | JsonObject

/**
 * Deep clone of a JSON value that never triggers the `__proto__` setter.
 *
 * `JSON.parse('{"__proto__":{…}}')` creates an own data property, which is harmless; copying it with
 * spread, `Object.assign` or `target[key] = …` into a fresh object would instead *set the prototype*,
 * so the key vanishes from the output and its members become inherited. Here every `__proto__` key is
 * defined as an own data property, so `JSON.stringify(cloneJson(v)) === JSON.stringify(v)`.
 * Iterative, so depth is limited by memory, not the call stack.
 *
 * @example cloneJson(parsed.message) // safe to redact in place, then serialize
 */
export function cloneJson<T>(value: T): T {
  if (!isContainer(value)) return value
  const root = emptyLike(value)
  const work: Array<[Container, Container]> = [[value, root]]
  for (let next = work.pop(); next !== undefined; next = work.pop()) {
    const [source, target] = next
    for (const key of Object.keys(source)) {
      const item = (source as Record<string, JsonValue>)[key] as JsonValue
      let copy: JsonValue = item
      if (isContainer(item)) {
        copy = emptyLike(item)
        work.push([item, copy])
      }
      if (key === '__proto__') {
        Object.defineProperty(target, key, { value: copy, writable: true, enumerable: true, configurable: true })
      } else {
        ;(target as Record<string, JsonValue>)[key] = copy
      }
    }
  }
  return root as T
}

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null
}

function emptyLike(value: Container): Container {
  return Array.isArray(value) ? new Array<JsonValue>(value.length) : {}
}
