/**
 * Runs a compiled rule set over one field: keyword pre-filter, regex on normalised and/or raw text,
 * validators, allow-list, spans mapped back to the original string, and the per-message budget.
 */
import type { Direction, ScanField } from '../../inspect/types'
import type { CompiledRule, CompiledRuleSet, RuleBucket } from './compile'
import { candidateEnd } from './decode'
import { extendedEnd } from './extend'
import { accepted, combineScores, dropContained, exceeded, makeFinding, matchLimit, type RuleFinding } from './findings'
import type { Match } from './matcher'
import { candidates, passesFilter, tooShort } from './prefilter'
import { decodedScore, type Rescan } from './rescan'
import { identity, normalizedMap, plainMap, ruleView, windows, type Variant } from './variants'
import { BudgetExceeded, spend, type Budget, type RunCtx } from './work-budget'

/** Fields shorter than this are not scanned by the rule packs (see `scanField`). */
export const MIN_SCAN_CHARS = 5
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

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
  // Where the last candidate widened to the end of its run ended, in the text it was found in (the
  // normalised or the raw one: offsets of one say nothing about the other): the pattern goes on to find
  // more candidates inside that run (a dump's next byte, a blob's next line), all read already.
  let read: { whole: string; to: number } | undefined
  const visit = (v: Variant, m: Match): boolean => {
    if (read !== undefined && read.whole === v.whole && v.offset + m.start < read.to) return true
    let span = v.span(m.start, m.end)
    if (!accepted(rc, rule, m, field.raw.slice(span[0], span[1]))) return true
    // Extended over the whole field, not the window: a key block or token longer than the windows'
    // overlap is cut short by the window's end and seen whole in no window.
    if (rule.extend !== undefined) span = v.span(m.start, extendedEnd(v.whole, v.offset + m.end, rule.extend) - v.offset)
    // A base64 or hex candidate as long as a pattern reads at once is read to the end of its run.
    let value = m.value
    if (rule.decode !== undefined) {
      const end = candidateEnd(rule.decode.encoding, v.whole, v.offset + m.start, v.offset + m.end)
      if (end > v.offset + m.end) {
        read = { whole: v.whole, to: end }
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
    let monitor = rule.monitor
    if (rule.decode !== undefined) {
      const inner = decodedScore(rc, value, rule.decode.encoding, rescanOf(rule, bucket))
      if (inner === null || inner.score < rule.decode.minScore) return true
      score = combineScores([inner.score, rule.score])
      // What only an inner layer gives is logged while the tenant has not raised its pin to `decode.nested`.
      if (inner.firstLayer < rule.decode.minScore) monitor = rule.nestedMonitor
    }
    if (mine.length >= cap) {
      over = true
      return false
    }
    mine.push(makeFinding(rc, monitor === rule.monitor ? rule : { ...rule, monitor }, field.path, span, score))
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

/** What the payloads `rule` decodes are rescanned with: the plain rules of its kind, and with `decode.nested` the rules that find inner layers. */
function rescanOf(rule: CompiledRule, bucket: RuleBucket): Rescan {
  const rules = bucket.rescan.get(rule.kind) ?? []
  return { rules, nested: rule.decode?.nested === undefined ? [] : (bucket.nested.get(rule.kind) ?? []) }
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
