import { env } from 'cloudflare:workers'
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import type { TenantConfigAuthority } from '../../src/tenant/authority'
import type { HostRegistry } from '../../src/tenant/registry'
import { call, createTenant, hostOwner, published, uniqueId, warmUp } from './control-support'

beforeAll(warmUp, 30_000)

const origin = { url: 'https://origin.example/mcp' }

/** `env` with one KV method or registry call that never answers, as if the object died while awaiting it. */
function stalled(real: Env, what: 'put' | 'release' | 'assign'): Env {
  const never = (): Promise<never> => new Promise(() => undefined)
  const config = new Proxy(real.CONFIG, { get: (t, k) => (k === 'put' && what === 'put' ? never : (Reflect.get(t, k) as unknown as (...a: unknown[]) => unknown).bind(t)) })
  const registry = {
    getByName: (name: string) => {
      const real_ = real.HOST_REGISTRY.getByName(name)
      if (what === 'release') return { release: never }
      // The registry does the claim; its answer never comes back.
      if (what === 'assign') return { assign: (input: Parameters<typeof real_.assign>[0]) => real_.assign(input).then(never) }
      return real_
    },
  }
  return new Proxy(real, { get: (t, k) => (k === 'CONFIG' ? config : k === 'HOST_REGISTRY' ? registry : Reflect.get(t, k)) })
}

/** Starts `step` on the live instance with a stalled `env`, waits until `done` holds in its storage, then restarts the object. */
async function dieDuring(id: string, what: 'put' | 'release' | 'assign', step: (o: TenantConfigAuthority) => Promise<unknown>, done: (sql: SqlStorage) => boolean | Promise<boolean>): Promise<void> {
  await expect(
    runInDurableObject(env.TENANT_CONFIG.getByName(id), async (instance: TenantConfigAuthority, state) => {
      Object.defineProperty(instance, 'env', { value: stalled(env, what) })
      void step(instance).catch(() => undefined)
      for (let i = 0; i < 100 && !(await done(state.storage.sql)); i++) await new Promise((r) => setTimeout(r, 10))
      expect(await done(state.storage.sql)).toBe(true)
      state.abort('restart')
    }),
  ).rejects.toThrow('restart')
}

describe('a write interrupted by a restart of the authority', () => {
  it('still publishes the committed version', async () => {
    const id = uniqueId('die-publish')
    await createTenant(id, { origin })
    await dieDuring(
      id,
      'put',
      (o) => o.write({ tenant: id, actor: { kind: 'operator' }, expect: { kind: 'any' }, change: { kind: 'policy', policy: { monitor: true } } }),
      (sql) => sql.exec<{ version: number }>('SELECT version FROM state').one().version === 2,
    )
    expect(await published(id)).toMatchObject({ version: 1 })
    expect(await runDurableObjectAlarm(env.TENANT_CONFIG.getByName(id))).toBe(true)
    expect(await published(id)).toMatchObject({ version: 2, config: { policy: { monitor: true } } })
    expect((await call('GET', `/tenants/${id}`)).body).toMatchObject({ version: 2 })
  })

  it("still finishes a deletion's cleanup: hostnames, KV and secrets", async () => {
    const id = uniqueId('die-delete')
    const host = `${id}.example`
    await createTenant(id, { origin, hosts: [host] })
    await env.CONFIG.put(`secret:${id}:origin-token`, '{}', { metadata: { updatedAt: 'x' } })
    await dieDuring(
      id,
      'release',
      (o) => o.remove({ tenant: id, actor: { kind: 'operator' }, expect: { kind: 'any' } }),
      (sql) => sql.exec<{ status: string }>('SELECT status FROM state').one().status === 'deleted',
    )
    expect((await call('GET', `/tenants/${id}`)).status).toBe(404)
    expect(await runDurableObjectAlarm(env.TENANT_CONFIG.getByName(id))).toBe(true)
    expect(await published(id)).toBeNull()
    expect(await hostOwner(host)).toBeNull()
    expect(await env.CONFIG.get(`secret:${id}:origin-token`)).toBeNull()
  })

  it('gives back the hostnames the registry claimed for a version that was never committed', async () => {
    const id = uniqueId('die-claim')
    const [kept, added] = [`${id}.example`, `new-${id}.example`]
    await createTenant(id, { origin, hosts: [kept] })
    await dieDuring(
      id,
      'assign',
      (o) => o.write({ tenant: id, actor: { kind: 'operator' }, expect: { kind: 'any' }, change: { kind: 'config', config: { origin, hosts: [added] } } }),
      async () => (await hostOwner(added)) === id,
    )
    // The object still holds version 1 (hosts: [kept]); the registry had moved the tenant to [added].
    expect((await call('GET', `/tenants/${id}`)).body).toMatchObject({ version: 1, config: { hosts: [kept] } })
    expect(await runDurableObjectAlarm(env.TENANT_CONFIG.getByName(id))).toBe(true)
    expect(await hostOwner(kept)).toBe(id)
    expect(await hostOwner(added)).toBeNull()
    // So no other tenant can take the hostname the committed config still routes.
    const other = uniqueId('thief')
    expect((await call('PUT', `/tenants/${other}`, { body: { origin, hosts: [kept] } })).status).toBe(409)
  })

  it("forgets the registry's claim for a tenant whose first version was never committed, leaving the id free", async () => {
    const id = uniqueId('die-first')
    const host = `${id}.example`
    const directory = async () => (await env.HOST_REGISTRY.getByName('global').list({ includeDeleted: true })).map((t) => t.id)
    await dieDuring(
      id,
      'assign',
      (o) => o.write({ tenant: id, actor: { kind: 'operator' }, expect: { kind: 'any' }, change: { kind: 'config', config: { origin, hosts: [host] } } }),
      async () => (await hostOwner(host)) === id,
    )
    // The object stored nothing; the registry holds the tenant in its directory and its hostname.
    expect((await call('GET', `/tenants/${id}`)).status).toBe(404)
    expect(await directory()).toContain(id)
    expect(await runDurableObjectAlarm(env.TENANT_CONFIG.getByName(id))).toBe(true)
    expect(await hostOwner(host)).toBeNull()
    expect(await directory()).not.toContain(id)
    // Not a deletion: the id can still be created, with the same hostname.
    await createTenant(id, { origin, hosts: [host] })
    expect(await hostOwner(host)).toBe(id)
  })
})

describe('a claim interrupted by a restart of the host registry', () => {
  it('still writes the hostname to KV', async () => {
    const id = uniqueId('die-host')
    const host = `${id}.example`
    await expect(
      runInDurableObject(env.HOST_REGISTRY.getByName('global'), async (instance: HostRegistry, state) => {
        Object.defineProperty(instance, 'env', { value: stalled(env, 'put') })
        void instance.assign({ tenant: id, hosts: [host], originHost: 'origin.example' }).catch(() => undefined)
        const claimed = (): boolean => state.storage.sql.exec('SELECT 1 FROM hosts WHERE hostname = ?', host).toArray().length > 0
        for (let i = 0; i < 100 && !claimed(); i++) await new Promise((r) => setTimeout(r, 10))
        expect(claimed()).toBe(true)
        // Let the claim reach storage (it is durable once the registry awaits KV), then restart.
        await new Promise((r) => setTimeout(r, 20))
        state.abort('restart')
      }),
    ).rejects.toThrow('restart')
    expect(await hostOwner(host)).toBeNull()
    expect(await runDurableObjectAlarm(env.HOST_REGISTRY.getByName('global'))).toBe(true)
    expect(await hostOwner(host)).toBe(id)
  })
})
