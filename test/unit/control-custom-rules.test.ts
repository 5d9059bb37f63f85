/**
 * Tenant custom rules through the admin API: what a write checks (ids the firewall reports itself, the
 * rule's examples run through this deploy's engine) and what reading a stored config does not (an
 * accepted config keeps serving after a deploy changes what its examples do).
 */
import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { MCP_HEADERS, workerFetch } from '../support/worker/fetch'
import { clearTenantCache } from '../../src/tenant/store'
import { call, createTenant, openSession, published, uniqueId, warmUp } from './control-support'

beforeAll(warmUp, 30_000)

type Issues = { error: string; issues: Array<{ path: string; message: string }> }
type Rule = Record<string, unknown> & { examples: { match: string[]; noMatch: string[] } }
type Stored = { policy: { rules: { customRules: Rule[] } } }

const rule = (over: Record<string, unknown> = {}): Rule => ({
  id: 'acme-ticket',
  description: 'Internal ticket ids must not leave the company.',
  kind: 'pii',
  score: 0.5,
  keywords: ['acme-'],
  pattern: 'ACME-[0-9]{6}',
  examples: { match: ['id ACME-123456'], noMatch: ['ACME-12'] },
  ...over,
})

describe('custom rule ids', () => {
  // Each is an id the firewall's own checks report (the engine, the pipeline, the tool checks, the classifier).
  it.each(['tool-foreign-reference', 'rules-budget-exceeded', 'rules-match-limit', 'inspection-error', 'tool-deny-list', 'classifier-injection', 'tool-access-denied', 'schema-arguments-invalid'])(
    'refuses %s, an id the firewall reports itself, when the config is saved',
    async (id) => {
      const tenant = uniqueId('reserved')
      const config = { origin: { url: 'https://origin.example/mcp' }, policy: { rules: { customRules: [rule({ id, examples: { match: [], noMatch: [] } })] } } }
      const created = await call<Issues>('PUT', `/tenants/${tenant}`, { body: config })
      expect(created.status).toBe(400)
      expect(created.body).toEqual({
        error: 'invalid_config',
        issues: [{ path: 'policy.rules.customRules.0.id', message: `rule id ${id} is one the firewall reports itself; choose another` }],
      })
      await createTenant(tenant, { origin: { url: 'https://origin.example/mcp' } })
      const policy = await call<Issues>('PUT', `/tenants/${tenant}/policy`, { body: config.policy })
      expect(policy.body.issues).toEqual([{ path: 'rules.customRules.0.id', message: `rule id ${id} is one the firewall reports itself; choose another` }])
      expect((await published(tenant))?.version).toBe(1)
    },
  )
})

