/**
 * Decoded-payload rescans: the text an encoded-payload rule's match decodes to is scored under the plain
 * rules of the same kind, and that score decides whether the match is a finding. For a rule that reads
 * nested encodings, base64 and hex found in that text are decoded and scored in turn, up to
 * {@link MAX_DECODE_LAYERS} layers in all, every layer charged to the message's budget.
 */
import { normalize } from '../../inspect/normalize'
import type { CompiledRule } from './compile'
import { candidateEnd, decodeToText, eachDecodedText, MAX_DECODE_LAYERS } from './decode'
import type { Encoding } from './decode'
import { accepted, combineScores } from './findings'
import { hasKeyword } from './prefilter'
import { identity, ruleView, type Variant } from './variants'
import { spend, type RunCtx } from './work-budget'

/** What a decoded payload is rescanned with: the plain rules of the decoding rule's kind, and the rules that find its inner layers (none: one layer). */
export interface Rescan {
  readonly rules: readonly CompiledRule[]
  readonly nested: readonly CompiledRule[]
}

/** A decoded payload's score with its inner layers read, and its score on the first layer alone. */
export interface DecodedScore {
  readonly score: number
  readonly firstLayer: number
}

/**
 * Score of a decoded payload (`layer` deep) under the plain rules of the decoding rule's kind (one hit per
 * rule): the noisy-OR of the rules that match it, with their validators and the allow-list applied as in
 * traffic. Below the last layer, each nested-encoding rule adds the score of the first of its candidates
 * whose own decoded text reaches its `minScore` (an inner layer adds what it hides, not the rule's score:
 * base64 of base64 scores what base64 alone does).
 */
function rescanScore(rc: RunCtx, text: string, rescan: Rescan, layer: number): DecodedScore {
  const view = ruleView(normalize(text)).text
  const v: Variant = { text: view, span: identity, whole: view, offset: 0 }
  const scores: number[] = []
  for (const r of rescan.rules) {
    if (!hasKeyword(v, r, rc.set.keywords)) continue
    spend(rc, text.length, r.matcher.costFactor)
    // Past every match the validators or the allow-list drop, however many come first.
    let hit = false
    r.matcher.each(v.text, (m) => !(hit = accepted(rc, r, m, m.value)))
    if (hit) scores.push(r.score)
  }
  const firstLayer = combineScores(scores)
  if (layer < MAX_DECODE_LAYERS && firstLayer < 1) {
    for (const d of rescan.nested) {
      const inner = innerLayerScore(rc, v, d, rescan, layer)
      if (inner !== null) scores.push(inner)
    }
  }
  return { score: combineScores(scores), firstLayer }
}

/** The score of the first candidate of decoding rule `d` in `v` whose decoded text reaches its `minScore`, or null. */
function innerLayerScore(rc: RunCtx, v: Variant, d: CompiledRule, rescan: Rescan, layer: number): number | null {
  const spec = d.decode
  if (spec === undefined || v.text.length < d.matcher.minLength || !hasKeyword(v, d, rc.set.keywords)) return null
  spend(rc, v.text.length, d.matcher.costFactor)
  let found: number | null = null
  let read = 0
  d.matcher.each(v.text, (m) => {
    // A candidate inside a run already read to its end (a wrapped blob's next line) is not read again.
    if (m.start < read || !accepted(rc, d, m, m.value)) return true
    const end = candidateEnd(spec.encoding, v.text, m.start, m.end)
    read = end
    const inner = decodedScore(rc, end > m.end ? v.text.slice(m.start, end) : m.value, spec.encoding, rescan, layer + 1)
    if (inner === null || inner.score < spec.minScore) return true
    found = inner.score
    return false
  })
  return found
}

/**
 * Score of the text `value` decodes to (a long base64 or hex candidate: the best of its pieces), or null
 * when it is not text. `layer`: how deep that text is (1: `value` is what the field holds).
 */
export function decodedScore(rc: RunCtx, value: string, encoding: Encoding, rescan: Rescan, layer = 1): DecodedScore | null {
  if (encoding !== 'base64' && encoding !== 'hex') {
    const decoded = decodeToText(value, encoding, 0.9, true)
    return decoded === null ? null : rescanScore(rc, decoded, rescan, layer)
  }
  let best: DecodedScore | null = null
  eachDecodedText(value, encoding, 0.9, (text) => {
    spend(rc, text.length, 1)
    const s = rescanScore(rc, text, rescan, layer)
    best = { score: Math.max(best?.score ?? 0, s.score), firstLayer: Math.max(best?.firstLayer ?? 0, s.firstLayer) }
    return best.score < 1
  })
  return best
}
