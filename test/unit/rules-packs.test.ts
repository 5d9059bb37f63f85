/**
 * The shipped rule packs as data: every file is valid, ids are unique, every pattern passes the
 * backtracking lint, and every example of every rule behaves as declared (one table-driven test).
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import schemaFile from '../../rules/rule.schema.json'
import { createRulesDetector } from '../../src/detectors/rules/detector'
import { textField } from '../../src/detectors/rules/field'
import { lintPattern } from '../../src/detectors/rules/lint'
import { builtinPacks, PACK_FILES } from '../../src/detectors/rules/packs'
import { RulesPolicy } from '../../src/detectors/rules/policy'
import { expandExample, RulePack, type RuleSpec } from '../../src/detectors/rules/schema'
import type { MessageContext } from '../../src/inspect/types'

const packs = builtinPacks()
const rules: Array<[string, RuleSpec]> = packs.flatMap((p) => p.rules.map((r): [string, RuleSpec] => [`${p.pack}/${r.id}`, r]))

// Every rule on, including off-by-default ones, so each can be tested through the real detector.
const everything = RulesPolicy.parse({
  packs: { unicode: { enabled: true }, pii: { enabled: true } },
  rules: Object.fromEntries(rules.map(([, r]) => [r.id, { disabled: false }])),
})
const detector = createRulesDetector(everything)
let seq = 0

function fires(rule: RuleSpec, text: string): boolean {
  const ctx: MessageContext = { tenantId: 't', direction: rule.targets.directions?.[0] ?? 'server_to_client', requestId: `r${++seq}`, era: 'legacy' }
  const role = rule.targets.roles?.[0] ?? 'tool-result'
  return detector.detect(textField(text, role), ctx).some((f) => f.ruleId === rule.id)
}

describe('rule pack files', () => {
  it('parse against the strict schema, each with a version', () => {
    for (const file of PACK_FILES) expect(() => RulePack.parse(file)).not.toThrow()
    expect(packs.map((p) => [p.pack, p.version])).toEqual([
      ['unicode', 1],
      ['injection', 11],
      ['secrets', 9],
      ['pii', 2],
    ])
  })

  it('use unique rule ids across all packs', () => {
    const ids = rules.map(([, r]) => r.id)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('have a generated JSON Schema beside them that is up to date', () => {
    expect(schemaFile).toEqual(JSON.parse(JSON.stringify(z.toJSONSchema(RulePack, { io: 'input' }))))
  })

  it('reject a rule without both kinds of example, with the exact error', () => {
    const rule = { id: 'x-rule', description: 'a rule without examples', kind: 'pii', score: 1, keywords: [], pattern: 'x', examples: { match: ['x'], noMatch: [] } }
    const result = RulePack.safeParse({ pack: 'pii', version: 1, description: 'a test pack here', defaultAction: 'flag', rules: [rule] })
    expect(result.success).toBe(false)
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['rules.0.examples.noMatch', 'Too small: expected array to have >=1 items']])
  })

  it('reject duplicate ids and a rule newer than its pack', () => {
    const rule = { id: 'dup-rule', description: 'a duplicated rule', kind: 'pii', score: 1, keywords: [], pattern: 'x', since: 2, examples: { match: ['x'], noMatch: ['y'] } }
    const result = RulePack.safeParse({ pack: 'pii', version: 1, description: 'a test pack here', defaultAction: 'flag', rules: [rule, rule] })
    expect(result.error?.issues.map((i) => i.message)).toEqual(['since 2 is newer than the pack version', 'duplicate rule id dup-rule', 'since 2 is newer than the pack version'])
  })
})

describe.each(rules)('%s', (_name, rule) => {
  it('passes the catastrophic-backtracking lint', () => {
    expect(lintPattern(rule.pattern, rule.flags)).toEqual([])
  })

  it('has a keyword in every matching example (the pre-filter never hides a match)', () => {
    if (rule.keywords.length === 0) return
    for (const ex of rule.examples.match) expect(rule.keywords.some((k) => expandExample(ex).toLowerCase().includes(k)), ex).toBe(true)
  })

  it.each(rule.examples.match.map((e) => [e]))('matches %j', (example) => {
    expect(fires(rule, expandExample(example))).toBe(true)
  })

  it.each(rule.examples.noMatch.map((e) => [e]))('does not match %j', (example) => {
    expect(fires(rule, expandExample(example))).toBe(false)
  })
})
