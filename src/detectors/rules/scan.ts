/**
 * Runs a compiled rule set over one field: keyword pre-filter, regex on normalised and/or raw text,
 * validators, allow-list, spans mapped back to the original string, and the per-message budget.
 */
import { isAsciiAlnum } from '../../inspect/char-classes'
import { normalize } from '../../inspect/normalize'
import { originalSpan } from '../../inspect/offset-map'
import type { Direction, Finding, FindingKind, NormalizedText, RuleAction, ScanField } from '../../inspect/types'
import type { CompiledRule, CompiledRuleSet, KeywordGroup, RuleBucket } from './compile'
import type { KeywordHits, KeywordIndex } from './keywords'
import { base64RunEnd, decodeToText, eachDecodedText, hexRunEnd } from './decode'
import type { Encoding } from './decode'
import { foldAccents } from './fold'
import { plainView, type PlainView } from './markup'
import type { Match } from './matcher'
import type { PackName } from './schema'

/**
 * A finding from a rule pack: the contract's `Finding` plus where it came from and monitor details.
 *
 * Injection findings carry no action when they count toward the tenant's threshold (the pipeline
 * blocks on the combined score). When the rule's resolved action is `flag`, `redact` or `strip`, or the
 * rule runs in monitor mode, their `score` is 0 (so they never add to the block decision) and
 * `ruleScore` keeps the rule's score for the logs.
 */
export interface RuleFinding extends Finding {
  pack: PackName | 'custom' | 'engine'
  /** Set when the rule runs in monitor mode: `action` is `flag`, this is what it would have been. */
  monitoredAction?: RuleAction
  /** The rule's score when `score` was zeroed (monitor mode, or an injection rule set to flag/redact/strip). */
  ruleScore?: number
}

/** Work and time spent on one message, shared by every field of it. */
export interface Budget {
  work: number
  readonly startedAt: number
  exhausted: boolean
  /** The clock is read when `work` reaches this (every {@link CLOCK_EVERY} units), not on every rule run. */
  clockAt: number
}

/**
 * Work units between two reads of the clock. A short field runs a dozen rules over a few characters
 * each, and reading the clock for every run cost more than the runs; a long scan still reads it before
 * every regex, since its own work crosses the mark.
 */
const CLOCK_EVERY = 16_384

/** Starts a budget (call once per message). */
export function newBudget(): Budget {
  return { work: 0, startedAt: now(), exhausted: false, clockAt: 0 }
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now()
}

/** Text prepared for one scan: the (possibly capped) text and a map of spans to original offsets. */
interface Variant {
  readonly text: string
  readonly span: (start: number, end: number) => [number, number]
  /** The whole text this one is a window of, and where the window starts in it (`extend` reads past the window). */
  readonly whole: string
  readonly offset: number
  /** Keyword presence, computed on first use. */
  hits?: KeywordHits
  /** Lower-cased text, only for keywords outside the index (tenant rules). */
  lower?: string
}

type SpanMap = (start: number, end: number) => [number, number]

const identity: SpanMap = (s, e) => [s, e]

/** Fields shorter than this are not scanned by the rule packs (see `scanField`). */
export const MIN_SCAN_CHARS = 5
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/
/** Overlap of consecutive windows of a long field: a match shorter than this lies whole in one of them. */
const WINDOW_OVERLAP = 16_384

/**
 * The text as the variants a rule reads: itself, or, past `max` units, windows of `max` units that
 * overlap by `WINDOW_OVERLAP` (a quarter of `max` at most). Every unit of a long field is read, so a
 * secret a megabyte in is found as one at the start is; no regex runs over more than `max` units at
 * once, and the message's work cap bounds the total (past it the message is blocked).
 */
function windows(text: string, map: SpanMap, max: number): Variant[] {
  if (text.length <= max) return [{ text, span: map, whole: text, offset: 0 }]
  const step = max - Math.min(WINDOW_OVERLAP, Math.floor(max / 4))
  const out: Variant[] = []
  for (let start = 0; ; start += step) {
    const end = Math.min(text.length, start + max)
    out.push({ text: text.slice(start, end), span: start === 0 ? map : (s, e) => map(s + start, e + start), whole: text, offset: start })
    if (end === text.length) return out
  }
}

