/**
 * Validating `tools/call` arguments and `structuredContent` against the schemas the server advertised
 * (and the firewall pinned), with `@cfworker/json-schema` (no `eval`, runs in workerd).
 *
 * Origin-written regular expressions never run on V8's backtracking engine:
 * - `pattern` is compiled with re2js (linear time), translated to keep its ECMAScript meaning
 *   (`./pattern`), and checked through a private `format` the validator calls; a pattern RE2 cannot
 *   compile (lookaround, backreferences) is left out and reported unchecked;
 * - `patternProperties` (which the validator would compile with `new RegExp`) is left out and reported
 *   unchecked, together with `additionalProperties` / `unevaluatedProperties` of the same schema (which
 *   depend on it), so a legitimate argument is never refused for want of it;
 * - `format: "regex"` (which compiles instance text with `new RegExp`) is left out and reported unchecked;
 * - a `pattern` or `format` that is not a string is left out and reported unchecked;
 * - all of this holds wherever a `$ref` can reach, not only under the keywords that apply a subschema
 *   in place (`#/x-defs/q`, an embedded `$id`, an `$anchor`). `$dynamicRef`, which the validator does
 *   not evaluate, is reported unchecked; no `$ref` is ever fetched.
 * Schemas are bounded (size, depth, subschema count); one that breaks a bound or cannot be evaluated
 * (an unresolvable `$ref`, endless `$ref` recursion) is reported unchecked as a whole.
 */
import { Validator, format, ignoredKeyword, schemaArrayKeyword, schemaMapKeyword, type Schema, type SchemaDraft } from '@cfworker/json-schema'
import { RE2JS } from 're2js'
import type { JsonObject, JsonValue } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'
import { toRe2 } from './pattern'
import { undeclaredProperties } from './undeclared'
import { BoundedCache } from '../bounded-cache'

/** Largest schema (canonical JSON characters) the firewall evaluates. */
export const MAX_SCHEMA_CHARS = 256 * 1024
const MAX_SUBSCHEMAS = 5_000
const MAX_DEPTH = 64
const MAX_ERRORS = 10
const FORMAT_PREFIX = 'x-mcp-firewall-re2-'

export interface SchemaIssue {
  /** JSON pointer into the validated value (`#` is its root). */
  at: string
  keyword: string
}

export interface SchemaCheck {
  valid: boolean
  /** The first few violations (no instance text: they go to logs and events). */
  errors: SchemaIssue[]
  /** Keywords not checked, as `<keyword>@<schema pointer>`, or `schema` when nothing could be checked. */
  unchecked: string[]
  /** Pointers of object members the schema does not declare (an exfiltration channel). */
  undeclared: string[]
}

/** A schema prepared once and reused for every call of a tool. */
export interface CompiledSchema {
  check(value: JsonValue): SchemaCheck
}

// Patterns compiled on re2js, shared by every schema in the isolate; each gets a private format name.
const patternFormats = new Map<string, string>()
const MAX_PATTERNS = 5_000
let formatSeq = 0
/**
 * Bumped whenever the table is emptied. The validator passes a value whose format it does not know, so
 * a schema built before a reset would stop checking its patterns: it is rebuilt instead (see `build`).
 */
let patternGeneration = 0

function formatFor(pattern: string): string | null {
  const known = patternFormats.get(pattern)
  if (known) return known
  let re: RE2JS
  try {
    re = RE2JS.compile(toRe2(pattern))
  } catch {
    return null
  }
  if (patternFormats.size >= MAX_PATTERNS) resetPatterns()
  const name = `${FORMAT_PREFIX}${formatSeq++}`
  format[name] = (s: string) => re.test(s)
  patternFormats.set(pattern, name)
  return name
}

function resetPatterns(): void {
  for (const name of patternFormats.values()) delete format[name]
  patternFormats.clear()
  patternGeneration++
  compiled.clear() // schemas compiled against the dropped formats must be rebuilt
}

interface Prepared {
  schema: JsonValue
  unchecked: string[]
  tooBig: boolean
}

/**
 * A copy of `schema` the validator can run without ever compiling an origin regex on V8.
 *
 * A `$ref` may point anywhere the validator's `dereference` registered a subschema (a JSON pointer
 * under any keyword, known or not, an embedded `$id`, an `$anchor`), so the copy is walked exactly as
 * `dereference` walks it, from the library's own keyword tables: every object it treats as a schema is
 * prepared here. What it skips (`const`, `enum`, `default` …, arrays outside `allOf`-like keywords) no
 * `$ref` can resolve into, and is copied as it is: `const` and `enum` values must stay exact.
 */
