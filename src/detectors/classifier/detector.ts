/**
 * The classifier `Detector`: one finding per field whose calibrated score reaches the report floor.
 *
 * It scores `field.normalized.text` (so entity-encoded or zero-width-split words are seen whole) in
 * windows, takes the best window, and reports kind `injection`, rule id `classifier-injection`. The
 * pipeline combines it with rule findings (noisy-OR per field, max over fields) and blocks at the
 * tenant's `injectionThreshold`; the model's default operating point sits exactly at 0.8.
 */
import type { Detector, Finding, MessageContext, ScanField } from '../../inspect/types'
import { ClassifierPolicy, type ClassifierRole } from './config'
import { getScorer, Scorer, type LinearModel, type TextScore } from './model'
import type { FirewallRuleId } from '../../inspect/rule-ids'

export const CLASSIFIER_RULE_ID = 'classifier-injection' satisfies FirewallRuleId

/** Below this many characters a string cannot carry an instruction worth scoring (ids, enum values). */
const MIN_CHARS = 12
/**
 * Nor below this many words: a linear n-gram model over two or three words is mostly guessing (it
 * scored the tool result "answer: stub answer" 0.95), and short imperative phrases are the rule packs'
 * job. Counted as runs of non-space characters.
 */
export const MIN_WORDS = 5

/** A classifier finding: the contract's `Finding` plus what the model said, for logs and the second stage. */
export interface ClassifierFinding extends Finding {
  ruleId: typeof CLASSIFIER_RULE_ID
  /** Calibrated model score before the tenant's threshold rescaling or `flag` zeroing. */
  modelScore: number
  /** Raw model logit of the best window. */
  logit: number
  /** [start, end) of the best window in `field.normalized.text`. */
  textSpan: [number, number]
}

export interface ClassifierDetectorOptions {
  /** The tenant's `policy.classifier` (parsed); default: enabled, model threshold, action `block`. */
  policy?: ClassifierPolicy
  /** The tenant's `policy.injectionThreshold` (default 0.8): where a rescaled `threshold` must land. */
  injectionThreshold?: number
  /** A model other than the shipped one (tests). */
  model?: LinearModel
}

/**
 * Maps the model's calibrated score so that the tenant's own classifier threshold `t` lands on the
 * pipeline's injection threshold `it`: [0, t] → [0, it] and [t, 1] → [it, 1], linearly.
 */
export function rescale(score: number, t: number | undefined, it: number): number {
  if (t === undefined || t === it) return score
  return score < t ? (score * it) / t : it + ((score - t) * (1 - it)) / (1 - t)
}

/**
 * Builds the classifier detector for a tenant. Cheap: the weights are decoded once per isolate, on the
 * first field scored.
 * @example
 * const detector = createClassifierDetector({ policy: tenant.policy.classifier, injectionThreshold: tenant.policy.injectionThreshold })
 * const findings = detector.detect(field, ctx)
 */
export function createClassifierDetector(options: ClassifierDetectorOptions = {}): Detector {
  const policy = options.policy ?? ClassifierPolicy.parse({})
  const it = options.injectionThreshold ?? 0.8
  const roles = new Set<ClassifierRole>(policy.roles)
  let scorer: Scorer | undefined
  let lastText: string | undefined
  let lastScore: TextScore | undefined

  function scoreText(text: string): TextScore {
    if (text === lastText && lastScore) return lastScore
    scorer ??= options.model ? new Scorer(options.model) : getScorer()
    const s = scorer.score(text)
    lastText = text
    lastScore = s
    return s
  }

  return {
    id: 'classifier',
    detect(field: ScanField, _ctx: MessageContext): Finding[] {
      if (!policy.enabled || !roles.has(field.role)) return []
      const norm = field.normalized
      const text = norm.text
      if (!worthScoring(text)) return []
      const s = scoreText(text)
      const floor = (scorer as Scorer).model.floor
      const score = rescale(s.score, policy.roleThresholds?.[field.role] ?? policy.threshold, it)
      if (score < floor) return []
      const finding: ClassifierFinding = {
        ruleId: CLASSIFIER_RULE_ID,
        kind: 'injection',
        path: field.path,
        span: [norm.toOriginal(s.span[0]), Math.max(norm.toOriginal(s.span[0]), norm.toOriginalEnd(s.span[1]))],
        score: policy.action === 'flag' ? 0 : score,
        modelScore: s.score,
        logit: s.logit,
        textSpan: s.span,
      }
      if (policy.action === 'flag') finding.action = 'flag'
      return [finding]
    },
  }
}

/** Whether the detector scores a field whose detection text is `text` (the training side asks the same). */
export function worthScoring(text: string): boolean {
  return text.length >= MIN_CHARS && !wordCountBelow(text, MIN_WORDS)
}

/** True for findings this detector made. */
export function isClassifierFinding(f: Finding): f is ClassifierFinding {
  return f.ruleId === CLASSIFIER_RULE_ID && 'modelScore' in f
}

/**
 * True when `text` has fewer than `n` words (stops counting at `n`). A word is a run of non-space
 * characters, except in scripts written without spaces: there each Han or Kana character counts as a
 * word (most Chinese and Japanese words are one or two characters), and each three Thai, Lao, Khmer or
 * Myanmar characters count as one. Without that, a whole Chinese sentence was one "word" and never scored.
 */
function wordCountBelow(text: string, n: number): boolean {
  let words = 0
  let inWord = false
  let unspaced = 0
  for (let i = 0; i < text.length && words < n; i++) {
    const u = text.charCodeAt(i)
    const per = unitsPerWord(u)
    if (per > 0) {
      if (++unspaced >= per) {
        words++
        unspaced = 0
      }
      inWord = false
      continue
    }
    unspaced = 0
    const space = u <= 0x20
    if (!space && !inWord) words++
    inWord = !space
  }
  return words < n
}

/** How many units of an unspaced script make a word: 1 for Han and Kana, 3 for South-East Asian scripts, 0 otherwise. */
function unitsPerWord(u: number): number {
  if (u < 0x0e00) return 0
  if ((u >= 0x3040 && u <= 0x30ff) || (u >= 0x3400 && u <= 0x4dbf) || (u >= 0x4e00 && u <= 0x9fff) || (u >= 0xf900 && u <= 0xfaff)) return 1
  if (u <= 0x0eff || (u >= 0x1000 && u <= 0x109f) || (u >= 0x1780 && u <= 0x17ff)) return 3
  return 0
}
