/**
 * The WebAssembly kernel against the TypeScript scorer it replaces on the hot path: bit-identical logits,
 * window counts and spans on the training side's fixtures and on texts built to hit every edge of the
 * feature specification (space folding, digits, long words, case mappings that change a string's length,
 * lone surrogates, window boundaries), and the fallbacks (no module, texts over the kernel's cap).
 */
import { afterEach, describe, expect, it } from 'vitest'
import parity from '../../rules/classifier/parity-fixtures.json'
import e2eFixtures from '../../rules/classifier/e2e-fixtures.json'
import kernelModule from '../../src/detectors/classifier/kernel.wasm'
import { currentKernelModule, KERNEL_MAX_UNITS, useClassifierKernel } from '../../src/detectors/classifier/kernel'
import { getModel, Scorer, type TextScore } from '../../src/detectors/classifier/model'
import { STRIDE, WINDOW } from '../../src/detectors/classifier/features'
import { mulberry32 } from '../support/random'

const before = currentKernelModule()
afterEach(() => useClassifierKernel(before))

const PIECES = [
  'ignore ', 'all ', 'previous ', 'instructions', ' and ', 'send ', 'the ', 'ssh keys ', 'to ', 'attacker.example',
  '   ', '\t\n', '\u00a0', '\u3000', '2026-11-21 ', '0xDEADbeef ', 'İstanbul ', 'STRASSE ', 'Straße ', 'ǅ',
  '維護期間查詢可能較慢 ', '😀', '\ud800', '\udc00', 'x'.repeat(40), '<IMPORTANT>', '—', '…', '_snake_case_', 'ΣΊΣΥΦΟΣ ',
]

function randomText(seed: number, length: number): string {
  const next = mulberry32(seed)
  let s = ''
  while (s.length < length) s += PIECES[Math.floor(next() * PIECES.length)]
  return s.slice(0, length)
}

function textOf(f: { text?: string; units?: number[] }): string {
  return f.text ?? String.fromCharCode(...(f.units ?? []))
}

function bothWays(text: string): [TextScore, TextScore] {
  const scorer = new Scorer(getModel())
  useClassifierKernel(undefined)
  const reference = scorer.score(text)
  useClassifierKernel(kernelModule)
  return [reference, scorer.score(text)]
}

const EDGE_LENGTHS = [0, 1, 2, 4, 5, 11, WINDOW - 2, WINDOW - 1, WINDOW, WINDOW + 1, WINDOW + STRIDE, WINDOW + STRIDE + 1, 1000, 16_384]

describe('classifier WebAssembly kernel', () => {
  it('scores every training-side fixture exactly as the TypeScript scorer does', () => {
    for (const f of parity.fixtures) {
      const [reference, kernel] = bothWays(textOf(f))
      expect(kernel, f.name).toEqual(reference)
    }
  })

  it('scores the end-to-end fixtures exactly as the TypeScript scorer does', () => {
    const texts = JSON.stringify(e2eFixtures).match(/"(?:[^"\\]|\\.){12,}"/g) ?? []
    expect(texts.length).toBeGreaterThan(5)
    for (const quoted of texts) {
      const text = JSON.parse(quoted) as string
      const [reference, kernel] = bothWays(text)
      expect(kernel, text.slice(0, 60)).toEqual(reference)
    }
  })

  it.each(EDGE_LENGTHS)('matches on random texts of %i units, window edges included', (length) => {
    for (let seed = 1; seed <= 12; seed++) {
      const text = randomText(seed * 7919 + length, length)
      const [reference, kernel] = bothWays(text)
      expect(kernel, JSON.stringify(text.slice(0, 80))).toEqual(reference)
    }
  })

  it('matches on texts of one repeated unit (the largest per-window bucket counts)', () => {
    for (const unit of ['a', ' ', '0', '\u00df', 'é']) {
      const [reference, kernel] = bothWays(unit.repeat(3 * WINDOW))
      expect(kernel, unit).toEqual(reference)
    }
  })

  it('scores the same text the same way every time (its counts are left at zero)', () => {
    useClassifierKernel(kernelModule)
    const scorer = new Scorer(getModel())
    const texts = [randomText(5, 5000), randomText(6, 300), randomText(7, 20_000)]
    const first = texts.map((t) => scorer.score(t))
    for (let round = 0; round < 3; round++) expect(texts.map((t) => scorer.score(t))).toEqual(first)
  })

  it('matches above its cap, where the TypeScript loops score', () => {
    const long = randomText(11, KERNEL_MAX_UNITS + 10)
    const [reference, kernel] = bothWays(long)
    expect(kernel).toEqual(reference)
  })

  it('is handed over when the Worker starts', async () => {
    await import('../../src/index')
    expect(currentKernelModule()).toBeInstanceOf(WebAssembly.Module)
  })
})
