/**
 * Object members a schema does not declare. JSON Schema lets them through unless the schema says
 * `additionalProperties: false`, but an argument or result field nobody declared is how data leaves
 * quietly (a poisoned description asks for a `notes` argument; a result smuggles a `debug` field to the
 * model), so each one is a finding even when the schema is satisfied.
 *
 * A member is declared when a `properties` entry of the schema at that place names it (through `allOf`,
 * `anyOf`, `oneOf`, `if`/`then`/`else` and local `$ref`s), or when that schema says anything about
 * other members (`additionalProperties` / `unevaluatedProperties` other than `false`, or
 * `patternProperties`). Only members under declared objects and array `items` are walked.
 */
import type { JsonObject, JsonValue } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'

const MAX_REPORTED = 20
const MAX_STEPS = 10_000

/** Pointers (`#/a/b`) of members of `value` that `schema` does not declare, at most 20. */
export function undeclaredProperties(schema: JsonValue, value: JsonValue): string[] {
  const out: string[] = []
  let steps = 0
  const root = isJsonObject(schema) ? schema : {}

  /** The subschemas that apply at one place: the schema plus its combinators and local refs. */
  const expand = (s: JsonValue | undefined, acc: JsonObject[], depth: number): JsonObject[] => {
    if (!isJsonObject(s) || depth > 16 || ++steps > MAX_STEPS) return acc
    acc.push(s)
    const ref = getOwn(s, '$ref')
    if (typeof ref === 'string') expand(resolveLocal(root, ref), acc, depth + 1)
    for (const k of ['allOf', 'anyOf', 'oneOf']) {
      const list = getOwn(s, k)
      if (Array.isArray(list)) for (const sub of list) expand(sub, acc, depth + 1)
    }
    for (const k of ['if', 'then', 'else']) expand(getOwn(s, k), acc, depth + 1)
    return acc
  }

  const walk = (schemas: JsonObject[], v: JsonValue, at: string, depth: number): void => {
    if (out.length >= MAX_REPORTED || depth > 32 || ++steps > MAX_STEPS || schemas.length === 0) return
    if (Array.isArray(v)) {
      const items = schemas.flatMap((s) => {
        const it = getOwn(s, 'items')
        return isJsonObject(it) ? [it] : []
      })
      const expanded = items.flatMap((it) => expand(it, [], 0))
      v.forEach((el, i) => walk(expanded, el, `${at}/${i}`, depth + 1))
      return
    }
    if (!isJsonObject(v)) return
    const open = schemas.some((s) => {
      const extra = getOwn(s, 'additionalProperties') ?? getOwn(s, 'unevaluatedProperties')
      return (extra !== undefined && extra !== false) || getOwn(s, 'patternProperties') !== undefined
    })
    const declares = schemas.some((s) => getOwn(s, 'properties') !== undefined || getOwn(s, 'type') === 'object')
    for (const key of Object.keys(v)) {
      const subs = schemas.flatMap((s) => {
        const props = getOwn(s, 'properties')
        const sub = isJsonObject(props) ? getOwn(props, key) : undefined
        return sub === undefined ? [] : [sub]
      })
      const pointer = `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
      if (subs.length === 0) {
        if (declares && !open) out.push(pointer)
        continue
      }
      walk(subs.flatMap((sub) => expand(sub, [], 0)), getOwn(v, key) as JsonValue, pointer, depth + 1)
      if (out.length >= MAX_REPORTED) return
    }
  }

  walk(expand(root, [], 0), value, '#', 0)
  return out
}

/** A local `$ref` (`#`, `#/$defs/x`, `#/definitions/x`) inside `root`, or undefined. */
function resolveLocal(root: JsonObject, ref: string): JsonValue | undefined {
  if (ref === '#') return root
  if (!ref.startsWith('#/')) return undefined
  let node: JsonValue | undefined = root
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~')
    if (!isJsonObject(node)) return undefined
    node = getOwn(node, key)
  }
  return node
}