function normalizedMap(n: NormalizedText): SpanMap {
  return (s, e) => originalSpan(n, s, e)
}

/** Through the view without formatting marks to the normalised text, then to the original. */
function plainMap(plain: PlainView, n: NormalizedText): SpanMap {
  return (s, e) => {
    const [a, b] = plain.span(s, e)
    return originalSpan(n, a, b)
  }
}

/**
 * The text a rule on the normalised view reads: accents folded (one unit for one, so the normalised map
 * still holds; skipped for ASCII), formatting marks removed (`plain`, with its own map, when there were any).
 */
function ruleView(n: NormalizedText): { text: string; plain: PlainView | null } {
  const folded = n.ascii ? n.text : foldAccents(n.text)
  const plain = plainView(folded)
  return { text: plain ? plain.text : folded, plain }
}

/** Keyword pre-filter on any of a rule's variants. */
function passesFilter(variants: readonly Variant[], rule: CompiledRule, index: KeywordIndex): boolean {
  for (const v of variants) if (hasKeyword(v, rule, index)) return true
  return false
}

/**
 * Positions in `bucket.rules`, ascending, of the rules whose first keyword group occurs in the field plus
 * those checked on every field: a superset of the rules `passesFilter` lets through, found from the
 * keywords present rather than rule by rule. Without a keyword hit (most short fields) it is the bucket's
 * own list, so nothing is allocated.
 */
function candidates(bucket: RuleBucket, norm: readonly Variant[], raw: readonly Variant[], index: KeywordIndex): readonly number[] {
  if (bucket.byKeyword.size === 0) return bucket.unfiltered
  let extra = addPresent(bucket, norm, index, undefined)
  if (bucket.rawKeywords && raw !== norm) extra = addPresent(bucket, raw, index, extra)
  if (extra === undefined) return bucket.unfiltered
  return [...new Set([...bucket.unfiltered, ...extra])].sort((a, b) => a - b)
}

function addPresent(bucket: RuleBucket, variants: readonly Variant[], index: KeywordIndex, into: number[] | undefined): number[] | undefined {
  for (const v of variants) {
    v.hits ??= index.scan(v.text)
    for (const id of v.hits.found) {
      const at = bucket.byKeyword.get(id)
      if (at !== undefined) (into ??= []).push(...at)
    }
  }
  return into
}

/** Keyword pre-filter: one keyword of every group (`keywords`, then `andKeywords`) occurs in the text. */
function hasKeyword(v: Variant, rule: CompiledRule, index: KeywordIndex): boolean {
  for (const g of rule.prefilter) if (!anyOf(v, g, index)) return false
  return true
}

function anyOf(v: Variant, g: KeywordGroup, index: KeywordIndex): boolean {
  if (g.ids.length > 0) {
    v.hits ??= index.scan(v.text)
    for (const id of g.ids) if (v.hits.has(id)) return true
  }
  if (g.other.length > 0) {
    v.lower ??= v.text.toLowerCase()
    for (const k of g.other) if (v.lower.includes(k)) return true
  }
  return false
}

/** Whether every variant is shorter than the rule's shortest match (most keyword-less rules on short fields). */
function tooShort(variants: readonly Variant[], least: number): boolean {
  for (const v of variants) if (v.text.length >= least) return false
  return true
}

/** Noisy-OR of scores, as the pipeline combines injection findings. */
export function combineScores(scores: Iterable<number>): number {
  let miss = 1
  for (const s of scores) miss *= 1 - s
  return 1 - miss
}

class BudgetExceeded extends Error {}

interface RunCtx {
  readonly set: CompiledRuleSet
  readonly budget: Budget
  readonly direction: Direction
}

