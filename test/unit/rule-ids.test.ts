/**
 * The ids the firewall reports itself are reserved: a tenant's custom rule may not take one (its findings
 * would mix with the firewall's in events, alert counts and `ruleIds`, and code that treats a firewall id
 * specially would treat the tenant's rule so too). The list is kept in step with the code by reading the
 * source: every finding the code builds names its id as a literal or through a name this test knows.
 */
import { describe, expect, it } from 'vitest'
import { FIREWALL_RULE_IDS } from '../../src/inspect/rule-ids'
import { builtinRuleIds } from '../../src/detectors/rules/packs'

const sources = import.meta.glob<string>('../../src/**/*.ts', { query: '?raw', import: 'default', eager: true })

/**
 * What `ruleId:` may hold besides a string literal, each checked as noted: a name not listed here is a new
 * way of building an id, to be reserved (typed `FirewallRuleId`) and added.
 */
const COMPUTED: Record<string, string> = {
  'rule.id': 'a pack rule or a custom rule (the rule engine)',
  'f.ruleId': 'a finding copied',
  CLASSIFIER_RULE_ID: 'a constant',
  SECOND_STAGE_UNAVAILABLE_RULE_ID: 'a constant',
  NAME_INVISIBLE: 'a constant',
  NAME_LOOKALIKE: 'a constant',
  FOREIGN_DIRECTIVE: 'a constant',
  FOREIGN_MENTION: 'a constant',
  'RULE[o]': 'typed FirewallRuleId',
  invalidRule: 'typed FirewallRuleId',
  ruleId: 'typed FirewallRuleId (policyFinding)',
}

/** Every `ruleId` property the source builds, as [file, expression]; types and schemas left out. */
function ruleIdSites(): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const [file, text] of Object.entries(sources)) {
    for (const m of text.matchAll(/\bruleId(?:\s*:\s*([^,}\n]+)|\s*(?=[,}]))/g)) {
      const expr = (m[1] ?? 'ruleId').trim()
      if (/^(string|FirewallRuleId|z\.|typeof\b|readonly\b)/.test(expr)) continue // a type or a schema
      out.push([file, expr])
    }
  }
  return out
}

describe('reserved rule ids', () => {
  it('finds the source to read', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(50)
    expect(ruleIdSites().length).toBeGreaterThan(20)
  })

  it('holds every literal id a finding is built with', () => {
    const reserved = new Set<string>([...FIREWALL_RULE_IDS, ...builtinRuleIds()])
    const missing = ruleIdSites()
      .filter(([, expr]) => /^'[^']*'$/.test(expr))
      .map(([file, expr]) => [file, expr.slice(1, -1)])
      .filter(([, id]) => !reserved.has(id ?? ''))
    expect(missing).toEqual([])
  })

  it('knows every other way an id is built', () => {
    const unknown = ruleIdSites().filter(([, expr]) => !/^'[^']*'$/.test(expr) && !(expr in COMPUTED))
    expect(unknown).toEqual([])
  })

  it('holds the ids named by constants, and the ids passed to the helpers that build findings', () => {
    const reserved = new Set<string>(FIREWALL_RULE_IDS)
    const named: Array<[string, string]> = []
    for (const [file, text] of Object.entries(sources)) {
      // `export const NAME = 'id'` for each constant above; the ids the helpers take (`policyFinding('id'`,
      // `schemaFindings(…, 'id')`, `refuseOr(reason, 'id'`, `rule: 'id'`) and the list gate's table.
      for (const name of Object.keys(COMPUTED).filter((k) => /^[A-Z_]+$/.test(k)))
        for (const m of text.matchAll(new RegExp(`\\bconst ${name}\\b[^=]*=\\s*'([^']+)'`, 'g'))) named.push([file, m[1] ?? ''])
      for (const re of [/policyFinding\('([^']+)'/g, /schemaFindings\([^)]*'([^']+)'\)/g, /refuseOr\('[^']+', '([^']+)'/g, /\brule: '([^']+)'/g])
        for (const m of text.matchAll(re)) named.push([file, m[1] ?? ''])
      const table = /const RULE: Record<[^>]+>\s*=\s*\{([^}]*)\}/.exec(text)
      for (const m of table?.[1]?.matchAll(/:\s*'([^']+)'/g) ?? []) named.push([file, m[1] ?? ''])
    }
    expect(named.length).toBeGreaterThan(15)
    expect(named.filter(([, id]) => !reserved.has(id))).toEqual([])
  })
})
