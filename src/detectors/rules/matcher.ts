/**
 * One interface over the two regex engines. Shipped packs use V8's RegExp (fast; their patterns pass
 * the backtracking lint in the test suite). Tenant rules always use re2js, whose matching time is
 * linear in the input whatever the pattern, so a tenant cannot burn the isolate's CPU.
 */
import { RE2JS } from 're2js'

/** A match span in the scanned text, with the matched (or captured) value. */
export interface Match {
  start: number
  end: number
  value: string
}

export interface RegexMatcher {
  readonly engine: 'js' | 're2'
  /** Relative cost per character scanned (re2js is several times slower than V8). */
  readonly costFactor: number
  /** Up to `limit` non-overlapping matches (of `group` when the rule names one). */
  findAll(text: string, limit: number): Match[]
}

/** Which part of a match is reported: the whole match, one group, or from a group's start to the match end. */
export interface SpanSpec {
  group?: number | string | undefined
  startGroup?: number | undefined
}

// Unicode mode is several times slower under /i (full case folding), so it is used only when the
// pattern needs it: property escapes, \u{…} escapes or characters outside the BMP.
const NEEDS_UNICODE = /\\[pP]\{|\\u\{|[\uD800-\uDFFF]/

/** Whether a shipped pattern is compiled in Unicode (`u`) mode. */
export function needsUnicode(pattern: string): boolean {
  return NEEDS_UNICODE.test(pattern)
}

/**
 * Compiles a shipped-pack pattern on V8's engine. Throws when it does not compile. Patterns are linted
 * (and must compile) in Unicode mode; they run in it only when they need it (see `needsUnicode`).
 */
export function compileJs(pattern: string, flags: string, spec: SpanSpec = {}): RegexMatcher {
  const { group, startGroup } = spec
  const indexed = group !== undefined || startGroup !== undefined
  const re = new RegExp(pattern, `${flags}g${needsUnicode(pattern) ? 'u' : ''}${indexed ? 'd' : ''}`)
  return {
    engine: 'js',
    costFactor: 1,
    findAll(text, limit) {
      const out: Match[] = []
      re.lastIndex = 0
      let m: RegExpExecArray | null
      while (out.length < limit && (m = re.exec(text)) !== null) {
        if (m[0].length === 0) re.lastIndex++
        const end = m.index + m[0].length
        if (startGroup !== undefined) {
          const s = m.indices?.[startGroup]?.[0] ?? m.index
          out.push({ start: s, end, value: text.slice(s, end) })
          continue
        }
        if (group === undefined) {
          out.push({ start: m.index, end, value: m[0] })
          continue
        }
        const span = typeof group === 'number' ? m.indices?.[group] : m.indices?.groups?.[group]
        if (span === undefined) continue
        out.push({ start: span[0], end: span[1], value: text.slice(span[0], span[1]) })
      }
      return out
    },
  }
}

/** Compiles a pattern on re2js (RE2 syntax). Throws `RE2JSException` subclasses when it does not compile. */
export function compileRe2(pattern: string, flags: string, spec: SpanSpec = {}): RegexMatcher {
  const { group, startGroup } = spec
  let f = 0
  if (flags.includes('i')) f |= RE2JS.CASE_INSENSITIVE
  if (flags.includes('m')) f |= RE2JS.MULTILINE
  if (flags.includes('s')) f |= RE2JS.DOTALL
  const re = RE2JS.compile(pattern, f)
  if (typeof group === 'number' && group > re.groupCount()) throw new Error(`group ${group} does not exist`)
  if (typeof group === 'string' && !(group in re.namedGroups())) throw new Error(`group ${group} does not exist`)
  if (startGroup !== undefined && startGroup > re.groupCount()) throw new Error(`group ${startGroup} does not exist`)
  return {
    engine: 're2',
    costFactor: 8,
    findAll(text, limit) {
      const out: Match[] = []
      const m = re.matcher(text)
      let from = 0
      while (out.length < limit && from <= text.length && m.find(from)) {
        const end = m.end()
        from = end === m.start() ? end + 1 : end
        const g = group ?? 0
        const s = startGroup === undefined ? m.start(g) : m.start(startGroup)
        const e = startGroup === undefined ? m.end(g) : m.end()
        if (s < 0 || e < 0) continue
        out.push({ start: s, end: e, value: text.slice(s, e) })
      }
      return out
    },
  }
}
