/**
 * A tenant cannot stall the Worker with a regex: tenant patterns always run on re2js (linear time),
 * shipped patterns must pass the backtracking lint, and the per-field cap and per-message budget hold.
 */
import { describe, expect, it } from 'vitest'
import { createRulesDetector } from '../../src/detectors/rules/detector'
import { textField } from '../../src/detectors/rules/field'
import { lintPattern } from '../../src/detectors/rules/lint'
import { RulesPolicy } from '../../src/detectors/rules/policy'
import type { MessageContext } from '../../src/inspect/types'

const ctx = (): MessageContext => ({ tenantId: 't', direction: 'server_to_client', requestId: crypto.randomUUID(), era: 'legacy' })

describe('catastrophic patterns', () => {
  it('a tenant rule (a+)+$ on 1 MiB of "a" followed by "!" finishes (re2js, linear time)', () => {
    const policy = RulesPolicy.parse({
      limits: { maxFieldChars: 2_097_152 },
      customRules: [{ id: 'tenant-evil', description: 'A classic catastrophic-backtracking pattern.', kind: 'pii', score: 1, keywords: ['a'], pattern: '(a+)+$' }],
    })
    const input = `${'a'.repeat(1 << 20)}!`
    const findings = createRulesDetector(policy).detect(textField(input, 'tool-result'), ctx())
    // On V8's backtracking engine this would not return in our lifetime; on re2js it is one linear pass.
    expect(findings.filter((f) => f.ruleId === 'tenant-evil')).toEqual([])
  }, 20_000)

  it('a tenant rule that matches 1 MiB still reports bounded matches', () => {
    const policy = RulesPolicy.parse({
      limits: { maxFieldChars: 2_097_152, maxMatchesPerRule: 5 },
      customRules: [{ id: 'tenant-word', description: 'Matches every run of letters.', kind: 'pii', score: 1, keywords: [], pattern: '[a-z]{1,8}' }],
    })
    const findings = createRulesDetector(policy).detect(textField('abc '.repeat(1 << 18), 'tool-result'), ctx())
    expect(findings.filter((f) => f.ruleId === 'tenant-word')).toHaveLength(5)
  }, 20_000)

  it('refuses a tenant pattern whose RE2 program is too large: each character costs time in proportion to it', () => {
    const rule = { id: 'tenant-big', description: 'Counted repetition that compiles to thousands of instructions.', kind: 'secret', score: 1, keywords: ['the'], flags: 'i', pattern: `(?s)${'(.{1000})'.repeat(8)}Z` }
    const parsed = RulesPolicy.safeParse({ customRules: [rule] })
    expect(parsed.success).toBe(false)
    expect(parsed.error?.issues[0]?.message).toMatch(/^pattern does not compile on RE2: it compiles to \d+ instructions, more than 1000$/)
  })

  it("charges a tenant pattern's work by its program size: a large one fails closed on a long field instead of stalling", () => {
    const policy = RulesPolicy.parse({
      customRules: [{ id: 'tenant-wide', description: 'Eight counted groups: a few hundred instructions.', kind: 'secret', score: 1, keywords: ['the'], flags: 'i', pattern: `(?s)${'(.{30})'.repeat(8)}Z` }],
    })
    // The work is charged before the run: the budget refuses it instead of the isolate spending seconds on it.
    const findings = createRulesDetector(policy).detect(textField('the quick brown fox jumps over the lazy dog. '.repeat(24_000), 'tool-result'), ctx()) // about 1 MiB
    expect(findings.map((f) => f.ruleId)).toContain('rules-budget-exceeded')
  }, 20_000)

  it('every default pack scans 1 MiB of prose within the default budget', () => {
    const prose = 'The quick brown fox jumps over the lazy dog; token: abc, password secret auth key. '.repeat(12_800)
    const findings = createRulesDetector().detect(textField(prose, 'tool-result'), ctx())
    expect(findings.filter((f) => f.kind === 'error')).toEqual([])
  }, 20_000)

  it.each([
    ['(a+)+$', ['unbounded quantifier (*, + or {n,}); use an explicit upper bound', 'ambiguous variable-length piece inside a repeated group (nested quantifier)']],
    ['(?:a{1,10}){1,10}b', ['ambiguous variable-length piece inside a repeated group (nested quantifier)']],
    ['(?:\\w{1,20}\\s?){1,8}x', ['ambiguous variable-length piece inside a repeated group (nested quantifier)']],
    ['(?:a|ab){1,9}c', ['alternatives that can start alike inside a repeated group']],
    ['(?:x|\\w){1,9}', ['alternatives that can start alike inside a repeated group']],
    ['.{0,500}secret', ['overlapping variable-length pieces wider than 128 in a row (polynomial backtracking)']],
    ['(?:a?){2,9}', ['repeated item can match the empty string', 'ambiguous variable-length piece inside a repeated group (nested quantifier)']],
    ['(a)\\1', ['unsupported syntax: backreference at offset 5']],
    ['[', ['does not compile: Invalid regular expression: /[/u: Unterminated character class']],
  ])('the lint rejects %s', (pattern, problems) => {
    expect(lintPattern(pattern, '')).toEqual(problems)
  })

  it.each([
    ['(?:\\s{1,3}\\w{1,20}){0,3}\\s{1,3}instructions'],
    ['(?:[a-z0-9-]{1,63}\\.){1,8}[a-z]{2,24}'],
    ['(?:\\s(?:them?|this|that|any(?:thing)?)){0,3}'],
    ['\\bAKIA[A-Z2-7]{16}\\b'],
  ])('the lint accepts %s', (pattern) => {
    expect(lintPattern(pattern, 'i')).toEqual([])
  })
})
