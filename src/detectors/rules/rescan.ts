/**
 * Decoded-payload rescans: the text an encoded-payload rule's match decodes to is scored under the plain
 * rules of the same kind, and that score decides whether the match is a finding.
 */
import { normalize } from '../../inspect/normalize'
import type { CompiledRule } from './compile'
import { decodeToText, eachDecodedText } from './decode'
import type { Encoding } from './decode'
import { accepted, combineScores } from './findings'
import { hasKeyword } from './prefilter'
import { identity, ruleView, type Variant } from './variants'
import { spend, type RunCtx } from './work-budget'

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
export function decodedScore(rc: RunCtx, value: string, encoding: Encoding, rules: readonly CompiledRule[]): number | null {
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
