/**
 * Measures the injection stack on labelled JSONL files.
 *
 *   npm run eval -- FILE.jsonl [FILE…] [--detector rules|classifier|all] [--threshold 0.8] [--role tool-result]
 *
 * Each line is `{"text": …, "label": 0|1}` (optionally `"role"`, a field role). Every text is scanned as
 * one server → client field with the default policy of the chosen detectors (rule packs and/or the
 * classifier); their injection findings are combined as the pipeline does (noisy-OR) and the text counts
 * as flagged when the combined score reaches the threshold (the tenant default, 0.8). Prints one JSON
 * line per file: file, n, tp, fp, tn, fn, precision, recall, f1, fpr, recall_at_1pct_fpr (recall at the
 * score that keeps this file's own false-positive rate at or under 1 %; null without both labels).
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { combineInjection } from '../src/inspect/combine'
import type { Detector, FieldRole, Finding, MessageContext } from '../src/inspect/types'
import { createClassifierDetector } from '../src/detectors/classifier'
import { createRulesDetector, textField } from '../src/detectors/rules'

const ROLES: readonly FieldRole[] = [
  'tool-definition', 'prompt-definition', 'tool-result', 'resource', 'prompt', 'sampling', 'elicitation',
  'instructions', 'arguments', 'completion', 'notification', 'error', 'other',
]

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    detector: { type: 'string', default: 'all' },
    threshold: { type: 'string', default: '0.8' },
    role: { type: 'string', default: 'tool-result' },
  },
})

const which = values.detector
if (which !== 'rules' && which !== 'classifier' && which !== 'all') fail(`--detector must be rules, classifier or all (got ${which})`)
const threshold = Number(values.threshold)
if (!(threshold > 0 && threshold <= 1)) fail(`--threshold must be in (0, 1] (got ${values.threshold})`)
const defaultRole = values.role as FieldRole
if (!ROLES.includes(defaultRole)) fail(`--role must be one of ${ROLES.join(', ')}`)
if (positionals.length === 0) fail('usage: npm run eval -- FILE.jsonl [FILE…] [--detector rules|classifier|all] [--threshold 0.8] [--role tool-result]')

const detectors: Detector[] = []
if (which !== 'classifier') detectors.push(createRulesDetector())
if (which !== 'rules') detectors.push(createClassifierDetector({ injectionThreshold: threshold }))

function fail(message: string): never {
  console.error(message)
  process.exit(2)
}

function score(text: string, role: FieldRole, i: number): number {
  const ctx: MessageContext = { tenantId: 'eval', direction: 'server_to_client', requestId: `eval-${i}`, era: 'legacy' }
  const field = textField(text, role, { path: '/text' })
  const findings: Finding[] = []
  for (const d of detectors) findings.push(...d.detect(field, ctx))
  return combineInjection(findings)
}

function recallAtFpr(scores: number[], labels: number[], fpr: number): number | null {
  const neg = scores.filter((_, i) => labels[i] === 0).sort((a, b) => b - a)
  const pos = scores.filter((_, i) => labels[i] === 1)
  if (neg.length === 0 || pos.length === 0) return null
  // The smallest cut that flags at most floor(fpr · n) benign texts.
  const k = Math.floor(fpr * neg.length + 1e-9)
  const cut = k >= neg.length ? -Infinity : (neg[k] as number)
  return pos.filter((s) => s > cut).length / pos.length
}

for (const file of positionals) {
  const scores: number[] = []
  const labels: number[] = []
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return
      const row = JSON.parse(line) as { text?: unknown; label?: unknown; role?: unknown }
      if (typeof row.text !== 'string') fail(`${file}:${i + 1}: "text" must be a string`)
      const label = Number(row.label)
      if (label !== 0 && label !== 1) fail(`${file}:${i + 1}: "label" must be 0 or 1`)
      const role = typeof row.role === 'string' && ROLES.includes(row.role as FieldRole) ? (row.role as FieldRole) : defaultRole
      scores.push(score(row.text, role, i))
      labels.push(label)
    })
  let tp = 0
  let fp = 0
  let tn = 0
  let fn = 0
  scores.forEach((s, i) => {
    const flagged = s >= threshold
    if (labels[i] === 1) flagged ? tp++ : fn++
    else flagged ? fp++ : tn++
  })
  const precision = tp + fp ? tp / (tp + fp) : 0
  const recall = tp + fn ? tp / (tp + fn) : 0
  const out = {
    file,
    n: scores.length,
    tp,
    fp,
    tn,
    fn,
    precision: round(precision),
    recall: round(recall),
    f1: round(precision + recall ? (2 * precision * recall) / (precision + recall) : 0),
    fpr: round(fp + tn ? fp / (fp + tn) : 0),
    recall_at_1pct_fpr: nullable(recallAtFpr(scores, labels, 0.01)),
  }
  console.log(JSON.stringify(out))
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000
}

function nullable(x: number | null): number | null {
  return x === null ? null : round(x)
}
