/**
 * The shortest-match gate (`minLength` in regex-ast.ts, used by matcher.ts and scan.ts): a text shorter
 * than every match a pattern can make is not scanned with it, so the bound must never exceed the length
 * of a real match, and a field exactly that long must still be scanned.
 */
import { describe, expect, it } from 'vitest'
import { createRulesDetector } from '../../src/detectors/rules/detector'
import { textField } from '../../src/detectors/rules/field'
import { compileJs, needsUnicode } from '../../src/detectors/rules/matcher'
import { builtinPacks } from '../../src/detectors/rules/packs'
import { RulesPolicy } from '../../src/detectors/rules/policy'
import { minLength, parseRegex } from '../../src/detectors/rules/regex-ast'
import { expandExample } from '../../src/detectors/rules/schema'

const least = (pattern: string): number => minLength(parseRegex(pattern))

describe('shortest match of a pattern', () => {
  it('counts atoms and repetitions, takes the shortest branch, and counts no assertion or lookaround', () => {
    expect(least('abc')).toBe(3)
    expect(least('(?:ab){2}[0-9]{4,8}')).toBe(8)
    expect(least('a{3,}|bc?')).toBe(1)
    expect(least('(?<=xyz)\\bd(?=efg)')).toBe(1)
    expect(least('(?<![a-z])(?:x|)y*')).toBe(0)
    expect(least('^$')).toBe(0)
    expect(least('\\d{3}-\\d{2}-\\d{4}')).toBe(11)
  })

  it('is never longer than a match of a shipped pattern, on every example of every rule', () => {
    let checked = 0
    for (const pack of builtinPacks())
      for (const rule of pack.rules) {
        const bound = least(rule.pattern)
        const re = new RegExp(rule.pattern, `${rule.flags}g${needsUnicode(rule.pattern) ? 'u' : ''}`)
        for (const example of [...rule.examples.match, ...rule.examples.noMatch])
          for (const m of expandExample(example).matchAll(re)) {
            expect(m[0].length, `${rule.id}: ${m[0]}`).toBeGreaterThanOrEqual(bound)
            checked++
          }
      }
    expect(checked).toBeGreaterThan(400)
  })

  it('leaves what a shipped pattern finds unchanged, on every prefix and suffix of every example', () => {
    let found = 0
    for (const pack of builtinPacks())
      for (const rule of pack.rules) {
        const gated = compileJs(rule.pattern, rule.flags)
        const re = new RegExp(rule.pattern, `${rule.flags}g${needsUnicode(rule.pattern) ? 'u' : ''}`)
        for (const example of [...rule.examples.match, ...rule.examples.noMatch]) {
          const text = expandExample(example)
          for (let k = 0; k <= text.length; k++)
            for (const part of [text.slice(0, k), text.slice(k)]) {
              const bare = [...part.matchAll(re)].map((m) => `${m.index}:${m[0]}`)
              expect(gated.findAll(part, 100).map((m) => `${m.start}:${m.value}`), `${rule.id}: ${part}`).toEqual(bare)
              found += bare.length
            }
        }
      }
    expect(found).toBeGreaterThan(10_000)
  })

  it('skips texts shorter than the bound and scans one exactly as long', () => {
    const m = compileJs('(?<=key=)[a-f0-9]{8}', '')
    expect(m.minLength).toBe(8)
    expect(m.findAll('key=0123abcd', 5).map((x) => x.value)).toEqual(['0123abcd'])
    expect(compileJs('[a-f0-9]{8}', '').findAll('0123abcd', 5).map((x) => x.value)).toEqual(['0123abcd'])
    expect(compileJs('[a-f0-9]{8}', '').findAll('0123abc', 5)).toEqual([])
  })

  it('a field that is exactly the shortest match of a keyword-less rule is still found', () => {
    const detector = createRulesDetector(RulesPolicy.parse({ packs: { pii: { enabled: true } } }))
    const ctx = { tenantId: 't', direction: 'server_to_client', requestId: 'r', era: 'legacy' } as const
    const ssn = '536-22-8726'
    expect(least(builtinPacks().flatMap((p) => p.rules).find((r) => r.id === 'pii-us-ssn')?.pattern ?? '')).toBe(ssn.length)
    expect(detector.detect(textField(ssn, 'tool-result'), { ...ctx }).map((f) => f.ruleId)).toContain('pii-us-ssn')
    expect(detector.detect(textField(ssn.slice(1), 'tool-result'), { ...ctx }).map((f) => f.ruleId)).not.toContain('pii-us-ssn')
  })
})
