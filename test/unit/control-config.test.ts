import { beforeAll, describe, expect, it } from 'vitest'
import { call, createTenant, published, uniqueId, warmUp } from './control-support'

beforeAll(warmUp, 30_000)

const origin = { url: 'https://origin.example/mcp' }
type Tenant = { id: string; version: number; updatedBy: string; config: { policy: { tools: { deny: string[] } }; hosts: string[]; origin: { url: string } } }
type Versions = { id: string; current: number; versions: Array<{ version: number; actor: string; action: string; rollbackOf: number | null }> }

describe('config authority: validation', () => {
  it.each([
    ['empty deny glob', { origin, policy: { tools: { deny: ['ok', ''] } } }, ['policy.tools.deny.1']],
    ['limit below minimum', { origin, limits: { maxRequestBytes: 1 } }, ['limits.maxRequestBytes']],
    ['unknown rule override', { origin, policy: { rules: { rules: { 'no-such-rule': { disabled: true } } } } }, ['policy.rules.rules.no-such-rule']],
    ['several at once', { origin: { url: 'nope', timeoutMs: 5 }, enabled: 'yes', allowedOrigins: ['https://A.example'] }, ['origin.url', 'origin.timeoutMs', 'allowedOrigins.0', 'enabled']],
  ])('refuses a config (%s) naming each field path, and changes nothing', async (_name, config, paths) => {
    const id = uniqueId('val')
    await createTenant(id, { origin })
    const res = await call<{ error: string; issues: Array<{ path: string; message: string }> }>('PUT', `/tenants/${id}`, { body: config })
    expect(res.status).toBe(400)
    expect(res.body.error).toBe('invalid_config')
    expect(res.body.issues.map((i) => i.path).sort()).toEqual([...paths].sort())
    for (const issue of res.body.issues) expect(issue.message).toEqual(expect.any(String))
    expect((await call<Tenant>('GET', `/tenants/${id}`)).body.version).toBe(1)
    expect((await published(id))?.version).toBe(1)
  })

  it('refuses an invalid policy with paths relative to the policy body', async () => {
    const id = uniqueId('valpol')
    await createTenant(id, { origin })
    const res = await call('PUT', `/tenants/${id}/policy`, { body: { injectionThreshold: 2, unicode: 'maybe', monitr: true } })
    expect(res.status).toBe(400)
    expect(res.body).toEqual({
      error: 'invalid_config',
      issues: [
        { path: 'injectionThreshold', message: 'Too big: expected number to be <=1' },
        { path: 'unicode', message: 'Invalid option: expected one of "strip"|"block"|"flag"|"off"' },
        { path: '(root)', message: 'Unrecognized key: "monitr"' },
      ],
    })
    expect((await published(id))?.version).toBe(1)
  })

  it('refuses bad rollback bodies and malformed If-Match headers', async () => {
    const id = uniqueId('valrb')
    await createTenant(id, { origin })
    expect(await call('POST', `/tenants/${id}/rollback`, { body: { version: 0 } })).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', issues: [{ path: 'version', message: expect.any(String) }] },
    })
    for (const header of ['abc', '1, 2', '"x"']) {
      const res = await call('PUT', `/tenants/${id}`, { body: { origin }, headers: { 'if-match': header } })
      expect(res).toMatchObject({ status: 400, body: { error: 'invalid_precondition' } })
    }
    expect((await published(id))?.version).toBe(1)
  })
})

