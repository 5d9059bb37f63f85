/**
 * The Worker's view of training texts: reads a JSON array of `[text, role]` on stdin and writes, one JSON
 * line per pair, `[detectionText, scored, ruleMiss]`:
 * - `detectionText`: what the classifier scores in a field (the pipeline's normalisation,
 *   `field.normalized.text`);
 * - `scored`: whether it scores that field at all (length and word minimums);
 * - `ruleMiss`: the product of (1 − score) over the default rule packs' injection findings in that field,
 *   so the training side can combine them with a classifier score as the pipeline does (noisy-OR).
 * `scripts/train/normalize.py` calls it, so the model learns from, and the model card measures, exactly
 * what the Worker sees, and the threshold is chosen for the default stack, not the classifier alone.
 */
import { readFileSync } from 'node:fs'
import type { FieldRole, MessageContext } from '../../src/inspect/types'
import { worthScoring } from '../../src/detectors/classifier/detector'
import { createRulesDetector, textField } from '../../src/detectors/rules'

const rules = createRulesDetector()
const pairs = JSON.parse(readFileSync(0, 'utf8')) as Array<[string, FieldRole]>
const out: string[] = []
pairs.forEach(([raw, role], i) => {
  const field = textField(raw, role, { path: '/text' })
  const ctx: MessageContext = { tenantId: 'train', direction: 'server_to_client', requestId: `train-${i}`, era: 'legacy' }
  let miss = 1
  for (const f of rules.detect(field, ctx)) if (f.kind === 'injection') miss *= 1 - Math.min(Math.max(f.score, 0), 1)
  const text = field.normalized.text
  out.push(JSON.stringify([text, worthScoring(text), miss]))
})
process.stdout.write(out.join('\n') + '\n')
