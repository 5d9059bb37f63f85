import { describe, expect, it } from 'vitest'
import { compilePolicy, compiledPolicyCount } from '../../src/inspect/policy'
import { TenantConfig } from '../../src/tenant/config'
import { dryRun } from '../../src/tenant/dry-run'

const config = (allow: string) => TenantConfig.parse({ origin: { url: 'https://origin.example/mcp' }, policy: { rules: { allow: [allow] } } })

describe('compiled policies kept by the isolate', () => {
  it('keeps one per tenant however many versions it writes, and the newest wins', () => {
    const tenant = `policy-cache-${crypto.randomUUID()}`
    const before = compiledPolicyCount()
    for (let v = 1; v <= 300; v++) compilePolicy(tenant, v, config(`value-${v}`))
    expect(compiledPolicyCount()).toBe(before + 1)
    const newest = compilePolicy(tenant, 300, config('value-300'))
    expect(compilePolicy(tenant, 300, config('value-300'))).toBe(newest)
    // An older version still in flight is compiled for its request, and does not displace the newest.
    expect(compilePolicy(tenant, 299, config('value-299')).version).toBe(299)
    expect(compilePolicy(tenant, 300, config('value-300'))).toBe(newest)
  })

  it('keeps none for the proposed configs of dry runs', async () => {
    const before = compiledPolicyCount()
    const message = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } }
    for (let i = 0; i < 50; i++) {
      const proposed = config(`proposal-${i}`)
      const outcome = await dryRun({ tenantId: 'policy-cache-dry', config: proposed, version: null }, { message, direction: 'client_to_server', era: 'legacy' })
      expect(outcome.ok).toBe(true)
    }
    expect(compiledPolicyCount()).toBe(before)
  })

  it("lets a dry run of a newer stored version leave the live version's policy in place", async () => {
    const tenant = `policy-cache-live-${crypto.randomUUID()}`
    const live = compilePolicy(tenant, 7, config('value-7'))
    // The authority already holds version 8; this isolate's traffic still reads 7 from KV.
    const message = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } }
    const outcome = await dryRun({ tenantId: tenant, config: config('value-8'), version: 8 }, { message, direction: 'client_to_server', era: 'legacy' })
    expect(outcome.ok).toBe(true)
    expect(compilePolicy(tenant, 7, config('value-7'))).toBe(live)
  })
})
