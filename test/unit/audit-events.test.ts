import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { MCP_HEADERS, workerFetch } from '../support/worker/fetch'
import { call, createTenant, uniqueId, warmUp } from './control-support'

beforeAll(warmUp, 30_000)
afterEach(() => void vi.restoreAllMocks())

type Events = { events: Array<Record<string, unknown>> }

/** Every line the Worker writes to its log while `run` runs. */
async function logged(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = []
  for (const level of ['log', 'warn', 'error'] as const) vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')))
  await run()
  vi.restoreAllMocks()
  return lines
}

/** The tenant's security events, once `count` of them are written. */
async function eventsOf(tenant: string, count: number): Promise<Events['events']> {
  let events: Events['events'] = []
  for (let i = 0; i < 50 && events.length < count; i++) {
    events = (await call<Events>('GET', `/tenants/${tenant}/events`)).body.events
    if (events.length < count) await new Promise((r) => setTimeout(r, 50))
  }
  return events
}

const post = (tenant: string, message: unknown) =>
  workerFetch(`https://fw.example/t/${tenant}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, 'mcp-protocol-version': '2025-06-18' }, body: JSON.stringify(message) })

describe('security events', { timeout: 30_000 }, () => {
  it('keep a bounded tool name, however long the name a client sends', async () => {
    const tenant = uniqueId('ev-tool')
    await createTenant(tenant, { origin: { url: inject('jsonOriginUrl') }, policy: { tools: { deny: ['wipe*'] } } })
    const name = `wipe_${'x'.repeat(100_000)}`
    const lines = await logged(async () => {
      const res = await post(tenant, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } })
      expect(await res.json()).toMatchObject({ error: { code: -31001 } })
    })
    const [event] = await eventsOf(tenant, 1)
    expect(event).toMatchObject({ verdict: 'block', ruleIds: ['tool-deny-list'] })
    expect(String(event?.['tool']).length).toBeLessThanOrEqual(200)
    expect(String(event?.['tool'])).toMatch(/^wipe_x+…$/)
    const verdict = lines.find((l) => l.includes('"event":"verdict"'))
    expect(verdict).toBeDefined()
    expect(verdict?.length).toBeLessThan(1000)
  })
})

describe('security events of a secret in a tool name', { timeout: 30_000 }, () => {
  it.each([
    ['that blocked the call', false],
    ['that monitor mode let through, nor in the tool checks that follow', true],
  ])('never write the secret %s, in the events or the log', async (_name, monitor) => {
    const tenant = uniqueId('ev-secret-tool')
    await createTenant(tenant, { origin: { url: inject('jsonOriginUrl') }, policy: { monitor } })
    const secret = ['ghp', '_', 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2'].join('')
    const lines = await logged(async () => {
      const res = await post(tenant, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: `lookup ${secret}`, arguments: {} } })
      if (!monitor) expect(await res.json()).toMatchObject({ error: { code: -31001, data: { reason: 'secret' } } })
      else await res.body?.cancel()
    })
    const events = await eventsOf(tenant, monitor ? 2 : 1)
    expect(events.find((e) => e['direction'] === 'client_to_server' && (e['kinds'] as string[]).includes('secret'))).toMatchObject({ verdict: 'block', monitor, tool: 'lookup [REDACTED:secret]' })
    // In monitor mode the call goes on to the tool checks, which record the unreviewed tool under its name too.
    if (monitor) expect(events.some((e) => (e['ruleIds'] as string[]).some((id) => id.startsWith('tool-')))).toBe(true)
    expect(JSON.stringify(events)).not.toContain(secret)
    expect(lines.some((l) => l.includes('"event":"verdict"'))).toBe(true)
    for (const line of lines) expect(line).not.toContain(secret)
  })
})

describe('security events of a batch that fails part-way', { timeout: 30_000 }, () => {
  it('keep what was recorded before the failure', async () => {
    const tenant = uniqueId('ev-batch')
    // A closed port: the firewall's own listing of the origin's tools, before a call to an unseen tool, fails.
    await createTenant(tenant, { origin: { url: 'http://127.0.0.1:9/mcp' }, policy: { tools: { deny: ['wipe*'] } } })
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'wipe_all', arguments: {} } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'never_listed', arguments: {} } },
    ]
    const res = await workerFetch(`https://fw.example/t/${tenant}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, 'mcp-protocol-version': '2025-03-26' }, body: JSON.stringify(batch) })
    expect(res.status).toBe(502)
    await res.body?.cancel()
    const events = await eventsOf(tenant, 1)
    expect(events).toMatchObject([{ verdict: 'block', ruleIds: ['tool-deny-list'] }])
  })
})

describe('security events of metadata headers', { timeout: 30_000 }, () => {
  it('record a request refused for what its Mcp-Param header carries', async () => {
    const tenant = uniqueId('ev-param')
    await createTenant(tenant, { origin: { url: inject('jsonOriginUrl') } })
    const secret = ['ghp', '_', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'].join('')
    const body = { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' }, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } }
    const res = await workerFetch(`https://fw.example/t/${tenant}/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo', 'mcp-param-x-extra': secret },
      body: JSON.stringify(body),
    })
    expect(await res.json()).toMatchObject({ id: 11, error: { code: -31001 } })
    const [event] = await eventsOf(tenant, 1)
    expect(event).toMatchObject({ verdict: 'block', direction: 'client_to_server', method: 'tools/call', tool: 'echo', kinds: ['secret'] })
  })
})

describe('admin write audit', { timeout: 30_000 }, () => {
  it('records a write however long its path, with the path clipped', async () => {
    const tenant = uniqueId('ev-admin')
    const origin = 'https://origin.example/mcp'
    await createTenant(tenant, { origin: { url: origin } })
    // A tool name of 200 characters is a valid pin name; percent-encoded in the path it is far longer.
    const name = `send_${'ё'.repeat(195)}`
    const observed = await env.TOOL_PINS.getByName(tenant).observe({
      tenant, origin, volatile: [], items: [{ kind: 'tool', name, definition: '{"name":"x"}', scan: { held: true, score: 1, findings: [] } }],
    })
    expect(observed?.pending).toHaveLength(1)
    expect((await call('POST', `/tenants/${tenant}/tools/${encodeURIComponent(name)}/approve`, { body: { origin } })).status).toBe(200)
    let events: Array<{ method: string; path: string }> = []
    for (let i = 0; i < 50 && events.length === 0; i++) {
      events = (await call<{ events: typeof events }>('GET', `/tenants/${tenant}/events?kind=admin`)).body.events.filter((e) => e.path.includes('/tools/'))
      if (events.length === 0) await new Promise((r) => setTimeout(r, 50))
    }
    expect(events).toHaveLength(1)
    expect(events[0]?.path.length).toBeLessThanOrEqual(500)
    expect(events[0]?.path).toMatch(new RegExp(`^/admin/v1/tenants/${tenant}/tools/send_(%D1%91)+.*…$`))
  })
})
