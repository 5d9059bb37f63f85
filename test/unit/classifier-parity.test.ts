/// <reference types="vite/client" />
/**
 * The Worker's classifier against the training side: the same features, window logits and scores as
 * scripts/train wrote for hand-written fixtures; the same on every call; and the model card describes
 * the weights that ship (its SHA-256 is the file's).
 */
import { describe, expect, it } from 'vitest'
import modelRaw from '../../rules/classifier/model.json?raw'
import modelCard from '../../rules/classifier/MODEL_CARD.md?raw'
import metrics from '../../rules/classifier/metrics.json'
import parity from '../../rules/classifier/parity-fixtures.json'
import { decodeModel, getModel, getScorer, Scorer } from '../../src/detectors/classifier/model'
import { extract, newStream, prepare, windowBounds, STRIDE, WINDOW } from '../../src/detectors/classifier/features'

/** Fixtures holding lone surrogates carry UTF-16 code units instead of a JSON string. */
function textOf(f: { text?: string; units?: number[] }): string {
  return f.text ?? String.fromCharCode(...(f.units ?? []))
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

describe('classifier parity with the training side', () => {
  it('extracts exactly the features the Python hashing produces', () => {
    const model = getModel()
    for (const f of parity.features) {
      const p = prepare(f.text)
      expect([...p.units], f.text).toEqual(f.units)
      const chars = newStream()
      const words = newStream()
      extract(p.units, model.charBits, model.wordBits, chars, words)
      const sorted = (xs: number[][]) => xs.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!)
      // Chars: slot k is position k >> 1; -1 marks an n-gram that would run past the end.
      const charPairs = Array.from({ length: chars.length }, (_, k) => [k >> 1, chars.code[k] as number]).filter(([, c]) => c! >= 0)
      const wordPairs = Array.from({ length: words.length }, (_, k) => [words.pos[k] as number, words.code[k] as number])
      expect(sorted(charPairs), f.text).toEqual(f.chars)
      expect(sorted(wordPairs), f.text).toEqual(f.words)
    }
  })

  it.each(parity.fixtures.map((f) => [f.name, f] as const))('%s: window logits and score match', (_name, f) => {
    const scorer = getScorer()
    const text = textOf(f)
    const { logits } = scorer.windowLogits(prepare(text))
    expect(logits.length).toBe(f.windowLogits.length)
    logits.forEach((v, j) => expect(Math.abs(v - (f.windowLogits[j] as number))).toBeLessThan(1e-9))
    const s = scorer.score(text)
    expect(Math.abs(s.logit - f.logit)).toBeLessThan(1e-9)
    expect(Math.abs(s.score - f.score)).toBeLessThan(1e-9)
  })

  it('is deterministic: repeated calls and a fresh scorer give identical scores', () => {
    const fresh = new Scorer(decodeModel(JSON.parse(modelRaw)))
    for (const f of parity.fixtures) {
      const text = textOf(f)
      const a = getScorer().score(text)
      const b = getScorer().score(text)
      const c = fresh.score(text)
      expect(b).toEqual(a)
      expect(c).toEqual(a)
    }
  })

  it('uses the window geometry the model was trained with', () => {
    expect(windowBounds(WINDOW)).toEqual([[0, WINDOW]])
    expect(windowBounds(WINDOW + 1)).toEqual([[0, WINDOW], [1, WINDOW + 1]])
    expect(windowBounds(WINDOW + 2 * STRIDE + 10).at(-1)).toEqual([2 * STRIDE + 10, WINDOW + 2 * STRIDE + 10])
  })
})

describe('model card and weights', () => {
  it('the card, the metrics and the fixtures name the SHA-256 of the shipped weights', async () => {
    const sha = await sha256(modelRaw)
    expect(modelCard).toContain(`\`${sha}\``)
    expect(metrics.modelSha256).toBe(sha)
    expect(parity.modelSha256).toBe(sha)
  })

  it('the weights file stays under 2 MB and the card states its size and date', () => {
    const bytes = new TextEncoder().encode(modelRaw).length
    expect(bytes).toBeLessThanOrEqual(2 * 1024 * 1024)
    expect(modelCard).toContain(`${bytes.toLocaleString('en-US')} bytes`)
    expect(modelCard).toContain(`| trained | ${getModel().trainedAt} |`)
  })

  it('places the default operating point at score 0.8', () => {
    const m = getModel()
    expect(m.thresholdScore).toBe(0.8)
    const i = m.knotLogit.indexOf(m.thresholdLogit)
    expect(i).toBeGreaterThan(0)
    expect(m.knotScore[i]).toBe(0.8)
  })
})
