import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { FirewallError } from '../../src/errors'
import { CONFIG_TTL_MS, NEGATIVE_TTL_MS, clearTenantCache, loadTenant, tenantKey } from '../../src/tenant/store'

/** The real local KV namespace, counting its reads. */
function countedKv(): { kv: KVNamespace; reads: () => number } {
  let reads = 0
  const kv = new Proxy(env.CONFIG, {
    get(target, key) {
      const v: unknown = Reflect.get(target, key)
      if (typeof v !== 'function') return v
      return key === 'get' ? (...args: unknown[]) => (reads++, (v as (...a: unknown[]) => unknown).apply(target, args)) : v.bind(target)
    },
  })
  return { kv, reads: () => reads }
}

/** Writes a record as a location may serve it (possibly an older copy). */
const put = (id: string, version: number) =>
  env.CONFIG.put(tenantKey(id), JSON.stringify({ schema: 1, version, updatedAt: new Date(0).toISOString(), config: { origin: { url: `https://origin.example/v${version}` } } }))

/** A record the strict schema refuses (an unknown field). */
const putBroken = (id: string) =>
  env.CONFIG.put(tenantKey(id), JSON.stringify({ schema: 1, version: 1, updatedAt: new Date(0).toISOString(), config: { origin: { url: 'https://origin.example/mcp' }, extra: true } }))

const uniqueId = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`

async function refusal(load: Promise<unknown>): Promise<string> {
  const err = await load.then(() => null, (e: unknown) => e)
  expect(err).toBeInstanceOf(FirewallError)
  return (err as FirewallError).problem.kind
}

describe('the isolate tenant cache', () => {
  it('never goes back to a version older than one it served', async () => {
    const id = uniqueId('store-cache')
    const { kv } = countedKv()
    await put(id, 2)
    expect((await loadTenant(kv, id, 1_000))?.record.version).toBe(2)
    await put(id, 1) // a lagging copy of the record
    const later = await loadTenant(kv, id, 1_000 + CONFIG_TTL_MS + 1)
    expect(later?.record.version).toBe(2)
    expect(later?.record.config.origin.url).toBe('https://origin.example/v2')
    await put(id, 3)
    expect((await loadTenant(kv, id, 1_000 + 2 * CONFIG_TTL_MS + 2))?.record.version).toBe(3)
    clearTenantCache(id)
  })

  it('remembers a record that does not parse: one KV read per window, however many requests', async () => {
    const id = uniqueId('store-broken')
    const { kv, reads } = countedKv()
    await putBroken(id)
    const t = 50_000
    for (let i = 0; i < 50; i++) expect(await refusal(loadTenant(kv, id, t + i * 10))).toBe('tenant_config_invalid')
    expect(reads()).toBe(1)
    // Past the window the record is read again (and still refused).
    expect(await refusal(loadTenant(kv, id, t + NEGATIVE_TTL_MS))).toBe('tenant_config_invalid')
    expect(reads()).toBe(2)
    // A fixed record is served once the window runs out, as any config change is.
    await put(id, 2)
    expect(await refusal(loadTenant(kv, id, t + 2 * NEGATIVE_TTL_MS - 1))).toBe('tenant_config_invalid')
    expect((await loadTenant(kv, id, t + 2 * NEGATIVE_TTL_MS))?.record.version).toBe(2)
    expect(reads()).toBe(3)
    clearTenantCache(id)
  })

  it('forgets a remembered failure when the isolate drops the tenant (an admin write it served)', async () => {
    const id = uniqueId('store-broken-clear')
    const { kv, reads } = countedKv()
    await putBroken(id)
    expect(await refusal(loadTenant(kv, id, 1_000))).toBe('tenant_config_invalid')
    await put(id, 2)
    clearTenantCache(id)
    expect((await loadTenant(kv, id, 1_001))?.record.version).toBe(2)
    expect(reads()).toBe(2)
    clearTenantCache(id)
  })

  it('keeps the newest version served across a record that did not parse', async () => {
    const id = uniqueId('store-broken-monotonic')
    const { kv } = countedKv()
    await put(id, 3)
    expect((await loadTenant(kv, id, 1_000))?.record.version).toBe(3)
    await putBroken(id)
    expect(await refusal(loadTenant(kv, id, 1_000 + CONFIG_TTL_MS))).toBe('tenant_config_invalid')
    await put(id, 2) // a lagging copy
    expect((await loadTenant(kv, id, 1_000 + CONFIG_TTL_MS + NEGATIVE_TTL_MS))?.record.version).toBe(3)
    clearTenantCache(id)
  })
})
