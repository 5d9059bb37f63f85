import { env } from 'cloudflare:workers'
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { call, createTenant, hostOwner, issueKey, published, uniqueId, warmUp } from './control-support'

beforeAll(warmUp, 30_000)

const origin = { url: 'https://origin.example/mcp' }
type List = { tenants: Array<{ id: string; deletedAt: string | null; hosts: string[] }> }

describe('host registry', () => {
  it('gives a hostname to exactly one of two tenants claiming it at once', async () => {
    const host = `${uniqueId('shared')}.example`
    const [a, b] = [uniqueId('claim-a'), uniqueId('claim-b')]
    const answers = await Promise.all([a, b].map((id) => call('PUT', `/tenants/${id}`, { body: { origin, hosts: ['other.' + id + '.example', host] } })))
    const statuses = answers.map((r) => r.status).sort()
    expect(statuses).toEqual([201, 409])
    const loser = answers[0]?.status === 409 ? a : b
    const winner = loser === a ? b : a
    expect(answers.find((r) => r.status === 409)?.body).toEqual({ error: 'host_conflict', issues: [{ path: 'hosts.1', message: 'hostname belongs to another tenant' }] })
    expect(await hostOwner(host)).toBe(winner)
    // All or nothing: the loser's other hostname was not claimed either, and it has no config.
    expect(await hostOwner(`other.${loser}.example`)).toBeNull()
    expect(await published(loser)).toBeNull()
    expect((await call('GET', `/tenants/${loser}`)).status).toBe(404)
  })

  it('lets a released hostname be claimed by another tenant', async () => {
    const host = `${uniqueId('move')}.example`
    const [a, b] = [uniqueId('move-a'), uniqueId('move-b')]
    await createTenant(a, { origin, hosts: [host] })
    expect((await call('PUT', `/tenants/${b}`, { body: { origin, hosts: [host] } })).status).toBe(409)
    expect((await call('PUT', `/tenants/${a}`, { body: { origin, hosts: [] } })).status).toBe(200)
    expect(await hostOwner(host)).toBeNull()
    await createTenant(b, { origin, hosts: [host] })
    expect(await hostOwner(host)).toBe(b)
  })

  it("refuses a hostname that is another tenant's origin, and an origin that is a routed hostname", async () => {
    const [a, b, c] = [uniqueId('loop-a'), uniqueId('loop-b'), uniqueId('loop-c')]
    const apiHost = `api.${a}.example`
    await createTenant(a, { origin: { url: `https://${apiHost}/mcp` }, hosts: [`${a}.example`] })
    expect(await call('PUT', `/tenants/${b}`, { body: { origin, hosts: [apiHost] } })).toMatchObject({
      status: 409,
      body: { error: 'host_conflict', issues: [{ path: 'hosts.0', message: "hostname is another tenant's origin" }] },
    })
    expect(await call('PUT', `/tenants/${c}`, { body: { origin: { url: `https://${a}.example/mcp` } } })).toMatchObject({
      status: 400,
      body: { error: 'invalid_config', issues: [{ path: 'origin.url', message: 'must not point at a hostname routed to this firewall' }] },
    })
    expect(await hostOwner(apiHost)).toBeNull()
  })
})

describe('tenant deletion', () => {
  it('purges config, versions, keys and KV, releases hostnames, and never reuses the id', async () => {
    const id = uniqueId('del')
    const host = `${id}.example`
    await createTenant(id, { origin, hosts: [host] })
    await call('PUT', `/tenants/${id}/policy`, { body: { monitor: true } })
    const key = await issueKey(id)
    await env.CONFIG.put(`secret:${id}:origin-token`, '{}', { metadata: { updatedAt: 'x' } })
    expect(await published(id)).not.toBeNull()

    expect((await call('DELETE', `/tenants/${id}`, { headers: { 'if-match': '1' } })).status).toBe(412)
    expect((await call('DELETE', `/tenants/${id}`)).status).toBe(204)

    expect(await published(id)).toBeNull()
    expect(await hostOwner(host)).toBeNull()
    expect(await env.CONFIG.get(`secret:${id}:origin-token`)).toBeNull()
    for (const path of ['', '/policy', '/versions', '/versions/1', '/keys']) expect((await call('GET', `/tenants/${id}${path}`)).status).toBe(404)
    expect((await call('GET', `/tenants/${id}`, { token: key.key })).status).toBe(401)
    const rows = await runInDurableObject(env.TENANT_CONFIG.getByName(id), (_, state) => ({
      versions: state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM versions').one().n,
      keys: state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM admin_keys').one().n,
    }))
    expect(rows).toEqual({ versions: 0, keys: 0 })

    // The id is retired for good: recreating it is refused and writes nothing.
    expect(await call('PUT', `/tenants/${id}`, { body: { origin } })).toMatchObject({ status: 410, body: { error: 'tenant_deleted' } })
    expect(await published(id)).toBeNull()
    expect((await call('DELETE', `/tenants/${id}`)).status).toBe(404)

    const other = uniqueId('heir')
    await createTenant(other, { origin, hosts: [host] })
    expect(await hostOwner(host)).toBe(other)

    const live = (await call<List>('GET', '/tenants')).body.tenants
    expect(live.find((t) => t.id === id)).toBeUndefined()
    expect(live.find((t) => t.id === other)).toMatchObject({ deletedAt: null, hosts: [host] })
    const all = (await call<List>('GET', '/tenants?deleted=true')).body.tenants
    expect(all.find((t) => t.id === id)).toMatchObject({ deletedAt: expect.any(String), hosts: [] })
  })

  it('answers 404 for deleting a tenant that never existed, and retires nothing', async () => {
    const id = uniqueId('ghost')
    expect((await call('DELETE', `/tenants/${id}`)).status).toBe(404)
    await createTenant(id, { origin })
  })
})

