/**
 * The required-run pre-filter of shipped patterns (matcher.ts): read only where it is sound, and a
 * matcher with it finds exactly what the bare regex finds, on both sides of the run length.
 */
import { describe, expect, it } from 'vitest'
import { compileJs, requiredRun } from '../../src/detectors/rules/matcher'
import injection from '../../rules/injection.json'

const BASE64 = (injection.rules.find((r) => r.id === 'encoded-base64-instructions') as { pattern: string }).pattern

function bare(pattern: string, text: string): string[] {
  return [...text.matchAll(new RegExp(pattern, 'g'))].map((m) => `${m.index}:${m[0]}`)
}

describe('required-run pre-filter', () => {
  it('reads the longest repeated set of the top-level sequence, and nothing where unsound', () => {
    expect(requiredRun(BASE64, '')?.min).toBe(20)
    expect(requiredRun('key=(?:[a-f0-9]{32})', '')?.min).toBe(32)
    expect(requiredRun('[A-Z]{2}[0-9]{16,19}', '')?.min).toBe(16)
    expect(requiredRun('[A-Z]{15}', '')).toBeUndefined() // too short to pay for the scan
    expect(requiredRun('a{20}|b', '')).toBeUndefined() // either alternative may match
    expect(requiredRun('(?:[0-9]{20})?x', '')).toBeUndefined() // optional
    expect(requiredRun('\\p{L}{20}', '')).toBeUndefined() // Unicode mode: an atom may take two units
    expect(requiredRun('[a-z]{20}', 'u')).toBeUndefined()
  })

  it('reads a repeated group as one run of every set inside it', () => {
    const run = requiredRun('\\b(?:0x)?[0-9a-f]{2}(?:[ :]?[0-9a-f]{2}){100}', '')
    expect(run?.min).toBe(200) // 100 iterations of at least two units each
    expect([...' :09af'].map((c) => run?.member[c.charCodeAt(0)])).toEqual([1, 1, 1, 1, 1, 1])
    expect([...'gx,-'].map((c) => run?.member[c.charCodeAt(0)])).toEqual([0, 0, 0, 0])
    expect(requiredRun('(?:ab(?=c)){8}', '')?.min).toBe(16) // a lookahead consumes nothing
    expect(requiredRun('(?:ab(?=c)){8}', '')?.member['c'.charCodeAt(0)]).toBe(0)
    expect(requiredRun('(?:a|bc){15}', '')).toBeUndefined() // 15 units at least: under the floor
    expect(requiredRun('(?:a|bc){16}', '')?.min).toBe(16)
  })

  it('finds exactly what the bare regex finds for a repeated group', () => {
    const pattern = '(?:[ :]?[ab]{2}){8}'
    const m = compileJs(pattern, '')
    expect(requiredRun(pattern, '')?.min).toBe(16)
    let seed = 11
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const unit = (gap: number): string => {
      const r = next()
      return r < gap ? 'x' : r < gap + 0.1 ? (next() < 0.5 ? ' ' : ':') : next() < 0.5 ? 'a' : 'b'
    }
    let found = 0
    for (let t = 0; t < 3000; t++) {
      const gap = 0.005 + next() * 0.1 // how often an 'x' breaks the run
      const text = Array.from({ length: 1 + Math.floor(next() * 60) }, () => unit(gap)).join('')
      expect(m.findAll(text, 100).map((x) => `${x.start}:${x.value}`), text).toEqual(bare(pattern, text))
      if (bare(pattern, text).length > 0) found++
    }
    expect(found).toBeGreaterThan(300)
    expect(found).toBeLessThan(2700)
  })

  it('honours the pattern flags when it tests the set', () => {
    const run = requiredRun('[a-f]{16}', 'i')
    expect(run?.member['A'.charCodeAt(0)]).toBe(1)
    expect(requiredRun('[a-f]{16}', '')?.member['A'.charCodeAt(0)]).toBe(0)
  })

  it('finds exactly what the bare regex finds around the run length', () => {
    const m = compileJs(BASE64, '') // the whole match: the separator before the blob included
    let matched = 0
    const blob = 'SWdub3JlIGFsbCBwcmV2aW91cyBpbnN0cnVjdGlvbnM'
    for (let len = 17; len <= 23; len++) {
      for (const [before, after] of [['', ''], ['x: ', ' end'], ['-', '=='], ['a b ', '\n']]) {
        const text = `prose ${before}${blob.slice(0, len)}${after} more prose`
        expect(m.findAll(text, 100).map((x) => `${x.start}:${x.value}`), text).toEqual(bare(BASE64, text))
        matched += bare(BASE64, text).length
      }
    }
    expect(matched).toBeGreaterThan(10) // both sides of the length were exercised
  })

  it('finds a run wherever it lies, whatever runs shorter than it surround it', () => {
    // The scan reads one unit in `min` between runs: runs of every length near 16 at every offset,
    // at the ends of the text too, must still be found exactly when the bare regex finds one.
    let seed = 7
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const m = compileJs('[ab]{16}', '')
    let found = 0
    for (let t = 0; t < 3000; t++) {
      const gap = 0.02 + next() * 0.2 // how often the run breaks
      const text = Array.from({ length: 1 + Math.floor(next() * 60) }, () => (next() < gap ? ' ' : next() < 0.5 ? 'a' : 'b')).join('')
      expect(m.findAll(text, 100).map((x) => `${x.start}:${x.value}`), text).toEqual(bare('[ab]{16}', text))
      if (bare('[ab]{16}', text).length > 0) found++
    }
    expect(found).toBeGreaterThan(300)
    expect(found).toBeLessThan(2700) // texts without a run were exercised too
    // Every offset of a run of 15 to 17 units, after a shorter run or after gaps alone.
    for (let shorter = 0; shorter < 16; shorter++) {
      for (let gaps = 1; gaps <= 20; gaps++) {
        for (const length of [15, 16, 17]) {
          const text = `${'a'.repeat(shorter)}${' '.repeat(gaps)}${'b'.repeat(length)}${' '.repeat(gaps % 3)}`
          expect(m.findAll(text, 100).map((x) => `${x.start}:${x.value}`), text).toEqual(bare('[ab]{16}', text))
        }
      }
    }
  })

  it('skips texts without the run and still matches case-insensitive sets', () => {
    expect(compileJs(BASE64, '').findAll('short words only, nothing long enough here at all', 10)).toEqual([])
    const m = compileJs('token_[a-f0-9]{16}', 'i')
    expect(m.findAll('TOKEN_ABCDEF0123456789 and token_0123456789abcdef', 10).map((x) => x.value)).toEqual(['TOKEN_ABCDEF0123456789', 'token_0123456789abcdef'])
  })
})