function prepare(schema: JsonValue): Prepared {
  const unchecked: string[] = []
  let count = 0
  let tooBig = false
  const visit = (node: JsonValue, at: string, depth: number): JsonValue => {
    if (!isJsonObject(node)) return clone(node)
    if (++count > MAX_SUBSCHEMAS || depth > MAX_DEPTH) {
      tooBig = true
      return true
    }
    const out: JsonObject = {}
    const set = (k: string, v: JsonValue) => Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
    const extraAllOf: JsonValue[] = []
    const hasPatternProps = getOwn(node, 'patternProperties') !== undefined
    for (const key of Object.keys(node)) {
      const value = getOwn(node, key) as JsonValue
      const where = `${at}/${escape(key)}`
      if (key.startsWith('__absolute_')) continue // the validator's own bookkeeping keys
      // The validator takes a `pattern` or `format` that is not a string by its string form (`["^(a|a)+$"]`
      // is that pattern), so those are never handed on either.
      if (key === 'pattern') {
        const name = typeof value === 'string' ? formatFor(value) : null
        if (name) extraAllOf.push({ format: name })
        else unchecked.push(`pattern@${at}`)
        continue
      }
      if (key === 'format' && (typeof value !== 'string' || value === 'regex' || value.startsWith(FORMAT_PREFIX))) {
        unchecked.push(`format@${at}`)
        continue
      }
      if (key === 'patternProperties') {
        unchecked.push(`patternProperties@${at}`)
        continue
      }
      if (hasPatternProps && (key === 'additionalProperties' || key === 'unevaluatedProperties')) {
        unchecked.push(`${key}@${at}`)
        continue
      }
      if (key === '$dynamicRef') unchecked.push(`$dynamicRef@${at}`) // the validator does not evaluate it
      if (ignoredKeyword[key] === true) set(key, clone(value))
      else if (Array.isArray(value)) set(key, schemaArrayKeyword[key] === true ? value.map((v, i) => visit(v, `${where}/${i}`, depth + 1)) : clone(value))
      else if (schemaMapKeyword[key] === true && isJsonObject(value)) set(key, visitMap(value, where, depth))
      else set(key, visit(value, where, depth + 1))
    }
    if (extraAllOf.length > 0) {
      const own = getOwn(out, 'allOf')
      set('allOf', [...(Array.isArray(own) ? own : []), ...extraAllOf])
    }
    return out
  }
  const visitMap = (map: JsonObject, at: string, depth: number): JsonObject => {
    const out: JsonObject = {}
    for (const k of Object.keys(map)) {
      Object.defineProperty(out, k, { value: visit(getOwn(map, k) as JsonValue, `${at}/${escape(k)}`, depth + 1), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  const prepared = visit(schema, '#', 0)
  return { schema: prepared, unchecked, tooBig }
}

function clone(v: JsonValue): JsonValue {
  return v === null || typeof v !== 'object' ? v : (JSON.parse(JSON.stringify(v)) as JsonValue)
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1')
}

function draftOf(schema: JsonValue): SchemaDraft {
  const declared = isJsonObject(schema) ? getOwn(schema, '$schema') : undefined
  if (typeof declared !== 'string') return '2020-12'
  if (declared.includes('draft-04')) return '4'
  if (declared.includes('draft-06') || declared.includes('draft-07')) return '7'
  if (declared.includes('2019-09')) return '2019-09'
  return '2020-12'
}

const MAX_COMPILED = 2_000
/**
 * Schema text kept by the cache, all entries together (a compiled schema holds its text and a validator
 * a few times its size). Without it 2,000 entries of schema text up to a dry run's 1 MiB body would
 * outgrow the isolate's memory.
 */
export const MAX_COMPILED_CHARS = 4_000_000
const compiled = new BoundedCache<CompiledSchema>(MAX_COMPILED, MAX_COMPILED_CHARS)

/**
 * The compiled form of a schema, from the isolate cache when the same schema text was seen before.
 * A schema over {@link MAX_SCHEMA_CHARS} is never evaluated, and not kept either.
 * @example compileSchema('{"type":"object","properties":{"n":{"type":"integer"}}}', schema).check({ n: 'x' }).valid // false
 */
export function compileSchema(canonical: string, schema: JsonValue): CompiledSchema {
  const hit = compiled.get(canonical)
  if (hit) return hit
  const built = build(canonical, schema)
  if (canonical.length > MAX_SCHEMA_CHARS) return built
  compiled.set(canonical, built, canonical.length)
  return built
}

/** Characters of schema text the cache holds (tests). */
export function compiledSchemaChars(): number {
  return compiled.chars
}

function build(canonical: string, schema: JsonValue): CompiledSchema {
  const unusable = (why: string): CompiledSchema => ({ check: () => ({ valid: true, errors: [], unchecked: [why], undeclared: [] }) })
  if (canonical.length > MAX_SCHEMA_CHARS) return unusable('schema')
  if (typeof schema !== 'boolean' && !isJsonObject(schema)) return unusable('schema')
  const generation = patternGeneration
  let prepared = prepare(schema)
  // The table was emptied while this schema's own patterns went in: prepared again, they all fit.
  if (generation !== patternGeneration) prepared = prepare(schema)
  const built = patternGeneration
  if (prepared.tooBig) return unusable('schema')
  let validator: Validator
  try {
    validator = new Validator(prepared.schema as Schema | boolean, draftOf(schema), false)
  } catch {
    return unusable('schema') // e.g. a duplicate `$id`
  }
  return {
    check(value) {
      // Held past a reset (a pinned definition's schema): its formats are gone, so it is rebuilt.
      if (built !== patternGeneration) return compileSchema(canonical, schema).check(value)
      let result: ReturnType<Validator['validate']>
      try {
        result = validator.validate(value)
      } catch {
        // An unresolvable `$ref` or `$ref` recursion without end: the schema cannot be evaluated.
        return { valid: true, errors: [], unchecked: ['schema'], undeclared: [] }
      }
      // Composite keywords repeat their children's errors; the leaves say what is wrong (an undeclared
      // member shows as `additionalProperties` on its object, not as the `false` schema it met).
      const leaves = result.errors.filter((e) => !['properties', 'items', 'allOf', 'anyOf', 'oneOf', 'prefixItems', '$ref', 'false'].includes(e.keyword))
      const errors = (leaves.length > 0 ? leaves : result.errors)
        .slice(0, MAX_ERRORS)
        .map((e) => ({ at: e.instanceLocation, keyword: e.keyword === 'format' && e.error.includes(FORMAT_PREFIX) ? 'pattern' : e.keyword }))
      return {
        valid: result.valid,
        errors,
        unchecked: prepared.unchecked,
        undeclared: undeclaredProperties(schema, value),
      }
    },
  }
}
