/**
 * The `alerts` config section: strict schema with exact messages, webhook URLs under the origin rules
 * (pure validator with a production policy), and the admin API refusing bad webhooks at save time.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { AlertsConfig } from '../../src/alerts/config'
import { checkWebhookUrls } from '../../src/alerts/url'
import { fieldIssues } from '../../src/tenant/issues'
import { call, createTenant, issueKey, published, uniqueId, warmUp } from './control-support'

beforeAll(warmUp, 30_000)

const origin = { url: 'https://origin.example/mcp' }
const hook = (over: Record<string, unknown> = {}) => ({ id: 'ops', url: 'https://hooks.example/in', secret: 'ops-hook', events: ['*'], ...over })
const production = { allowPrivate: false, ownHostnames: new Set(['fw.example', 'mcp.acme.example']) }
const development = { allowPrivate: true, ownHostnames: new Set(['fw.example']) }

describe('alerts config schema', () => {
  it('defaults to no webhooks', () => {
    expect(AlertsConfig.parse({})).toEqual({ webhooks: [] })
  })

  it.each([
    ['"*" mixed with types', { webhooks: [hook({ events: ['*', 'tenant.killed'] })] }, [['webhooks.0.events', 'use ["*"] alone, or list alert types']]],
    ['a repeated type', { webhooks: [hook({ events: ['tenant.killed', 'tenant.killed'] })] }, [['webhooks.0.events', 'must not repeat an alert type']]],
    ['no events', { webhooks: [hook({ events: [] })] }, [['webhooks.0.events', 'Too small: expected array to have >=1 items']]],
    ['duplicate ids', { webhooks: [hook(), hook({ url: 'https://b.example/' })] }, [['webhooks.1.id', 'duplicate webhook id "ops"']]],
    ['a bad secret name', { webhooks: [hook({ secret: 'Not A Name' })] }, [['webhooks.0.secret', 'must match [a-z0-9][a-z0-9_.-]{0,63}']]],
    ['an unknown field', { webhooks: [hook({ headers: { x: 'y' } })] }, [['webhooks.0', 'Unrecognized key: "headers"']]],
    ['too many webhooks', { webhooks: Array.from({ length: 11 }, (_, i) => hook({ id: `h${i}` })) }, [['webhooks', 'Too big: expected array to have <=10 items']]],
  ])('refuses %s with an exact message', (_name, input, expected) => {
    const parsed = AlertsConfig.safeParse(input)
    expect(parsed.success).toBe(false)
    if (!parsed.success) expect(fieldIssues(parsed.error).map((i) => [i.path, i.message])).toEqual(expected)
  })

  it('refuses an unknown alert type', () => {
    const parsed = AlertsConfig.safeParse({ webhooks: [hook({ events: ['tenant.exploded'] })] })
    expect(parsed.success).toBe(false)
    if (!parsed.success) expect(fieldIssues(parsed.error).map((i) => i.path)).toEqual(['webhooks.0.events.0'])
  })
})

describe('webhook URL rules (pure validator, production policy)', () => {
  it.each([
    ['https://hooks.example/in', null],
    ['http://hooks.example/in', 'must use https'],
    ['https://10.0.0.7/in', 'private, loopback and link-local targets are not allowed'],
    ['https://127.0.0.1:8443/in', 'private, loopback and link-local targets are not allowed'],
    ['https://169.254.169.254/latest/meta-data', 'private, loopback and link-local targets are not allowed'],
    ['https://[fd00::5]/in', 'private, loopback and link-local targets are not allowed'],
    ['https://hooks.internal/in', 'private, loopback and link-local targets are not allowed'],
    ['https://FW.example/hook', "must not point at the firewall's own hostnames"],
    ['https://mcp.acme.example/hook', "must not point at the firewall's own hostnames"],
    ['https://user:pw@hooks.example/in', 'credentials in the URL are not allowed'],
  ])('%s', (url, reason) => {
    const issues = checkWebhookUrls(AlertsConfig.parse({ webhooks: [hook({ id: 'first' }), hook({ url })] }), production)
    expect(issues).toEqual(reason === null ? [] : [{ path: 'alerts.webhooks.1.url', message: reason }])
  })

  it('names every bad webhook, in order', () => {
    const alerts = AlertsConfig.parse({ webhooks: [hook({ id: 'a', url: 'http://10.1.1.1/' }), hook({ id: 'b' }), hook({ id: 'c', url: 'https://192.168.0.2/' })] })
    expect(checkWebhookUrls(alerts, production).map((i) => i.path)).toEqual(['alerts.webhooks.0.url', 'alerts.webhooks.2.url'])
  })

  it('allows http and loopback only under ALLOW_PRIVATE_ORIGINS (local development)', () => {
    expect(checkWebhookUrls(AlertsConfig.parse({ webhooks: [hook({ url: 'http://127.0.0.1:9999/hook' })] }), development)).toEqual([])
    expect(checkWebhookUrls(AlertsConfig.parse({ webhooks: [hook({ url: 'http://fw.example/hook' })] }), development)).toEqual([
      { path: 'alerts.webhooks.0.url', message: "must not point at the firewall's own hostnames" },
    ])
  })
})

describe('admin API: webhooks at save time', () => {
  it('stores a valid webhook, and applies the empty default to configs without one', async () => {
    const id = uniqueId('al-save')
    const created = await createTenant(id, { origin })
    expect(created.body).toMatchObject({ config: { alerts: { webhooks: [] } } })
    const res = await call('PUT', `/tenants/${id}`, { body: { origin, alerts: { webhooks: [hook()] } } })
    expect(res.status).toBe(200)
    expect((await published(id))?.config).toMatchObject({ alerts: { webhooks: [hook()] } })
  })

  it.each([
    ["the firewall's own hostname", 'https://fw.example/hook', "must not point at the firewall's own hostnames"],
    ["the tenant's own hostname", 'https://mcp.al-own.example/hook', "must not point at the firewall's own hostnames"],
    ['a URL with credentials', 'https://u:p@hooks.example/', 'credentials in the URL are not allowed'],
    ['a non-http scheme', 'ftp://hooks.example/', 'must use https'],
  ])('refuses a webhook at %s with its field path, and changes nothing', async (_name, url, message) => {
    const id = uniqueId('al-bad')
    await createTenant(id, { origin })
    const res = await call('PUT', `/tenants/${id}`, { body: { origin, hosts: ['mcp.al-own.example'], alerts: { webhooks: [hook({ id: 'fine' }), hook({ url })] } } })
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_config', issues: [{ path: 'alerts.webhooks.1.url', message }] } })
    expect((await published(id))?.version).toBe(1)
  })

  it("refuses a tenant key adding a webhook: it names a secret, which is the operator's to set", async () => {
    const id = uniqueId('al-key')
    await createTenant(id, { origin })
    const key = await issueKey(id)
    const res = await call('PUT', `/tenants/${id}`, { token: key.key, body: { origin, alerts: { webhooks: [hook()] } } })
    expect(res).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    expect((await published(id))?.version).toBe(1)
  })

  it("refuses a tenant key redirecting or silencing the operator's webhook, and lets it change everything else", async () => {
    const id = uniqueId('al-keep')
    await createTenant(id, { origin, alerts: { webhooks: [hook()] } })
    const key = await issueKey(id)
    for (const changed of [hook({ url: 'https://collector.example/in' }), hook({ events: ['alert.test'] }), hook({ id: 'renamed' })]) {
      const res = await call('PUT', `/tenants/${id}`, { token: key.key, body: { origin, alerts: { webhooks: [changed] } } })
      expect(res).toMatchObject({ status: 403, body: { error: 'forbidden' } })
    }
    expect((await published(id))?.version).toBe(1)
    const policy = await call('PUT', `/tenants/${id}`, { token: key.key, body: { origin, alerts: { webhooks: [hook()] }, policy: { monitor: true } } })
    expect(policy.status).toBe(200)
  })
})
