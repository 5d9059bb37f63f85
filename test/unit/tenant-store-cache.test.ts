import { describe, expect, it } from 'vitest'
import { CONFIG_TTL_MS, clearTenantCache, loadTenant, tenantKey } from '../../src/tenant/store'

/** A KV namespace whose reads answer whatever the test last put (a location's possibly stale copy). */
function fakeKv(): { kv: KVNamespace; put: (id: string, version: number) => void } {
  const values = new Map<string, string>()
  const kv = { get: async (key: string) => values.get(key) ?? null } as unknown as KVNamespace
  const put = (id: string, version: number) =>
    values.set(tenantKey(id), JSON.stringify({ schema: 1, version, updatedAt: new Date(0).toISOString(), config: { origin: { url: `https://origin.example/v${version}` } } }))
  return { kv, put }
}

describe('the isolate tenant cache', () => {
  it('never goes back to a version older than one it served', async () => {
    const id = `store-cache-${crypto.randomUUID().slice(0, 8)}`
    const { kv, put } = fakeKv()
    put(id, 2)
    expect((await loadTenant(kv, id, 1_000))?.record.version).toBe(2)
    put(id, 1) // a lagging copy of the record
    const later = await loadTenant(kv, id, 1_000 + CONFIG_TTL_MS + 1)
    expect(later?.record.version).toBe(2)
    expect(later?.record.config.origin.url).toBe('https://origin.example/v2')
    put(id, 3)
    expect((await loadTenant(kv, id, 1_000 + 2 * CONFIG_TTL_MS + 2))?.record.version).toBe(3)
    clearTenantCache(id)
  })
})