describe('stored configs under a changed schema', () => {
  it('reports a stored config that no longer validates, refuses keys on it, and lets the operator replace it', async () => {
    const id = uniqueId('legacy')
    await createTenant(id, { origin })
    const key = await issueKey(id)
    await runInDurableObject(env.TENANT_CONFIG.getByName(id), (_, state) => {
      const row = state.storage.sql.exec<{ config: string }>('SELECT config FROM versions WHERE version = 1').one()
      state.storage.sql.exec('UPDATE versions SET config = ? WHERE version = 1', JSON.stringify({ ...JSON.parse(row.config), retired: true }))
    })
    expect(await call('GET', `/tenants/${id}`)).toMatchObject({ status: 500, body: { error: 'stored_config_invalid' } })
    expect((await call('PUT', `/tenants/${id}/policy`, { token: key.key, body: {} })).status).toBe(400)
    expect((await call('PUT', `/tenants/${id}`, { token: key.key, body: { origin } })).status).toBe(403)
    expect(await call('PUT', `/tenants/${id}`, { body: { origin } })).toMatchObject({ status: 200, body: { version: 2 } })
    expect(await published(id)).toMatchObject({ version: 2 })
  })
})

describe('late writes after a deletion', () => {
  it('erases a secret or client key written after the cleanup (another location still saw the tenant in KV)', async () => {
    const id = uniqueId('late')
    await createTenant(id, { origin })
    expect((await call('DELETE', `/tenants/${id}`)).status).toBe(204)
    const stub = env.TENANT_CONFIG.getByName(id)
    const late = async (): Promise<void> => {
      await env.CONFIG.put(`secret:${id}:late`, JSON.stringify({ schema: 1, envelope: 'x'.repeat(60), updatedAt: new Date().toISOString() }))
      await env.CONFIG.put(`clientkey:${id}:0123456789abcdef`, '{}')
    }
    const leftovers = async (): Promise<string[]> => (await Promise.all([`secret:${id}:`, `clientkey:${id}:`].map((prefix) => env.CONFIG.list({ prefix })))).flatMap((l) => l.keys.map((k) => k.name))
    for (let sweep = 1; sweep <= 2; sweep++) {
      await late()
      expect(await leftovers()).toHaveLength(2)
      expect(await runDurableObjectAlarm(stub)).toBe(true)
      expect(await leftovers()).toEqual([])
    }
    // Two sweeps, then no alarm is left.
    expect(await runDurableObjectAlarm(stub)).toBe(false)
  })
})

describe('publishing to KV', () => {
  it('retries a publish that did not reach KV from the alarm, with the current version', async () => {
    const id = uniqueId('retry')
    await createTenant(id, { origin })
    await call('PUT', `/tenants/${id}/policy`, { body: { unicode: 'flag' } })
    const stub = env.TENANT_CONFIG.getByName(id)
    // As if KV had refused the last write: the object still holds v2 as current, KV has nothing.
    await env.CONFIG.delete(`tenant:${id}`)
    await runInDurableObject(stub, async (_, state) => {
      state.storage.sql.exec('UPDATE state SET published_version = 1')
      await state.storage.setAlarm(Date.now() + 60_000)
    })
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect(await published(id)).toMatchObject({ version: 2, config: { policy: { unicode: 'flag' } } })
  })
})
