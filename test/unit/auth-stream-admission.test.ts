/**
 * `ClientAuth.stillAdmitted`, which an open stream asks every few seconds (src/proxy/relay-sse.ts): an API
 * key revoked after the stream opened stops admitting it within CLIENT_KEY_RECHECK_MS, and a tenant whose
 * `auth` changed (authentication turned on, another mode) stops admitting the clients of the old one.
 */
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { authenticate } from '../../src/auth/authenticate'
import type { ClientAuth } from '../../src/auth/authenticate'
import { issueClientKey } from '../../src/auth/api-keys'
import { CLIENT_KEY_RECHECK_MS } from '../../src/auth/bounds'
import { kvAuthStore } from '../../src/auth/storage'
import { TenantConfig } from '../../src/tenant/config'
import { clearTenantCache, tenantKey } from '../../src/tenant/store'
import type { LoadedTenant } from '../../src/tenant/store'

const ORIGIN = new URL('https://origin.example/mcp')
let version = 0

/** Publishes `auth` for tenant `id` as the edge reads it, and returns the loaded tenant. */
async function publish(id: string, auth: Record<string, unknown>): Promise<LoadedTenant> {
  const record = { schema: 1 as const, version: ++version, updatedAt: new Date().toISOString(), config: TenantConfig.parse({ origin: { url: ORIGIN.href }, auth }) }
  await env.CONFIG.put(tenantKey(id), JSON.stringify(record))
  clearTenantCache(id)
  return { id, record }
}

async function admitted(tenant: LoadedTenant, authorization?: string): Promise<ClientAuth> {
  const request = new Request(`https://fw.example/t/${tenant.id}/mcp`, { method: 'POST', headers: authorization ? { authorization } : {} })
  const outcome = await authenticate({ request, tenant, env, requestId: 'req-1' }, ORIGIN)
  if (!outcome.ok) throw new Error(`refused: ${outcome.response.status}`)
  return outcome.auth
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('an admitted client, asked again while its stream is open', () => {
  it('apiKey: a revoked key stops admitting within the recheck interval', async () => {
    const tenant = await publish('revoking', { mode: 'apiKey' })
    const store = kvAuthStore(env.CONFIG)
    const { id, key } = await issueClientKey(store, tenant.id, {})
    const auth = await admitted(tenant, `Bearer ${key}`)
    expect(await auth.stillAdmitted()).toBe(true)
    expect(await store.deleteClientKey(tenant.id, id)).toBe(true)
    const start = Date.now()
    vi.spyOn(Date, 'now').mockReturnValue(start + CLIENT_KEY_RECHECK_MS)
    expect(await auth.stillAdmitted()).toBe(false)
  })

  it('apiKey: a key that stays is read again and keeps admitting', async () => {
    const tenant = await publish('keeping', { mode: 'apiKey' })
    const { key } = await issueClientKey(kvAuthStore(env.CONFIG), tenant.id, {})
    const auth = await admitted(tenant, `Bearer ${key}`)
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + CLIENT_KEY_RECHECK_MS)
    expect(await auth.stillAdmitted()).toBe(true)
  })

  it('passthrough: a tenant that turns authentication on ends anonymous streams', async () => {
    const tenant = await publish('switching', { mode: 'passthrough' })
    const auth = await admitted(tenant)
    expect(await auth.stillAdmitted()).toBe(true)
    await publish('switching', { mode: 'apiKey' })
    expect(await auth.stillAdmitted()).toBe(false)
  })

  it('apiKey: a tenant moved to jwt ends the key clients\' streams', async () => {
    const tenant = await publish('moving', { mode: 'apiKey' })
    const { key } = await issueClientKey(kvAuthStore(env.CONFIG), tenant.id, {})
    const auth = await admitted(tenant, `Bearer ${key}`)
    await publish('moving', { mode: 'jwt', issuer: 'https://issuer.example', jwksUrl: 'https://issuer.example/jwks.json' })
    expect(await auth.stillAdmitted()).toBe(false)
  })

  it('a config change that leaves auth as it was ends nothing', async () => {
    const tenant = await publish('steady', { mode: 'passthrough' })
    const auth = await admitted(tenant)
    await publish('steady', { mode: 'passthrough' })
    expect(await auth.stillAdmitted()).toBe(true)
  })
})