describe('a stored config whose examples this engine no longer confirms', { timeout: 30_000 }, () => {
  // A deploy can change whether an accepted example fires (normalisation, or the shipped rules a decoding
  // rule's examples are rescanned with). Stood in for here by storing an example this engine never matched.
  const stale = { match: ['id ACME-12'], noMatch: [] }

  async function storeStale(tenant: string): Promise<void> {
    await runInDurableObject(env.TENANT_CONFIG.getByName(tenant), (_, state) => {
      const row = state.storage.sql.exec<{ config: string }>('SELECT config FROM versions WHERE version = 1').one()
      const config = JSON.parse(row.config) as Stored
      config.policy.rules.customRules[0] = { ...config.policy.rules.customRules[0], examples: stale } as Rule
      state.storage.sql.exec('UPDATE versions SET config = ? WHERE version = 1', JSON.stringify(config))
    })
    const record = (await env.CONFIG.get<{ config: Stored }>(`tenant:${tenant}`, 'json'))!
    record.config.policy.rules.customRules[0] = { ...record.config.policy.rules.customRules[0], examples: stale } as Rule
    await env.CONFIG.put(`tenant:${tenant}`, JSON.stringify(record))
    clearTenantCache(tenant)
  }

  it('keeps serving its traffic and reads back, the examples reported as warnings', async () => {
    const tenant = uniqueId('stale-ex')
    await createTenant(tenant, { origin: { url: inject('jsonOriginUrl') }, policy: { rules: { customRules: [rule()] } } })
    await storeStale(tenant)

    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }
    const res = await workerFetch(`https://fw.example/t/${tenant}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, 'mcp-protocol-version': '2025-06-18' }, body: JSON.stringify(init) })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ id: 1, result: { serverInfo: expect.any(Object) } })

    const read = await call<{ version: number; config: Stored; warnings: unknown }>('GET', `/tenants/${tenant}`)
    expect(read.status).toBe(200)
    expect(read.body.config.policy.rules.customRules[0]?.examples).toEqual(stale)
    expect(read.body.warnings).toEqual([{ path: 'policy.rules.customRules.0.examples.match.0', message: 'example does not match' }])
    const policy = await call<{ warnings: unknown }>('GET', `/tenants/${tenant}/policy`)
    expect(policy.status).toBe(200)
    expect(policy.body.warnings).toEqual([{ path: 'rules.customRules.0.examples.match.0', message: 'example does not match' }])
    // The dry run of the stored config runs too.
    const dry = await call('POST', `/tenants/${tenant}/test`, { body: { direction: 'server_to_client', message: { jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'see ACME-123456' }] } } } })
    expect(dry.status).toBe(200)
  })

  it('still checks them on every write: a save, a dry run of a proposed config and a rollback name the example', async () => {
    const tenant = uniqueId('stale-wr')
    const origin = { url: 'https://origin.example/mcp' }
    await createTenant(tenant, { origin, policy: { rules: { customRules: [rule()] } } })
    await storeStale(tenant)
    const issue = { path: 'policy.rules.customRules.0.examples.match.0', message: 'example does not match' }

    const current = (await call<{ config: Record<string, unknown> }>('GET', `/tenants/${tenant}`)).body.config
    expect(await call<Issues>('PUT', `/tenants/${tenant}`, { body: current })).toMatchObject({ status: 400, body: { error: 'invalid_config', issues: [issue] } })
    const dry = await call<Issues>('POST', `/tenants/${tenant}/test`, { body: { direction: 'server_to_client', message: { jsonrpc: '2.0', id: 2, result: {} }, config: current } })
    expect(dry).toMatchObject({ status: 400, body: { error: 'invalid_config', issues: [{ ...issue, path: `config.${issue.path}` }] } })

    // Fixed, it saves; rolling back to the stored version would write it again, so it is checked as a write.
    expect((await call('PUT', `/tenants/${tenant}`, { body: { origin, policy: { rules: { customRules: [rule()] } } } })).status).toBe(200)
    expect(await call<Issues>('POST', `/tenants/${tenant}/rollback`, { body: { version: 1 } })).toMatchObject({ status: 400, body: { error: 'invalid_config', issues: [issue] } })
    expect((await published(tenant))?.version).toBe(2)
  })
})

describe('a stored custom rule whose id a release gives a shipped rule', { timeout: 30_000 }, () => {
  // Writes refuse a custom rule with a shipped rule's id, so a stored one has it only when a release
  // added the shipped rule after the config was saved. Stood in for here by renaming the stored custom
  // rule (its override and allow entry with it) to `pii-email`, an id the pii pack ships.
  type RpcAnswer = { id: number; result?: { content: Array<{ text: string }> }; error?: { code: number; data: { reason: string; ruleIds?: string[] } } }

  async function renameStored(tenant: string, from: string, to: string): Promise<void> {
    const rename = (json: string): string => json.replaceAll(`"${from}"`, `"${to}"`)
    await runInDurableObject(env.TENANT_CONFIG.getByName(tenant), (_, state) => {
      const row = state.storage.sql.exec<{ config: string }>('SELECT config FROM versions WHERE version = 1').one()
      state.storage.sql.exec('UPDATE versions SET config = ? WHERE version = 1', rename(row.config))
    })
    await env.CONFIG.put(`tenant:${tenant}`, rename((await env.CONFIG.get(`tenant:${tenant}`))!))
    clearTenantCache(tenant)
  }

  async function liveSession(tenant: string): Promise<(message: unknown) => Promise<RpcAnswer>> {
    const { url, headers, initialized } = await openSession(tenant)
    expect(JSON.parse(initialized)).toMatchObject({ id: 0, result: { serverInfo: expect.any(Object) } })
    return async (message) => {
      const answer = await workerFetch(url, { method: 'POST', headers, body: JSON.stringify(message) })
      expect(answer.status).toBe(200)
      return answer.json<RpcAnswer>()
    }
  }

  const echo = (id: number, text: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: text } } })
  const issue = { path: 'policy.rules.customRules.0.id', message: 'rule id pii-email is taken by a shipped rule; choose another' }

  async function stored(tenant: string, origin: { url: string }): Promise<void> {
    // The override blocks the tenant's rule (a pii rule flags by default); the allow entry exempts one ticket.
    const rules = { rules: { 'acme-ticket': { action: 'block' } }, customRules: [rule()], allow: [{ rule: 'acme-ticket', value: 'ACME-000000' }] }
    await createTenant(tenant, { origin, policy: { revealRuleIds: true, rules } })
    await renameStored(tenant, 'acme-ticket', 'pii-email')
  }

  it('keeps the tenant rule working under custom:<id>, with its override and allow entry, beside the shipped rule', async () => {
    const tenant = uniqueId('shipped-id')
    await stored(tenant, { url: inject('jsonOriginUrl') })

    const live = await liveSession(tenant)
    // The tenant's rule still blocks, reported under an id no shipped rule can have.
    expect(await live(echo(1, 'ticket ACME-123456'))).toMatchObject({ id: 1, error: { code: -31001, data: { ruleIds: ['custom:pii-email'] } } })
    // Its allow entry still exempts its value; the shipped pii-email runs as shipped (flag), not with the
    // override the tenant wrote for its own rule.
    const text = 'ticket ACME-000000, mail jane.doe@acme-corp.io'
    expect(await live(echo(2, text))).toMatchObject({ id: 2, result: { content: [{ text }] } })

    const dry = await call<{ verdict: string; findings: Array<{ ruleId: string; pack?: string; action?: string }> }>('POST', `/tenants/${tenant}/test`, {
      body: { direction: 'client_to_server', message: echo(3, 'ticket ACME-123456, mail jane.doe@acme-corp.io') },
    })
    expect(dry.status).toBe(200)
    expect(dry.body.verdict).toBe('block')
    expect(dry.body.findings.map((f) => [f.ruleId, f.pack, f.action]).sort()).toEqual([
      ['custom:pii-email', 'custom', 'block'],
      ['pii-email', 'pii', 'flag'],
    ])
  })

  it('reads back with the id under warnings, and a write must rename the rule', async () => {
    const tenant = uniqueId('shipped-wr')
    const origin = { url: 'https://origin.example/mcp' }
    await stored(tenant, origin)

    const read = await call<{ config: Stored & Record<string, unknown>; warnings: unknown }>('GET', `/tenants/${tenant}`)
    expect(read.status).toBe(200)
    expect(read.body.config.policy.rules.customRules[0]?.id).toBe('pii-email')
    expect(read.body.warnings).toEqual([issue])
    const policy = await call<{ policy: Record<string, unknown>; warnings: unknown }>('GET', `/tenants/${tenant}/policy`)
    expect(policy.status).toBe(200)
    expect(policy.body.warnings).toEqual([{ ...issue, path: 'rules.customRules.0.id' }])

    expect(await call<Issues>('PUT', `/tenants/${tenant}`, { body: read.body.config })).toMatchObject({ status: 400, body: { error: 'invalid_config', issues: [issue] } })
    expect(await call<Issues>('PUT', `/tenants/${tenant}/policy`, { body: policy.body.policy })).toMatchObject({
      status: 400,
      body: { error: 'invalid_config', issues: [{ ...issue, path: 'rules.customRules.0.id' }] },
    })
    expect((await published(tenant))?.version).toBe(1)
  })
})
