/**
 * The end-to-end fixtures in rules/fixtures/e2e.json through the real inspection pipeline with the
 * default tenant policy (classifier off): attacks blocked (or poisoned tools quarantined), secrets redacted or refused,
 * evasions normalised away, benign look-alikes allowed.
 */
import { describe, expect, it } from 'vitest'
import fixtures from '../../rules/fixtures/e2e.json'
import { inspect } from '../../src/inspect/pipeline'
import { compilePolicy } from '../../src/inspect/policy'
import type { Direction, MessageContext } from '../../src/inspect/types'
import type { JsonRpcMessage } from '../../src/mcp/jsonrpc'
import { TenantConfig } from '../../src/tenant/config'

interface Fixture {
  name: string
  direction: Direction
  method: string
  message: unknown
  expect: { action: 'allow' | 'modify' | 'block'; reason?: string; ruleIds?: string[]; text?: string }
}

// `{{}}` splits secret-shaped values in the file; join them back here.
const list = JSON.parse(JSON.stringify(fixtures.fixtures).split('{{}}').join('')) as Fixture[]
// The rule packs' own fixtures: the default policy with the classifier off, so each expected reason is
// the rule's (with it on, a message both rules and classifier block reports `injection` first).
const policy = compilePolicy('fixtures', 1, TenantConfig.parse({ origin: { url: 'https://mcp.vendor.example/mcp' }, policy: { classifier: { enabled: false } } }))

describe.each(list.map((f): [string, Fixture] => [f.name, f]))('%s', (_name, fx) => {
  it(`is ${fx.expect.action === 'block' ? `blocked (${fx.expect.reason ?? ''})` : fx.expect.action === 'modify' ? 'modified' : 'allowed'}`, () => {
    const ctx: MessageContext = { tenantId: 'fixtures', direction: fx.direction, method: fx.method, requestId: `r-${fx.name}`, era: 'legacy' }
    const verdict = inspect(fx.message as JsonRpcMessage, ctx, policy)
    expect(verdict.action).toBe(fx.expect.action)
    if (verdict.action === 'block') expect(verdict.reason).toBe(fx.expect.reason)
    const ids = verdict.findings.map((f) => f.ruleId)
    for (const id of fx.expect.ruleIds ?? []) expect(ids).toContain(id)
    if (fx.expect.text !== undefined && verdict.action === 'modify') {
      const result = (verdict.message as unknown as { result: { content: Array<{ text: string }> } }).result
      expect(result.content[0]?.text).toBe(fx.expect.text)
    }
  })
})
