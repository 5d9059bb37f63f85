/**
 * One interface over the two regex engines. Shipped packs use V8's RegExp (fast; their patterns pass
 * the backtracking lint in the test suite). Tenant rules always use re2js, whose matching time is
 * linear in the input whatever the pattern, so a tenant cannot burn the isolate's CPU.
 */
import { RE2JS } from 're2js'
import { minLength, parseRegex, type RegexNode } from './regex-ast'

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
  /**
   * No match spans fewer code units (0 when unknown): a text shorter than this is not scanned, and a
   * scan of many short fields skips the rules that need longer ones without calling them.
   */
  readonly minLength: number
  /** Up to `limit` non-overlapping matches (of `group` when the rule names one). */
  findAll(text: string, limit: number): Match[]
  /**
   * The same matches in order, each handed to `visit` until it returns false: lets the caller count only
   * the matches it keeps (validators and the allow-list drop some), so dropped ones use up no cap.
   */
  each(text: string, visit: (m: Match) => boolean): void
}

/** `findAll` over `each`. */
function firstMatches(each: RegexMatcher['each'], text: string, limit: number): Match[] {
  const out: Match[] = []
  if (limit > 0) each(text, (m) => out.push(m) < limit)
  return out
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
 * A run of at least `min` consecutive code units of one character set that every match contains: a
 * pattern with no keyword (the base64 blob, say) would otherwise try a match at every position of every
 * text. One table lookup per unit says whether the run is there at all; when it is not, no match can be.
 */
interface RequiredRun {
  readonly member: Uint8Array
  readonly min: number
}

/** Shorter runs are found in ordinary prose too often to be worth the scan. */
const MIN_REQUIRED_RUN = 16
const members = new Map<string, Uint8Array>()

/**
 * The longest run a pattern requires, read from its top-level sequence (and groups with one
 * alternative inside it): a repetition whose required iterations consume at least
 * {@link MIN_REQUIRED_RUN} units, every one in the union of the character sets inside it (a repeated
 * group's iterations are contiguous, and assertions consume nothing). So `[a-f]{16}` requires 16 units
 * of `[a-f]`, and `(?:[ :]?[0-9a-f]{2}){100}` 200 units of `[ :0-9a-f]`. Only where that is sound: one
 * alternative, and no Unicode mode (an atom may then take two code units).
 */
export function requiredRun(pattern: string, flags: string): RequiredRun | undefined {
  const alts = parsed(pattern)
  if (alts === undefined || needsUnicode(pattern) || /[uv]/.test(flags)) return undefined
  let best: { srcs: string[]; min: number } | undefined
  const visit = (seq: RegexNode[]): void => {
    for (const n of seq) {
      if (n.t === 'rep') {
        const min = n.min * minLength([[n.node]])
        if (min >= MIN_REQUIRED_RUN && min > (best?.min ?? 0)) best = { srcs: [...new Set(consumedSets(n.node))], min }
      } else if (n.t === 'group' && n.alts.length === 1) visit(n.alts[0] as RegexNode[])
    }
  }
  if (alts.length === 1) visit(alts[0] as RegexNode[])
  if (best === undefined) return undefined
  const caseFlags = flags.replace(/[^ims]/g, '')
  const union = best.srcs.map((src) => `(?:${src})`).join('|')
  const key = `${caseFlags}/${union}`
  let member = members.get(key)
  if (member === undefined) {
    // Each code unit tested once against the set, with the pattern's own flags (case folding included).
    const one = new RegExp(`^(?:${union})$`, caseFlags)
    member = new Uint8Array(0x10000)
    for (let u = 0; u < 0x10000; u++) if (one.test(String.fromCharCode(u))) member[u] = 1
    members.set(key, member)
  }
  return { member, min: best.min }
}

/** The character sets of the atoms a node can consume (lookarounds and assertions consume none). */
function consumedSets(node: RegexNode): string[] {
  if (node.t === 'atom') return [node.src]
  if (node.t === 'rep') return consumedSets(node.node)
  if (node.t === 'group') return node.alts.flatMap((seq) => seq.flatMap(consumedSets))
  return []
}

/** The pattern's tree, or undefined for syntax the parser does not take (no gate is derived from it). */
function parsed(pattern: string): RegexNode[][] | undefined {
  try {
    return parseRegex(pattern)
  } catch {
    return undefined
  }
}

/**
 * Whether `text` holds the run. Reads about one unit in `min` of prose: a unit outside the set at `i`
 * means no run of `min` can end before `i + min`, so the next unit read is that one; a member is
 * extended back and forth to its run's ends.
 */
function hasRun(text: string, run: RequiredRun): boolean {
  const { member, min } = run
  const n = text.length
  let i = min - 1
  while (i < n) {
    if (member[text.charCodeAt(i)] !== 1) {
      i += min
      continue
    }
    let start = i
    while (start > i - min + 1 && member[text.charCodeAt(start - 1)] === 1) start--
    let end = i + 1
    while (end < n && member[text.charCodeAt(end)] === 1) end++
    if (end - start >= min) return true
    i = end + min
  }
  return false
}

/**
 * Compiles a shipped-pack pattern on V8's engine. Throws when it does not compile. Patterns are linted
 * (and must compile) in Unicode mode; they run in it only when they need it (see `needsUnicode`).
 */
export function compileJs(pattern: string, flags: string, spec: SpanSpec = {}): RegexMatcher {
  const { group, startGroup } = spec
  const indexed = group !== undefined || startGroup !== undefined
  const re = new RegExp(pattern, `${flags}g${needsUnicode(pattern) ? 'u' : ''}${indexed ? 'd' : ''}`)
  const run = requiredRun(pattern, flags)
  const alts = parsed(pattern)
  const least = alts === undefined ? 0 : minLength(alts)
  const each = (text: string, visit: (m: Match) => boolean): void => {
    if (text.length < least || (run !== undefined && !hasRun(text, run))) return
    // Where the next search starts, kept here rather than in the shared regex's `lastIndex`: a visitor may
    // run the same rule on other text (a decoded payload's inner layer) before the search goes on.
    let from = 0
    for (;;) {
      re.lastIndex = from
      const m = re.exec(text)
      if (m === null) return
      from = m[0].length === 0 ? re.lastIndex + 1 : re.lastIndex
      const end = m.index + m[0].length
      let found: Match
      if (startGroup !== undefined) {
        const s = m.indices?.[startGroup]?.[0] ?? m.index
        found = { start: s, end, value: text.slice(s, end) }
      } else if (group === undefined) found = { start: m.index, end, value: m[0] }
      else {
        const span = typeof group === 'number' ? m.indices?.[group] : m.indices?.groups?.[group]
        if (span === undefined) continue
        found = { start: span[0], end: span[1], value: text.slice(span[0], span[1]) }
      }
      if (!visit(found)) return
    }
  }
  return {
    engine: 'js',
    costFactor: 1,
    minLength: least,
    findAll: (text, limit) => firstMatches(each, text, limit),
    each,
  }
}

/** The largest RE2 program a rule may compile to (counted repetition such as `.{1000}` multiplies it). */
export const MAX_RE2_INSTRUCTIONS = 1_000

/** Instructions in a compiled re2js program (its internal program, pinned with the package version); 0 if unknown. */
function programSize(re: RE2JS): number {
  const prog = (re as unknown as { re2Input?: { prog?: { inst?: unknown[] } } }).re2Input?.prog
  return prog?.inst?.length ?? 0
}

/**
 * Compiles a pattern on re2js (RE2 syntax). Throws `RE2JSException` subclasses when it does not compile,
 * and an `Error` when its program is larger than {@link MAX_RE2_INSTRUCTIONS} or a group does not exist.
 */
export function compileRe2(pattern: string, flags: string, spec: SpanSpec = {}): RegexMatcher {
  const { group, startGroup } = spec
  let f = 0
  if (flags.includes('i')) f |= RE2JS.CASE_INSENSITIVE
  if (flags.includes('m')) f |= RE2JS.MULTILINE
  if (flags.includes('s')) f |= RE2JS.DOTALL
  const re = RE2JS.compile(pattern, f)
  const size = programSize(re)
  if (size > MAX_RE2_INSTRUCTIONS) throw new Error(`it compiles to ${size} instructions, more than ${MAX_RE2_INSTRUCTIONS}`)
  if (typeof group === 'number' && group > re.groupCount()) throw new Error(`group ${group} does not exist`)
  if (typeof group === 'string' && !(group in re.namedGroups())) throw new Error(`group ${group} does not exist`)
  if (startGroup !== undefined && startGroup > re.groupCount()) throw new Error(`group ${startGroup} does not exist`)
  const each = (text: string, visit: (m: Match) => boolean): void => {
    const m = re.matcher(text)
    let from = 0
    while (from <= text.length && m.find(from)) {
      const end = m.end()
      from = end === m.start() ? end + 1 : end
      const g = group ?? 0
      const s = startGroup === undefined ? m.start(g) : m.start(startGroup)
      const e = startGroup === undefined ? m.end(g) : m.end()
      // A group that took no part, or a match of nothing (`x*`, `(?:…)?` match the empty string at every
      // position): no text to report or redact, and each would count towards the rule's match cap.
      if (s < 0 || e <= s) continue
      if (!visit({ start: s, end: e, value: text.slice(s, e) })) return
    }
  }
  return {
    engine: 're2',
    // Linear in the text, but each character can cost time in proportion to the program (up to about
    // 13 ns per character per instruction when the engine falls back to its NFA): the work budget is
    // charged for that, so a large program exhausts it (fail closed) instead of stalling the isolate.
    costFactor: Math.max(8, size * 5),
    minLength: 0,
    findAll: (text, limit) => firstMatches(each, text, limit),
    each,
  }
}