function spend(rc: RunCtx, chars: number, factor: number): void {
  const b = rc.budget
  b.work += chars * factor
  let over = b.work > rc.set.limits.maxWorkPerMessage
  if (!over && b.work >= b.clockAt) {
    b.clockAt = b.work + CLOCK_EVERY
    over = now() - b.startedAt > rc.set.limits.maxMillisPerMessage
  }
  if (over) {
    b.exhausted = true
    throw new BudgetExceeded()
  }
}

/**
 * Score of a decoded payload under the plain rules of the decoding rule's kind (one hit per rule): the
 * noisy-OR of the rules that match it, with their validators and the allow-list applied as in traffic.
 */
function rescanScore(rc: RunCtx, text: string, rules: readonly CompiledRule[]): number {
  const view = ruleView(normalize(text)).text
  const v: Variant = { text: view, span: identity, whole: view, offset: 0 }
  const scores: number[] = []
  for (const r of rules) {
    if (!hasKeyword(v, r, rc.set.keywords)) continue
    spend(rc, text.length, r.matcher.costFactor)
    // Past every match the validators or the allow-list drop, however many come first.
    let hit = false
    r.matcher.each(v.text, (m) => !(hit = accepted(rc, r, m, m.value)))
    if (hit) scores.push(r.score)
  }
  return combineScores(scores)
}

/** Score of the text `value` decodes to (a long base64 or hex candidate: the best of its pieces), or null when it is not text. */
function decodedScore(rc: RunCtx, value: string, encoding: Encoding, rules: readonly CompiledRule[]): number | null {
  if (encoding !== 'base64' && encoding !== 'hex') {
    const decoded = decodeToText(value, encoding, 0.9, true)
    return decoded === null ? null : rescanScore(rc, decoded, rules)
  }
  let best: number | null = null
  eachDecodedText(value, encoding, 0.9, (text) => {
    spend(rc, text.length, 1)
    best = Math.max(best ?? 0, rescanScore(rc, text, rules))
    return best < 1
  })
  return best
}

function accepted(rc: RunCtx, rule: CompiledRule, m: Match, original: string): boolean {
  if (!rule.validators.every((f) => f(m.value))) return false
  const { allowAny, allowByRule } = rc.set
  if (allowAny.has(m.value) || allowAny.has(original)) return false
  const byRule = allowByRule.get(rule.id)
  return !(byRule !== undefined && (byRule.has(m.value) || byRule.has(original)))
}

function makeFinding(rc: RunCtx, rule: CompiledRule, path: string, span: [number, number], score: number): RuleFinding {
  const action = rule.action[rc.direction]
  const f: RuleFinding = { ruleId: rule.id, kind: rule.kind as FindingKind, path, span, score, pack: rule.pack }
  // An injection finding counts toward the threshold (no action) only when its rule blocks and is enforced.
  const counts = rule.kind === 'injection' && action === 'block' && !rule.monitor
  if (!counts) f.action = rule.monitor ? 'flag' : action
  if (rule.monitor) f.monitoredAction = action
  if (rule.kind === 'injection' && !counts) {
    f.score = 0
    f.ruleScore = score
  }
  return f
}

function overlaps(a: [number, number], b: [number, number]): boolean {
  return a[0] < b[1] && b[0] < a[1]
}

/**
 * Runs one rule over the field's variants. Only matches it keeps count towards `maxMatchesPerRule` (a
 * field of placeholders or allow-listed values cannot use up the cap before a real value). One kept match
 * past the cap means values would go out unedited: a rule that redacts, strips or blocks then fails
 * closed (`rules-match-limit`); a rule that only logs stops there.
 */
