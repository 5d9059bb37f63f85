/**
 * Compares the Worker's window logits with the Python side's on every text of the data sets (written by
 * `scripts/train/parity_corpus.py`). Exits non-zero on any window count mismatch or logit difference
 * above 1e-9.
 *
 *   npx tsx scripts/train/parity-check.ts [.eval/classifier/parity-corpus.jsonl]
 */
import { readFileSync } from 'node:fs'
import { getScorer } from '../../src/detectors/classifier/model'
import { prepare } from '../../src/detectors/classifier/features'

const file = process.argv[2] ?? '.eval/classifier/parity-corpus.jsonl'
const scorer = getScorer()
let n = 0
let windows = 0
let bad = 0
let maxDiff = 0
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (!line) continue
  const { text, windowLogits } = JSON.parse(line) as { text: string; windowLogits: number[] }
  const { logits } = scorer.windowLogits(prepare(text))
  n++
  if (logits.length !== windowLogits.length) {
    bad++
    if (bad <= 5) console.error(`window count differs (${logits.length} vs ${windowLogits.length}): ${JSON.stringify(text.slice(0, 80))}`)
    continue
  }
  logits.forEach((v, j) => {
    const d = Math.abs(v - (windowLogits[j] as number))
    windows++
    if (d > maxDiff) maxDiff = d
    if (d > 1e-9) {
      bad++
      if (bad <= 5) console.error(`logit differs by ${d}: ${JSON.stringify(text.slice(0, 80))}`)
    }
  })
}
console.log(JSON.stringify({ texts: n, windows, mismatches: bad, maxAbsDiff: maxDiff }))
process.exit(bad === 0 ? 0 : 1)
