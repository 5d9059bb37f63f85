/**
 * A config that needs tenant secrets, written to a firewall without `SECRETS_MASTER_KEY`: refused with
 * what to set, and nothing stored, instead of a stored config whose traffic, alerts or second-stage calls
 * then fail with a cause only the server log shows.
 */
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN } from '../support/worker/fetch'
import { adminRoutes } from '../../src/tenant/admin'
import { call, createTenant, published, uniqueId, warmUp } from './control-support'

beforeAll(warmUp, 30_000)

const origin = { url: 'https://origin.example/mcp' }
const jwt = { mode: 'jwt', issuer: 'https://issuer.example', jwksUrl: 'https://issuer.example/jwks.json' }
const hook = { id: 'ops', url: 'https://hooks.example/alerts', secret: 'ops-webhook', events: ['*'] }
const guard = { url: 'https://guard.example/classify', secret: 'guard-token' }

/** The admin API of a firewall whose Worker has no master key. */
async function withoutKey(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const noKey = { ...env, SECRETS_MASTER_KEY: '' }
  const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} }
  const req = new Request(`https://fw.example/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const res = await adminRoutes().fetch(req, noKey, ctx as unknown as ExecutionContext)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const refusal = (fields: string) => ({
  error: 'secrets_disabled',
  message: `the config needs tenant secrets (${fields}), which are off: the operator must set the SECRETS_MASTER_KEY Worker secret (openssl rand -base64 32; wrangler secret put, or .dev.vars locally)`,
})

describe('a config that needs tenant secrets, without SECRETS_MASTER_KEY', () => {
  it.each([
    ['apiKey client authentication', { origin, auth: { mode: 'apiKey' } }, 'auth.mode'],
    ['jwt client authentication', { origin, auth: jwt }, 'auth.mode'],
    ['an origin credential', { origin: { ...origin, credential: { secret: 'origin-token', header: 'authorization' } }, auth: { mode: 'apiKey' } }, 'auth.mode, origin.credential.secret'],
    ['a signed webhook', { origin, alerts: { webhooks: [hook] } }, 'alerts.webhooks.0.secret'],
    ['a second stage with a bearer secret', { origin, policy: { classifier: { secondStage: guard } } }, 'policy.classifier.secondStage.secret'],
  ])('is refused when created (%s): 503 naming the fields and the key, nothing stored', async (_name, config, fields) => {
    const id = uniqueId('nokey')
    expect(await withoutKey('PUT', `/tenants/${id}`, config)).toEqual({ status: 503, body: refusal(fields) })
    expect(await call('GET', `/tenants/${id}`)).toMatchObject({ status: 404 })
    expect(await published(id)).toBeNull()
  })

  it('is refused when it replaces a config, which stays as it was', async () => {
    const id = uniqueId('nokey-put')
    await createTenant(id, { origin })
    expect(await withoutKey('PUT', `/tenants/${id}`, { origin, auth: jwt })).toEqual({ status: 503, body: refusal('auth.mode') })
    expect((await published(id))?.version).toBe(1)
  })

  it('refuses a policy naming a second-stage secret, with the path inside the policy', async () => {
    const id = uniqueId('nokey-pol')
    await createTenant(id, { origin })
    expect(await withoutKey('PUT', `/tenants/${id}/policy`, { classifier: { secondStage: guard } })).toEqual({ status: 503, body: refusal('classifier.secondStage.secret') })
    expect((await published(id))?.version).toBe(1)
  })

  it('refuses a rollback to a version that needs secrets', async () => {
    const id = uniqueId('nokey-rb')
    await createTenant(id, { origin, auth: { mode: 'apiKey' } })
    expect(await call('PUT', `/tenants/${id}`, { body: { origin } })).toMatchObject({ status: 200 })
    expect(await withoutKey('POST', `/tenants/${id}/rollback`, { version: 1 })).toEqual({ status: 503, body: refusal('auth.mode') })
    expect((await published(id))?.version).toBe(2)
  })

  it('still accepts a config that needs none, and still answers an invalid one with its issues first', async () => {
    const id = uniqueId('nokey-ok')
    expect(await withoutKey('PUT', `/tenants/${id}`, { origin, policy: { classifier: { secondStage: { url: guard.url } } } })).toMatchObject({ status: 201 })
    expect(await withoutKey('PUT', `/tenants/${id}`, { origin, auth: { mode: 'apiKey', realm: 'x' } })).toMatchObject({ status: 400, body: { error: 'invalid_config' } })
    expect((await published(id))?.version).toBe(1)
  })
})
