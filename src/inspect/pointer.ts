/**
 * JSON Pointer (RFC 6901) helpers over parsed JSON. Reads see own properties only and writes copy
 * just the path they touch, so a message the firewall inspected is never mutated and an attacker's
 * `"__proto__"` key is an ordinary key, never a way into `Object.prototype`.
 */
import { isRecord } from '../record'

/** A pointer that is malformed or does not address an existing location. */
export class PointerError extends Error {
  override readonly name = 'PointerError'
  constructor(
    readonly reason: 'malformed' | 'missing',
    readonly pointer: string,
  ) {
    super(`JSON pointer ${reason}: ${pointer}`)
  }
}

/** Escapes one reference token (`~` → `~0`, `/` → `~1`), RFC 6901 §3. */
export function encodeSegment(segment: string): string {
  if (segment.indexOf('~') === -1 && segment.indexOf('/') === -1) return segment
  return segment.replace(/~/g, '~0').replace(/\//g, '~1')
}

/** Unescapes one reference token; `~` followed by anything but `0`/`1` is malformed (RFC 6901 §4). */
export function decodeSegment(token: string, pointer = token): string {
  if (token.indexOf('~') === -1) return token
  if (/~(?![01])/.test(token)) throw new PointerError('malformed', pointer)
  return token.replace(/~1/g, '/').replace(/~0/g, '~')
}

/**
 * Appends a key or index to a pointer.
 * @example appendPointer('/result/tools', 0) // '/result/tools/0'
 */
export function appendPointer(pointer: string, segment: string | number): string {
  return `${pointer}/${typeof segment === 'number' ? segment : encodeSegment(segment)}`
}

/** Builds a pointer from unescaped segments; `[]` is the whole document (`''`). */
export function toPointer(segments: ReadonlyArray<string | number>): string {
  let out = ''
  for (const s of segments) out = appendPointer(out, s)
  return out
}

/** Splits a pointer into unescaped segments. Throws `PointerError` when it is not `''` or `/…`. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return []
  if (pointer[0] !== '/') throw new PointerError('malformed', pointer)
  return pointer.slice(1).split('/').map((t) => decodeSegment(t, pointer))
}

/** The value at `pointer`, or `undefined` when nothing is there (inherited properties do not count). */
export function getAt(root: unknown, pointer: string): unknown {
  let node = root
  for (const segment of parsePointer(pointer)) {
    const next = child(node, segment)
    if (!next.found) return undefined
    node = next.value
  }
  return node
}

/**
 * A copy of `root` with `value` at `pointer`; only the containers on the path are copied. The parent
 * must exist; an object gains or replaces an own data property, an array only replaces an element.
 * @example setAt({ a: { b: 'x' } }, '/a/b', 'y') // { a: { b: 'y' } }, the input untouched
 */
export function setAt<T>(root: T, pointer: string, value: unknown): T {
  const segments = parsePointer(pointer)
  if (segments.length === 0) return value as T
  return replaceIn(root, segments, 0, value, pointer) as T
}

function replaceIn(node: unknown, segments: string[], depth: number, value: unknown, pointer: string): unknown {
  const segment = segments[depth] as string
  const last = depth === segments.length - 1
  if (Array.isArray(node)) {
    const index = arrayIndex(segment, node.length)
    if (index === -1) throw new PointerError('missing', pointer)
    const copy = node.slice()
    copy[index] = last ? value : replaceIn(node[index], segments, depth + 1, value, pointer)
    return copy
  }
  if (!isRecord(node)) throw new PointerError('missing', pointer)
  const has = Object.prototype.hasOwnProperty.call(node, segment)
  if (!last && !has) throw new PointerError('missing', pointer)
  const copy = copyRecord(node)
  defineOwn(copy, segment, last ? value : replaceIn(node[segment], segments, depth + 1, value, pointer))
  return copy
}

/** Own enumerable data properties copied with `defineProperty`, so `"__proto__"` stays a plain key. */
function copyRecord(node: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(node)) defineOwn(copy, key, node[key])
  return copy
}

function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function child(node: unknown, segment: string): { found: true; value: unknown } | { found: false } {
  if (Array.isArray(node)) {
    const index = arrayIndex(segment, node.length)
    return index === -1 ? { found: false } : { found: true, value: node[index] }
  }
  if (isRecord(node) && Object.prototype.hasOwnProperty.call(node, segment)) return { found: true, value: node[segment] }
  return { found: false }
}

/** RFC 6901 §4: an array index is `0` or digits without a leading zero; `-` (past the end) is never read. */
function arrayIndex(segment: string, length: number): number {
  if (!/^(?:0|[1-9][0-9]{0,8})$/.test(segment)) return -1
  const index = Number(segment)
  return index < length ? index : -1
}
