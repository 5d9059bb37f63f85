/**
 * The one combiner of injection evidence. Every detector (the invisible-Unicode detector, rule packs,
 * the classifier) only adds findings of kind `injection` with a score in 0..1.
 *
 * Within one field, scores combine as independent evidence (noisy-OR: 1 − Π(1 − sᵢ)), so two weak
 * signals in the same text can cross the threshold together. Across fields the maximum is taken, so a
 * `tools/list` of fifty benign descriptions does not add up to a block.
 */
import type { Finding } from './types'

/**
 * The message's injection score: max over fields of the noisy-OR of that field's injection scores.
 * `fieldOf` names the field a finding came from; by default its pointer (an object key and its value
 * share a pointer, so the pipeline passes a key that tells them apart).
 */
export function combineInjection(findings: readonly Finding[], fieldOf: (f: Finding) => string = (f) => f.path): number {
  const miss = new Map<string, number>()
  for (const f of findings) {
    if (f.kind !== 'injection') continue
    const s = Math.min(Math.max(f.score, 0), 1)
    const field = fieldOf(f)
    miss.set(field, (miss.get(field) ?? 1) * (1 - s))
  }
  let best = 0
  for (const m of miss.values()) best = Math.max(best, 1 - m)
  return best
}