describe('config authority: versions and compare-and-swap', () => {
  it('numbers every write, records who made it, and serves the ETag', async () => {
    const id = uniqueId('ver')
    await createTenant(id, { origin })
    expect((await call('PUT', `/tenants/${id}`, { body: { origin, policy: { tools: { deny: ['a'] } } } })).status).toBe(200)
    const pol = await call('PUT', `/tenants/${id}/policy`, { body: { tools: { deny: ['b'] } } })
    expect(pol).toMatchObject({ status: 200, body: { id, version: 3, updatedBy: 'operator', published: true, policy: { tools: { deny: ['b'] } } } })
    expect(pol.headers.get('etag')).toBe('"3"')

    const history = await call<Versions>('GET', `/tenants/${id}/versions`)
    expect(history.body).toMatchObject({ id, current: 3 })
    expect(history.body.versions.map((v) => [v.version, v.action, v.actor])).toEqual([
      [3, 'policy', 'operator'],
      [2, 'update', 'operator'],
      [1, 'create', 'operator'],
    ])
    const first = await call<Tenant>('GET', `/tenants/${id}/versions/1`)
    expect(first.body).toMatchObject({ id, version: 1, action: 'create', config: { origin: { url: origin.url }, policy: { tools: { deny: [] } } } })
    const current = await call<Tenant>('GET', `/tenants/${id}`)
    expect(current.headers.get('etag')).toBe('"3"')
    expect(current.body.config.policy.tools.deny).toEqual(['b'])
    expect(await published(id)).toMatchObject({ version: 3, config: { policy: { tools: { deny: ['b'] } } } })
  })

  it('refuses a stale If-Match with 412, changing nothing; a matching one (bare or quoted) wins', async () => {
    const id = uniqueId('cas')
    await createTenant(id, { origin })
    expect((await call('PUT', `/tenants/${id}`, { body: { origin }, headers: { 'if-match': '1' } })).status).toBe(200)
    const stale = await call('PUT', `/tenants/${id}`, { body: { origin, enabled: false }, headers: { 'if-match': '1' } })
    expect(stale).toMatchObject({ status: 412, body: { error: 'version_mismatch', currentVersion: 2 } })
    expect(stale.headers.get('etag')).toBe('"2"')
    expect((await call<Tenant>('GET', `/tenants/${id}`)).body).toMatchObject({ version: 2, config: { enabled: true } })
    expect((await call('PUT', `/tenants/${id}`, { body: { origin }, headers: { 'if-match': '"2"' } })).status).toBe(200)
    expect((await call('PUT', `/tenants/${id}`, { body: { origin }, headers: { 'if-none-match': '*' } })).status).toBe(412)
    expect((await call('PUT', `/tenants/${uniqueId('new')}`, { body: { origin }, headers: { 'if-match': '*' } })).status).toBe(412)
    expect((await call('PUT', `/tenants/${id}/policy`, { body: {}, headers: { 'if-match': '1' } })).status).toBe(412)
    expect((await published(id))?.version).toBe(3)
  })

  it('lets exactly one of several writers with the same If-Match win; the rest get 412', async () => {
    const id = uniqueId('race')
    await createTenant(id, { origin })
    const writers = ['w0', 'w1', 'w2', 'w3', 'w4']
    const answers = await Promise.all(
      writers.map((w) => call<Tenant>('PUT', `/tenants/${id}`, { body: { origin, policy: { tools: { deny: [w] } } }, headers: { 'if-match': '1' } })),
    )
    const winners = answers.filter((a) => a.status === 200)
    expect(winners).toHaveLength(1)
    expect(answers.filter((a) => a.status === 412)).toHaveLength(writers.length - 1)
    const winner = winners[0]?.body.config.policy.tools.deny
    const current = await call<Tenant>('GET', `/tenants/${id}`)
    expect(current.body).toMatchObject({ version: 2, config: { policy: { tools: { deny: winner } } } })
    expect(await published(id)).toMatchObject({ version: 2, config: { policy: { tools: { deny: winner } } } })
    expect((await call<Versions>('GET', `/tenants/${id}/versions`)).body.versions).toHaveLength(2)
  })

  it('keeps every one of several unconditional concurrent writes as its own version', async () => {
    const id = uniqueId('blind')
    await createTenant(id, { origin })
    const answers = await Promise.all(
      [0, 1, 2, 3].map((i) => call<Tenant>('PUT', `/tenants/${id}`, { body: { origin, policy: { tools: { deny: [`t${i}`] } } } })),
    )
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
    expect(answers.map((a) => a.body.version).sort()).toEqual([2, 3, 4, 5])
    const history = (await call<Versions>('GET', `/tenants/${id}/versions`)).body.versions
    expect(history.map((v) => v.version)).toEqual([5, 4, 3, 2, 1])
    const last = answers.find((a) => a.body.version === 5)?.body.config.policy.tools.deny
    expect(await published(id)).toMatchObject({ version: 5, config: { policy: { tools: { deny: last } } } })
  })

  it('rolls back to a retained version as a new version, and publishes it', async () => {
    const id = uniqueId('rb')
    await createTenant(id, { origin })
    await call('PUT', `/tenants/${id}`, { body: { origin, policy: { tools: { deny: ['x'] } } } })
    expect((await call('POST', `/tenants/${id}/rollback`, { body: { version: 1 }, headers: { 'if-match': '1' } })).status).toBe(412)
    const rb = await call<Tenant>('POST', `/tenants/${id}/rollback`, { body: { version: 1 }, headers: { 'if-match': '2' } })
    expect(rb).toMatchObject({ status: 200, body: { version: 3, config: { policy: { tools: { deny: [] } } } } })
    expect((await call<Versions>('GET', `/tenants/${id}/versions`)).body.versions[0]).toEqual({
      version: 3, createdAt: expect.any(String), actor: 'operator', action: 'rollback', rollbackOf: 1,
    })
    expect(await published(id)).toMatchObject({ version: 3, config: { policy: { tools: { deny: [] } } } })
    expect(await call('POST', `/tenants/${id}/rollback`, { body: { version: 99 } })).toMatchObject({ status: 404, body: { error: 'version_not_found' } })
  })

  it('keeps the last 20 versions; older ones cannot be rolled back to', async () => {
    const id = uniqueId('keep')
    await createTenant(id, { origin })
    for (let i = 0; i < 21; i++) await call('PUT', `/tenants/${id}/policy`, { body: { tools: { deny: [`v${i + 2}`] } } })
    const history = (await call<Versions>('GET', `/tenants/${id}/versions`)).body
    expect(history.current).toBe(22)
    expect(history.versions.map((v) => v.version)).toEqual(Array.from({ length: 20 }, (_, i) => 22 - i))
    expect((await call('POST', `/tenants/${id}/rollback`, { body: { version: 2 } })).status).toBe(404)
    expect((await call('GET', `/tenants/${id}/versions/2`)).status).toBe(404)
    expect((await call('POST', `/tenants/${id}/rollback`, { body: { version: 3 } })).status).toBe(200)
  })

  it('reads and writes the policy on its own, leaving origin and hosts alone', async () => {
    const id = uniqueId('pol')
    const host = `${id}.example`
    await createTenant(id, { origin, hosts: [host] })
    const read = await call('GET', `/tenants/${id}/policy`)
    expect(read).toMatchObject({ status: 200, body: { id, version: 1, policy: { monitor: false, injectionThreshold: 0.8, unicode: 'strip' } } })
    const put = await call('PUT', `/tenants/${id}/policy`, { body: { unicode: 'block' } })
    expect(put).toMatchObject({ status: 200, body: { version: 2, policy: { unicode: 'block' } } })
    expect((await call<Tenant>('GET', `/tenants/${id}`)).body.config).toMatchObject({ origin: { url: origin.url }, hosts: [host], policy: { unicode: 'block' } })
    expect(await call('PUT', `/tenants/${uniqueId('none')}/policy`, { body: {} })).toMatchObject({ status: 404, body: { error: 'not_found' } })
  })
})
