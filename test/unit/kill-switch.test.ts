import { env } from 'cloudflare:workers'
import { runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { FRESH_MS, MAX_AGE_MS, STALE_LIMIT_MS, forgetKillState, killState } from '../../src/guard/kill-state'
import type { KillState } from '../../src/guard/tenant-guard'

describe('kill state with bounded staleness (injected clock)', () => {
  it('a kill is seen by every reader within MAX_AGE_MS of the object changing, never later', async () => {
    const tenant = 'kill-clock'
    const cache = await caches.open('kill-test-1')
    await forgetKillState(tenant, cache)
    let t = 1_000_000
    const deps = { env, cache, now: () => t }
    expect((await killState(tenant, deps)).ok && (await killState(tenant, deps))).toMatchObject({ state: { killed: false } })
    await env.GUARD.getByName(tenant).kill('*', 'test')
    // Within the bound the old state may still be served…
    t += FRESH_MS - 1
    expect(await killState(tenant, deps)).toMatchObject({ ok: true, state: { killed: false } })
    t += 1
    expect(await killState(tenant, deps)).toMatchObject({ ok: true, state: { killed: false } }) // location copy, still < MAX_AGE_MS
    // …and at MAX_AGE_MS after the read it must not be.
    t = 1_000_000 + MAX_AGE_MS
    expect(await killState(tenant, deps)).toMatchObject({ ok: true, state: { killed: true } })
  })

  it('an isolate serves an old location copy from memory until MAX_AGE_MS, without a cache read per request', async () => {
    const tenant = 'kill-adopted'
    const cache = await caches.open('kill-test-3')
    await forgetKillState(tenant, cache)
    let t = 3_000_000
    let objectReads = 0
    const read = async (name: string): Promise<KillState> => {
      objectReads++
      return env.GUARD.getByName(name).state()
    }
    let cacheReads = 0
    const counted = new Proxy(cache, {
      get(target, key) {
        if (key === 'match') return (...args: Parameters<Cache['match']>) => (cacheReads++, target.match(...args))
        const v: unknown = Reflect.get(target, key)
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
    const deps = { env, cache: counted, now: () => t, read }
    expect(await killState(tenant, deps)).toMatchObject({ ok: true, state: { killed: false } })
    expect(objectReads).toBe(1)
    // Another isolate: its memory is empty, so it adopts the location copy, already FRESH_MS + 1 old.
    await forgetKillState(tenant, { delete: async () => false } as unknown as Cache)
    t += FRESH_MS + 1
    cacheReads = 0
    for (let i = 0; i < 20; i++) expect(await killState(tenant, deps)).toMatchObject({ ok: true })
    expect(cacheReads).toBe(1)
    expect(objectReads).toBe(1)
    // At MAX_AGE_MS after the object read, the copy is refused and the object is read again.
    t = 3_000_000 + MAX_AGE_MS
    expect(await killState(tenant, deps)).toMatchObject({ ok: true })
    expect(objectReads).toBe(2)
  })

  it('when the guard cannot be reached, the last known state holds until STALE_LIMIT_MS, then fails', async () => {
    const tenant = 'kill-unreachable'
    const cache = await caches.open('kill-test-2')
    await forgetKillState(tenant, cache)
    let t = 5_000_000
    let reachable = true
    const read = async (name: string): Promise<KillState> => {
      if (!reachable) throw new Error('unreachable')
      return env.GUARD.getByName(name).state()
    }
    const deps = { env, cache, now: () => t, read }
    expect(await killState(tenant, deps)).toMatchObject({ ok: true, state: { killed: false } })
    reachable = false
    t += STALE_LIMIT_MS - 1
    expect(await killState(tenant, deps)).toMatchObject({ ok: true, state: { killed: false } })
    t += 1
    expect(await killState(tenant, deps)).toEqual({ ok: false, reason: 'guard_unreachable' })
  })

  it('kills single tools and restores them', async () => {
    const guard = env.GUARD.getByName('kill-tools')
    expect(await guard.kill('tool:delete_repo', 'op')).toMatchObject({ killed: false, tools: ['delete_repo'] })
    expect(await guard.restore('tool:delete_repo', 'op')).toMatchObject({ killed: false, tools: [] })
    expect(await guard.kill('everything', 'op')).toBeNull()
    expect(await guard.state()).toMatchObject({ killed: false, tools: [] })
  })

  it("keeps the operator's kills the operator's: a key can neither lift one nor take one over by pulling it again", async () => {
    const guard = env.GUARD.getByName('kill-owners')
    await guard.kill('*', 'operator')
    await guard.kill('*', 'key:0123456789abcdef') // pulled again by a key: still the operator's
    expect(await guard.restore('*', 'key:0123456789abcdef')).toBe('operator-kill')
    expect(await guard.state()).toMatchObject({ killed: true })
    expect(await guard.restore('*', 'operator')).toMatchObject({ killed: false })
    await guard.kill('tool:x', 'key:0123456789abcdef')
    expect(await guard.restore('tool:x', 'key:fedcba9876543210')).toMatchObject({ tools: [] }) // a key's kill: any key of the tenant
    await guard.kill('tool:y', 'key:0123456789abcdef')
    await guard.kill('tool:y', 'operator') // the operator takes it over
    expect(await guard.restore('tool:y', 'key:0123456789abcdef')).toBe('operator-kill')
  })

  it("keeps a deleted tenant stopped: isolates and open streams still serving it stop within the kill switch's bound", async () => {
    const guard = env.GUARD.getByName('kill-purged')
    await guard.kill('tool:x', 'operator')
    await guard.purge()
    expect(await guard.state()).toMatchObject({ killed: true, tools: [] })
    // A kill or restore that raced the deletion writes nothing and lifts no stop: the tenant is gone.
    expect(await guard.kill('tool:y', 'operator')).toMatchObject({ killed: true, tools: [] })
    expect(await guard.restore('*', 'operator')).toMatchObject({ killed: true })
    const rows = await runInDurableObject(guard, (_i, state) => state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM kills').one().n)
    expect(rows).toBe(0)
  })
})
