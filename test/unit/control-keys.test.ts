import { env } from 'cloudflare:workers'
import { runInDurableObject } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { call, createTenant, hostOwner, issueKey, published, uniqueId, warmUp } from './control-support'

beforeAll(warmUp, 30_000)

const origin = { url: 'https://origin.example/mcp' }
type Versions = { versions: Array<{ version: number; actor: string; action: string }> }
type KeyBody = { id: string; key: string; status: string; createdBy: string; expiresAt: string; rotatedFrom: string | null }

async function sha256Hex(s: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)))
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Everything about a tenant an attacker could have changed, for "nothing happened" assertions. */
async function snapshot(id: string): Promise<unknown> {
  return { api: (await call('GET', `/tenants/${id}`)).body, kv: await published(id), versions: (await call('GET', `/tenants/${id}/versions`)).body }
}

describe('tenant admin keys', () => {
  it('returns a key once and stores only its SHA-256', async () => {
    const id = uniqueId('key')
    await createTenant(id, { origin })
    const res = await call<KeyBody>('POST', `/tenants/${id}/keys`, { body: { label: 'ci', expiresInDays: 30 } })
    expect(res.status).toBe(201)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.body).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{16}$/), status: 'active', createdBy: 'operator', label: 'ci', rotatedFrom: null })
    expect(res.body.key).toMatch(new RegExp(`^mcpfw_${id}_${res.body.id}_[0-9a-f]{64}$`))
    const days = (Date.parse(res.body.expiresAt) - Date.now()) / 86_400_000
    expect(days).toBeGreaterThan(29.9)
    expect(days).toBeLessThanOrEqual(30)

    const list = await call<{ keys: Array<Record<string, unknown>> }>('GET', `/tenants/${id}/keys`)
    expect(list.body.keys).toHaveLength(1)
    expect(JSON.stringify(list.body)).not.toContain(res.body.key.slice(-64))
    expect(list.body.keys[0]).not.toHaveProperty('key')
    const stored = await runInDurableObject(env.TENANT_CONFIG.getByName(id), (_, state) => state.storage.sql.exec('SELECT * FROM admin_keys').toArray())
    expect(stored).toHaveLength(1)
    expect(stored[0]?.['hash']).toBe(await sha256Hex(res.body.key))
    expect(JSON.stringify(stored)).not.toContain(res.body.key.slice(-64))
  })

  it('lets a key read and write its own tenant, recorded by key id in the history', async () => {
    const id = uniqueId('own')
    await createTenant(id, { origin, hosts: [`${id}.example`] })
    const key = await issueKey(id)
    expect((await call('GET', `/tenants/${id}`, { token: key.key })).status).toBe(200)
    expect((await call('PUT', `/tenants/${id}/policy`, { token: key.key, body: { monitor: true } })).status).toBe(200)
    const full = await call('PUT', `/tenants/${id}`, { token: key.key, body: { origin, hosts: [`${id}.example`], enabled: false }, headers: { 'if-match': '2' } })
    expect(full).toMatchObject({ status: 200, body: { version: 3, updatedBy: `key:${key.id}`, config: { enabled: false } } })
    expect((await call('POST', `/tenants/${id}/rollback`, { token: key.key, body: { version: 1 } })).status).toBe(200)
    const history = (await call<Versions>('GET', `/tenants/${id}/versions`, { token: key.key })).body.versions
    expect(history.map((v) => [v.version, v.action, v.actor])).toEqual([
      [4, 'rollback', `key:${key.id}`],
      [3, 'update', `key:${key.id}`],
      [2, 'policy', `key:${key.id}`],
      [1, 'create', 'operator'],
    ])
  })

  it("may tune the secrets rule pack and rules whose ids mention secrets: detection policy, not secret references", async () => {
    const id = uniqueId('tune')
    await createTenant(id, { origin })
    const key = await issueKey(id)
    const policy = { rules: { packs: { secrets: { mode: 'monitor' } }, rules: { 'aws-secret-access-key': { action: 'flag' } } } }
    expect((await call('PUT', `/tenants/${id}/policy`, { token: key.key, body: policy })).status).toBe(200)
  })

  it("cannot read or write another tenant's anything (403, no detail, nothing changed)", async () => {
    const [mine, theirs] = [uniqueId('mine'), uniqueId('theirs')]
    await createTenant(mine, { origin })
    await createTenant(theirs, { origin })
    const key = await issueKey(mine)
    const before = await snapshot(theirs)
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', ''], ['PUT', '', { origin }], ['DELETE', ''], ['GET', '/policy'], ['PUT', '/policy', { monitor: true }],
      ['GET', '/versions'], ['GET', '/versions/1'], ['POST', '/rollback', { version: 1 }], ['GET', '/keys'], ['POST', '/keys', {}],
      ['GET', '/events'], ['POST', '/test', { message: { jsonrpc: '2.0', id: 1, method: 'ping' }, direction: 'client_to_server' }],
    ]
    for (const [method, path, body] of attempts) {
      const res = await call(method, `/tenants/${theirs}${path}`, { token: key.key, ...(body !== undefined ? { body } : {}) })
      expect([method, path, res.status, res.body]).toEqual([method, path, 403, { error: 'forbidden' }])
    }
    expect(await snapshot(theirs)).toEqual(before)
  })

  it.each([
    ['an origin', (id: string) => ({ origin: { url: 'https://evil.example/mcp' }, hosts: [`${id}.example`] })],
    ['an origin timeout', (id: string) => ({ origin: { ...origin, timeoutMs: 1000 }, hosts: [`${id}.example`] })],
    ['a hostname claim', (id: string) => ({ origin, hosts: [`${id}.example`, `claim.${id}.example`] })],
    ['dropping a hostname', () => ({ origin, hosts: [] })],
    ['an origin credential secret', (id: string) => ({ origin: { ...origin, credential: { secret: 'stolen' } }, hosts: [`${id}.example`] })],
    ['a secret the schema does not know', (id: string) => ({ origin, hosts: [`${id}.example`], secrets: { token: 'x' } })],
    ['a nested secret reference', (id: string) => ({ origin, hosts: [`${id}.example`], policy: { webhookSecret: 'x' } })],
  ])('cannot set %s: 403 and nothing changed', async (_name, config) => {
    const id = uniqueId('ops')
    await createTenant(id, { origin, hosts: [`${id}.example`] })
    const key = await issueKey(id)
    const before = await snapshot(id)
    const res = await call('PUT', `/tenants/${id}`, { token: key.key, body: config(id) })
    expect(res).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    expect(await snapshot(id)).toEqual(before)
    expect(await hostOwner(`claim.${id}.example`)).toBeNull()
    expect(await hostOwner(`${id}.example`)).toBe(id)
  })

  it("cannot point the classifier's second stage elsewhere: the firewall sends it the operator's bearer secret and message text", async () => {
    const id = uniqueId('stage')
    const stage = { url: 'https://guard.example/v1/classify', secret: 'guard-token' }
    await createTenant(id, { origin, policy: { classifier: { secondStage: stage } } })
    const key = await issueKey(id)
    const before = await snapshot(id)
    const moved = { classifier: { secondStage: { ...stage, url: 'https://elsewhere.example/collect' } } }
    expect(await call('PUT', `/tenants/${id}/policy`, { token: key.key, body: moved })).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    expect(await call('PUT', `/tenants/${id}`, { token: key.key, body: { origin, policy: moved } })).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    expect(await snapshot(id)).toEqual(before)
    // The rest of the second stage is the tenant's to tune.
    const tuned = { classifier: { secondStage: { ...stage, timeoutMs: 500, failMode: 'open' } } }
    expect((await call('PUT', `/tenants/${id}/policy`, { token: key.key, body: tuned })).status).toBe(200)
  })

  it("cannot turn on or change a Workers AI second stage: it runs on the operator's account, which every tenant shares", async () => {
    const id = uniqueId('stageai')
    await createTenant(id, { origin })
    const key = await issueKey(id)
    const before = await snapshot(id)
    const added = { classifier: { secondStage: { workersAi: { model: '@cf/meta/llama-guard-3-8b' }, band: [0, 1] } } }
    expect(await call('PUT', `/tenants/${id}/policy`, { token: key.key, body: added })).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    expect(await call('PUT', `/tenants/${id}`, { token: key.key, body: { origin, policy: added } })).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    expect(await snapshot(id)).toEqual(before)
    // Set by the operator, its model is the operator's to change too; the rest stays the tenant's to tune.
    expect((await call('PUT', `/tenants/${id}/policy`, { body: { classifier: { secondStage: { workersAi: {} } } } })).status).toBe(200)
    const other = { classifier: { secondStage: { workersAi: { model: '@cf/meta/llama-3.1-70b-instruct' } } } }
    expect(await call('PUT', `/tenants/${id}/policy`, { token: key.key, body: other })).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    const tuned = { classifier: { secondStage: { workersAi: {}, timeoutMs: 500, failMode: 'open' } } }
    expect((await call('PUT', `/tenants/${id}/policy`, { token: key.key, body: tuned })).status).toBe(200)
  })

  it("cannot replace or delete a webhook's signing secret, which would forge or silence the operator's alerts", async () => {
    const id = uniqueId('hooksecret')
    const hook = { id: 'ops', url: 'https://hooks.example/in', secret: 'ops-hook', events: ['*'] }
    await createTenant(id, { origin, alerts: { webhooks: [hook] } })
    expect((await call('PUT', `/tenants/${id}/secrets/ops-hook`, { body: { value: 'o'.repeat(40) } })).status).toBe(204)
    const stored = await env.CONFIG.get(`secret:${id}:ops-hook`)
    const key = await issueKey(id)
    expect(await call('PUT', `/tenants/${id}/secrets/ops-hook`, { token: key.key, body: { value: 'k'.repeat(40) } })).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    expect(await call('DELETE', `/tenants/${id}/secrets/ops-hook`, { token: key.key })).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    expect(await env.CONFIG.get(`secret:${id}:ops-hook`)).toBe(stored)
    // Other secrets (an origin credential the tenant rotates) stay the key's to write; the operator writes any.
    expect((await call('PUT', `/tenants/${id}/secrets/origin-token`, { token: key.key, body: { value: 't'.repeat(40) } })).status).toBe(204)
    expect((await call('DELETE', `/tenants/${id}/secrets/ops-hook`)).status).toBe(204)
  })

  it("cannot replace or delete the second stage's bearer secret, which the operator's guard endpoint is called with", async () => {
    const id = uniqueId('stagesecret')
    const policy = { classifier: { secondStage: { url: 'https://guard.example/v1/classify', secret: 'guard-token' } } }
    await createTenant(id, { origin, policy })
    expect((await call('PUT', `/tenants/${id}/secrets/guard-token`, { body: { value: 'g'.repeat(40) } })).status).toBe(204)
    const stored = await env.CONFIG.get(`secret:${id}:guard-token`)
    const key = await issueKey(id)
    expect(await call('PUT', `/tenants/${id}/secrets/guard-token`, { token: key.key, body: { value: 'k'.repeat(40) } })).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    expect(await call('DELETE', `/tenants/${id}/secrets/guard-token`, { token: key.key })).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    expect(await env.CONFIG.get(`secret:${id}:guard-token`)).toBe(stored)
    expect((await call('DELETE', `/tenants/${id}/secrets/guard-token`)).status).toBe(204)
  })

  it("cannot lift a kill switch the operator pulled, though it may pull and lift its own", async () => {
    const id = uniqueId('killed')
    await createTenant(id, { origin })
    const key = await issueKey(id)
    expect((await call('POST', `/tenants/${id}/kill`, { body: {} })).status).toBe(200)
    const lift = await call('DELETE', `/tenants/${id}/kill`, { token: key.key })
    expect(lift).toMatchObject({ status: 403, body: { error: 'operator_kill' } })
    expect((await call('GET', `/tenants/${id}/kill`, { token: key.key })).body).toMatchObject({ killed: true })
    expect((await call('POST', `/tenants/${id}/kill`, { token: key.key, body: { tool: 'wipe' } })).status).toBe(200)
    expect((await call('DELETE', `/tenants/${id}/kill?tool=wipe`, { token: key.key })).status).toBe(200)
    expect((await call('DELETE', `/tenants/${id}/kill`)).body).toMatchObject({ killed: false })
  })

  it('cannot roll back to a version with another origin, or do operator-only things', async () => {
    const id = uniqueId('opsonly')
    await createTenant(id, { origin })
    await call('PUT', `/tenants/${id}`, { body: { origin: { url: 'https://new-origin.example/mcp' } } })
    const key = await issueKey(id)
    const before = await snapshot(id)
    expect((await call('POST', `/tenants/${id}/rollback`, { token: key.key, body: { version: 1 } })).status).toBe(403)
    expect((await call('DELETE', `/tenants/${id}`, { token: key.key })).status).toBe(403)
    expect((await call('POST', `/tenants/${id}/keys`, { token: key.key, body: {} })).status).toBe(403)
    expect((await call('POST', `/tenants/${id}/keys/${key.id}/rotate`, { token: key.key, body: { expiresInDays: 365 } })).status).toBe(403)
    expect((await call('GET', '/tenants', { token: key.key })).status).toBe(403)
    const other = uniqueId('newbie')
    expect((await call('PUT', `/tenants/${other}`, { token: key.key, body: { origin } })).status).toBe(403)
    expect(await published(other)).toBeNull()
    expect(await snapshot(id)).toEqual(before)
    expect((await call<{ keys: unknown[] }>('GET', `/tenants/${id}/keys`)).body.keys).toHaveLength(1)
  })

  it('rotates: the old key stops working (at once, or after the grace period), the new one works', async () => {
    const id = uniqueId('rot')
    await createTenant(id, { origin })
    const k1 = await issueKey(id)
    const r1 = await call<KeyBody>('POST', `/tenants/${id}/keys/${k1.id}/rotate`, { body: {} })
    expect(r1).toMatchObject({ status: 201, body: { rotatedFrom: k1.id, status: 'active' } })
    expect(r1.headers.get('cache-control')).toBe('no-store')
    expect((await call('GET', `/tenants/${id}`, { token: k1.key })).status).toBe(401)
    expect((await call('GET', `/tenants/${id}`, { token: r1.body.key })).status).toBe(200)
    expect((await call('POST', `/tenants/${id}/keys/${k1.id}/rotate`, { body: {} })).status).toBe(409)

    // A key rotating itself keeps its expiry; with a grace period both work for a while.
    const r2 = await call<KeyBody>('POST', `/tenants/${id}/keys/${r1.body.id}/rotate`, { token: r1.body.key, body: { graceSeconds: 600 } })
    expect(r2).toMatchObject({ status: 201, body: { rotatedFrom: r1.body.id, createdBy: `key:${r1.body.id}`, expiresAt: r1.body.expiresAt } })
    expect((await call('GET', `/tenants/${id}`, { token: r1.body.key })).status).toBe(200)
    expect((await call('GET', `/tenants/${id}`, { token: r2.body.key })).status).toBe(200)
    // In its grace period the replaced key still works but is not rotated again: that would fork one key
    // into several live ones that revoking it does not reach.
    for (const token of [r1.body.key, undefined]) {
      const again = await call('POST', `/tenants/${id}/keys/${r1.body.id}/rotate`, { ...(token ? { token } : {}), body: { graceSeconds: 600 } })
      expect(again).toMatchObject({ status: 409, body: { error: 'key_inactive' } })
    }
    const live = (await call<{ keys: Array<{ status: string }> }>('GET', `/tenants/${id}/keys`)).body.keys.filter((k) => k.status === 'active')
    expect(live).toHaveLength(2)
  })

  it("lets a key rotate only itself: another holder's key, and its expiry, stay out of its reach", async () => {
    const id = uniqueId('mine')
    await createTenant(id, { origin })
    const [contractor, ci] = [await issueKey(id), await issueKey(id)]
    expect((await call('POST', `/tenants/${id}/keys/${ci.id}/rotate`, { token: contractor.key, body: {} })).status).toBe(403)
    expect((await call('GET', `/tenants/${id}`, { token: ci.key })).status).toBe(200) // untouched
    const keys = (await call<{ keys: Array<{ id: string; status: string }> }>('GET', `/tenants/${id}/keys`)).body.keys
    expect(keys.map((k) => k.status)).toEqual(['active', 'active'])
  })

  it('counts keys in a grace period against the active-key limit, so rotations cannot crowd out the operator', async () => {
    const id = uniqueId('crowd')
    await createTenant(id, { origin })
    const keys: Array<{ id: string; key: string }> = []
    for (let i = 0; i < 20; i++) keys.push(await issueKey(id))
    const last = keys[19] as { id: string; key: string }
    expect(await call('POST', `/tenants/${id}/keys/${last.id}/rotate`, { token: last.key, body: { graceSeconds: 600 } })).toMatchObject({ status: 409, body: { error: 'too_many_keys' } })
    expect((await call('POST', `/tenants/${id}/keys/${last.id}/rotate`, { token: last.key, body: {} })).status).toBe(201) // a swap adds no key
  })

  it('revokes, expires and refuses forged keys with 401 and no detail', async () => {
    const id = uniqueId('rev')
    await createTenant(id, { origin })
    const [k1, k2] = [await issueKey(id), await issueKey(id)]
    expect((await call('DELETE', `/tenants/${id}/keys/${k1.id}`, { token: k2.key })).status).toBe(403) // a key only revokes itself
    expect((await call('DELETE', `/tenants/${id}/keys/${k1.id}`)).status).toBe(204)
    expect(await call('GET', `/tenants/${id}`, { token: k1.key })).toMatchObject({ status: 401, body: { error: 'unauthorized' } })
    expect((await call('DELETE', `/tenants/${id}/keys/0000000000000000`)).status).toBe(404)

    await runInDurableObject(env.TENANT_CONFIG.getByName(id), (_, state) => {
      state.storage.sql.exec('UPDATE admin_keys SET expires_at = ? WHERE id = ?', new Date(Date.now() - 1000).toISOString(), k2.id)
    })
    expect(await call('GET', `/tenants/${id}`, { token: k2.key })).toMatchObject({ status: 401, body: { error: 'unauthorized' } })
    const statuses = (await call<{ keys: Array<{ id: string; status: string }> }>('GET', `/tenants/${id}/keys`)).body.keys
    expect(Object.fromEntries(statuses.map((k) => [k.id, k.status]))).toEqual({ [k1.id]: 'revoked', [k2.id]: 'expired' })

    const k3 = await issueKey(id)
    const forged = `${k3.key.slice(0, -64)}${'0'.repeat(64)}`
    const otherTenant = k3.key.replace(`mcpfw_${id}_`, 'mcpfw_someone-else_')
    for (const token of [forged, otherTenant, `${k3.key}x`, k3.key.toUpperCase()]) {
      expect(await call('GET', `/tenants/${id}`, { token })).toMatchObject({ status: 401, body: { error: 'unauthorized' } })
    }
    expect((await call('GET', `/tenants/${id}`, { token: k3.key })).status).toBe(200)
  })
})
