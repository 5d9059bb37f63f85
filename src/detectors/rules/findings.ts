/**
 * What a rule's match becomes: the check that keeps it (validators, allow-list), the finding built from
 * it, the engine's own findings (budget exceeded, match limit), how scores combine, and the pass that
 * drops findings inside stronger ones.
 */
import type { Finding, FindingKind, RuleAction } from '../../inspect/types'
import type { CompiledRule } from './compile'
import type { Match } from './matcher'
import type { PackName } from './schema'
import type { RunCtx } from './work-budget'

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

/** Noisy-OR of scores, as the pipeline combines injection findings. */
export function combineScores(scores: Iterable<number>): number {
  let miss = 1
  for (const s of scores) miss *= 1 - s
  return 1 - miss
}

/** Whether a match survives the rule's validators and the allow-list (by its value or its original text). */
export function accepted(rc: RunCtx, rule: CompiledRule, m: Match, original: string): boolean {
  if (!rule.validators.every((f) => f(m.value))) return false
  const { allowAny, allowByRule } = rc.set
  if (allowAny.has(m.value) || allowAny.has(original)) return false
  const byRule = allowByRule.get(rule.id)
  return !(byRule !== undefined && (byRule.has(m.value) || byRule.has(original)))
}

/** The finding for a kept match, with the action and score its rule resolves to in this direction. */
export function makeFinding(rc: RunCtx, rule: CompiledRule, path: string, span: [number, number], score: number): RuleFinding {
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

// Module level, not a closure per call: tsx (which runs the Node bench and eval tools) keeps function
// names by wrapping every named closure in a helper call, which cost more than a short field's scan.
/** The finding a field gets once the message's budget has run out. */
export function exceeded(path: string): RuleFinding {
  return { ruleId: 'rules-budget-exceeded', kind: 'error', path, score: 1, action: 'block', pack: 'engine' }
}

/** The finding a rule that redacts, strips or blocks adds when it has more matches than it may keep. */
export function matchLimit(path: string): RuleFinding {
  return { ruleId: 'rules-match-limit', kind: 'error', path, score: 1, action: 'block', pack: 'engine' }
}

/** How much a finding's action does: a weaker finding around a stronger one must not hide it. */
const ACTION_RANK: Record<RuleAction, number> = { flag: 0, strip: 1, redact: 2, block: 3 }

/**
 * Drops a non-scored finding whose span lies inside another one of the same kind whose action is at
 * least as strong (keeps redaction spans minimal; a `flag` around a `redact` keeps the redaction).
 */
export function dropContained(findings: RuleFinding[]): RuleFinding[] {
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