function runRule(rc: RunCtx, rule: CompiledRule, variants: Variant[], field: ScanField, bucket: RuleBucket, out: RuleFinding[]): void {
  const single = rule.kind === 'injection'
  const cap = rc.set.limits.maxMatchesPerRule
  const mine: RuleFinding[] = []
  let over = false
  // Where the last candidate widened to the end of its run ended (in the whole text): the pattern goes on
  // to find more candidates inside that run (a dump's next byte, a blob's next line), all read already.
  let readTo = 0
  const visit = (v: Variant, m: Match): boolean => {
    if (v.offset + m.start < readTo) return true
    let span = v.span(m.start, m.end)
    if (!accepted(rc, rule, m, field.raw.slice(span[0], span[1]))) return true
    // Extended over the whole field, not the window: a key block or token longer than the windows'
    // overlap is cut short by the window's end and seen whole in no window.
    if (rule.extend !== undefined) span = v.span(m.start, extendedEnd(v.whole, v.offset + m.end, rule.extend) - v.offset)
    // A base64 or hex candidate as long as a pattern reads at once is read to the end of its run.
    let value = m.value
    const encoding = rule.decode?.encoding
    if (encoding === 'base64' || encoding === 'hex') {
      const end = encoding === 'base64' ? base64RunEnd(v.whole, v.offset + m.start, v.offset + m.end) : hexRunEnd(v.whole, v.offset + m.end)
      if (end > v.offset + m.end) {
        readTo = end
        value = v.whole.slice(v.offset + m.start, end)
        span = v.span(m.start, end - v.offset)
      }
    }
    // Windows overlap, so one match can be seen twice, cut short at the end of the first window: keep
    // the union.
    const seen = mine.findIndex((f) => f.span !== undefined && overlaps(f.span, span))
    if (seen >= 0) {
      const f = mine[seen] as RuleFinding & { span: [number, number] }
      if (span[0] < f.span[0] || span[1] > f.span[1]) mine[seen] = { ...f, span: [Math.min(f.span[0], span[0]), Math.max(f.span[1], span[1])] }
      return true
    }
    let score = rule.score
    if (rule.decode !== undefined) {
      const inner = decodedScore(rc, value, rule.decode.encoding, bucket.rescan.get(rule.kind) ?? [])
      if (inner === null || inner < rule.decode.minScore) return true
      score = combineScores([inner, rule.score])
    }
    if (mine.length >= cap) {
      over = true
      return false
    }
    mine.push(makeFinding(rc, rule, field.path, span, score))
    return !single
  }
  for (const v of variants) {
    spend(rc, v.text.length, rule.matcher.costFactor)
    rule.matcher.each(v.text, (m) => visit(v, m))
    if (over || (single && mine.length > 0)) break
  }
  out.push(...mine)
  if (over && !rule.monitor && rule.action[rc.direction] !== 'flag') out.push(matchLimit(field.path))
}

/** How far past a match `extend` may reach (a key block or token longer than this is cut here too). */
const MAX_EXTEND = 1 << 20
/** The rest of a key block's body (base64, white space, escaped line breaks) and its END line. */
const PEM_REST = new RegExp(`[A-Za-z0-9+/=\\s\\\\]{0,${MAX_EXTEND}}-----END[A-Z0-9 ]{0,40}-----`, 'y')

/**
 * Where a secret really ends when its pattern's length cap stopped the match inside it: over the token
 * characters that follow (`token`), or over the key block's body to its `-----END …-----` line (`pem`).
 */
function extendedEnd(text: string, end: number, how: 'token' | 'pem'): number {
  if (how === 'token') {
    const limit = Math.min(text.length, end + MAX_EXTEND)
    let e = end
    while (e < limit && isTokenUnit(text.charCodeAt(e))) e++
    return e
  }
  // Only a block cut short: one whose match already holds its END line ends there, and without an END
  // line ahead there is no telling the rest of the body from the prose after it.
  if (text.charCodeAt(end - 1) === 0x2d) return end
  PEM_REST.lastIndex = end
  return PEM_REST.test(text) ? PEM_REST.lastIndex : end
}

/** Characters of base64, base64url, JWT and header-token values. */
function isTokenUnit(u: number): boolean {
  return isAsciiAlnum(u) || u === 0x2b || u === 0x2f || u === 0x3d || u === 0x5f || u === 0x2d || u === 0x2e || u === 0x7e
}

// Module level, not a closure per call: tsx (which runs the Node bench and eval tools) keeps function
// names by wrapping every named closure in a helper call, which cost more than a short field's scan.
function exceeded(path: string): RuleFinding {
  return { ruleId: 'rules-budget-exceeded', kind: 'error', path, score: 1, action: 'block', pack: 'engine' }
}

function matchLimit(path: string): RuleFinding {
  return { ruleId: 'rules-match-limit', kind: 'error', path, score: 1, action: 'block', pack: 'engine' }
}

/** How much a finding's action does: a weaker finding around a stronger one must not hide it. */
const ACTION_RANK: Record<RuleAction, number> = { flag: 0, strip: 1, redact: 2, block: 3 }

/**
 * Drops a non-scored finding whose span lies inside another one of the same kind whose action is at
 * least as strong (keeps redaction spans minimal; a `flag` around a `redact` keeps the redaction).
 */
function dropContained(findings: RuleFinding[]): RuleFinding[] {
  return findings.filter((f, i) => {
    if (f.kind === 'injection' || f.span === undefined) return true
    const [s, e] = f.span
    const rank = ACTION_RANK[f.action ?? 'flag']
    return !findings.some((g, j) => {
      if (j === i || g.kind !== f.kind || g.span === undefined || ACTION_RANK[g.action ?? 'flag'] < rank) return false
      const [gs, ge] = g.span
      const inside = gs <= s && e <= ge
      return inside && (ge - gs > e - s || j < i)
    })
  })
}

/**
 * Scans one field with the rules that apply to it. Never throws for budget reasons: when the message's
 * budget runs out it returns a `rules-budget-exceeded` finding (kind `error`, action `block`) so the
 * pipeline fails closed.
 */
export function scanField(set: CompiledRuleSet, field: ScanField, direction: Direction, budget: Budget): RuleFinding[] {
  // No rule matches fewer printable-ASCII characters than this (the shortest secret, address or phrase is
  // longer; hidden-Unicode rules need non-ASCII); schema keys and type names ("type", "id") are the bulk
  // of a tools/list and need no scan.
  if (field.raw.length < MIN_SCAN_CHARS && PRINTABLE_ASCII.test(field.raw)) return []
  const bucket = set.bucket(direction, field.role, field.isKey, field.joined)
  if (bucket.rules.length === 0) return []
  if (budget.exhausted) return [exceeded(field.path)]
  const max = set.limits.maxFieldChars
  const raw = bucket.needsRaw ? windows(field.raw, identity, max) : []
  let norm: Variant[] = []
  let same = true
  if (bucket.needsNormalized) {
    const n = field.normalized
    const { text, plain } = ruleView(n)
    same = text === field.raw
    norm = same && bucket.needsRaw ? raw : windows(text, same ? identity : plain ? plainMap(plain, n) : normalizedMap(n), max)
  }
  const rc: RunCtx = { set, budget, direction }
  const out: RuleFinding[] = []
  try {
    const rules = bucket.rules
    for (const at of candidates(bucket, norm, raw, set.keywords)) {
      const rule = rules[at] as CompiledRule
      // The pre-filter reads the normalised text for every rule but raw-only ones: normalisation and
      // accent folding only decode and map towards ASCII, so a keyword in the raw text is also in the
      // normalised one; the markup view drops `*_~\`` only at word edges or doubled inside words, and
      // tags, which no shipped keyword of a normalised-view rule spells at such a place.
      const filterOn = rule.on === 'raw' ? raw : norm
      if (!passesFilter(filterOn, rule, set.keywords)) continue
      const variants =
        rule.on === 'raw' ? raw : rule.on === 'normalized' || same ? norm : [...norm, ...raw]
      if (tooShort(variants, rule.matcher.minLength)) continue
      runRule(rc, rule, variants, field, bucket, out)
    }
  } catch (err) {
    if (err instanceof BudgetExceeded) return [...out, exceeded(field.path)]
    throw err
  }
  return dropContained(out)
}
