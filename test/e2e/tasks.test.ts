/**
 * 2025-11-25 tasks: a task-augmented `tools/call` answers with a task id, and its result comes later from
 * `tasks/result`, which names only the task. The firewall records the tool when the task is created, so
 * the result gets that tool's checks: its output schema, its own budget, its kill switch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFirewall, TEST_ADMIN_TOKEN } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'
import { postRaw, startRawOrigin } from '../support/raw.js'
import type { RawOrigin } from '../support/raw.js'

type Json = Record<string, unknown>

const REPORT = { name: 'report', description: 'Builds a report.', inputSchema: { type: 'object' }, outputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } }
const state = { taskResult: { content: [{ type: 'text', text: '{"n":1}' }], structuredContent: { n: 1 } } as Json }
const hits: string[] = []
let serial = 0

let fw: Firewall
let origin: RawOrigin

beforeAll(async () => {
  origin = await startRawOrigin((_req, res, body) => {
    const m = JSON.parse(body) as { id?: unknown; method?: string; params?: Json }
    hits.push(m.method ?? '')
    if (!('id' in m)) return void res.writeHead(202).end()
    const now = new Date().toISOString()
    const result =
      m.method === 'tools/list' ? { tools: [REPORT] }
      : m.method === 'tools/call' && m.params?.['task'] ? { task: { taskId: `task-${++serial}`, status: 'working', createdAt: now, lastUpdatedAt: now, ttl: 60_000 } }
      : m.method === 'tasks/result' ? state.taskResult
      : { content: [{ type: 'text', text: 'ok' }] }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }))
  })
  fw = await startFirewall()
})

afterAll(async () => {
  await Promise.all([fw?.stop(), origin?.close()])
})

const send = async (tenant: string, message: Json, headers: Record<string, string> = {}): Promise<{ status: number; body: { result?: Json; error?: { code: number; data?: Json } } }> => {
  const res = await postRaw(fw.tenantUrl(tenant), { jsonrpc: '2.0', ...message }, { protocolVersion: '2025-11-25', headers })
  return { status: res.status, body: (await res.json()) as { result?: Json; error?: { code: number; data?: Json } } }
}

/** Pins the tool, creates a task for it and returns the task id. */
async function taskOf(tenant: string, headers: Record<string, string> = {}): Promise<string> {
  await send(tenant, { id: 1, method: 'tools/list' }, headers)
  const created = await send(tenant, { id: 2, method: 'tools/call', params: { name: 'report', arguments: {}, task: { ttl: 60_000 } } }, headers)
  const task = created.body.result?.['task'] as { taskId?: string } | undefined
  expect(task?.taskId).toMatch(/^task-\d+$/)
  return task?.taskId ?? ''
}

describe('a task created by a call through the firewall', () => {
  it("gets its tool's output-schema check on tasks/result", async () => {
    await fw.admin.putTenant('task-schema', { origin: { url: origin.url } })
    const taskId = await taskOf('task-schema')
    state.taskResult = { content: [{ type: 'text', text: 'x' }], structuredContent: { n: 'not a number' } }
    try {
      const got = await send('task-schema', { id: 3, method: 'tasks/result', params: { taskId } })
      expect(got.body.result?.['isError']).toBe(true)
      expect(got.body.result?.['structuredContent']).toBeUndefined()
    } finally {
      state.taskResult = { content: [{ type: 'text', text: '{"n":1}' }], structuredContent: { n: 1 } }
    }
  })

  it("is charged to its tool's own budget on tasks/result", async () => {
    await fw.admin.putTenant('task-budget', { origin: { url: origin.url }, budget: { tokensPerMinute: 1_000_000, perTool: { report: { tokensPerMinute: 50 } }, leaseFraction: 0 } })
    const taskId = await taskOf('task-budget')
    state.taskResult = { content: [{ type: 'text', text: 'word '.repeat(400) }] }
    try {
      const got = await send('task-budget', { id: 3, method: 'tasks/result', params: { taskId } })
      expect(got.body.error?.code).toBe(-31002)
      expect(got.body.error?.data).toMatchObject({ scope: 'tool', tool: 'report' })
    } finally {
      state.taskResult = { content: [{ type: 'text', text: '{"n":1}' }], structuredContent: { n: 1 } }
    }
  })

  it("is stopped by its tool's kill switch, never reaching the origin", async () => {
    await fw.admin.putTenant('task-kill', { origin: { url: origin.url } })
    const taskId = await taskOf('task-kill')
    const kill = await fetch(new URL('/admin/v1/tenants/task-kill/kill', fw.url), { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ tool: 'report' }) })
    expect(kill.status).toBe(200)
    const before = hits.length
    const got = await send('task-kill', { id: 3, method: 'tasks/result', params: { taskId } })
    expect(got.body.error?.code).toBe(-31003)
    expect(hits.slice(before)).not.toContain('tasks/result')
  })
  it('is refused once the tenant denies its tool, like a call to the tool', async () => {
    await fw.admin.putTenant('task-deny', { origin: { url: origin.url }, policy: { tools: { deny: ['debug_*'] } } })
    const taskId = await taskOf('task-deny')
    await fw.admin.putTenant('task-deny', { origin: { url: origin.url }, policy: { tools: { deny: ['debug_*', 'report'] } } })
    const before = hits.length
    for (const method of ['tasks/result', 'tasks/get', 'tasks/cancel']) {
      const got = await send('task-deny', { id: 3, method, params: { taskId } })
      expect(got.body.error?.code, method).toBe(-31001)
      expect(got.body.result, method).toBeUndefined()
    }
    expect(hits.slice(before)).toEqual([])
  })

  it('is refused to an identity the access lists do not allow its tool, whoever created it', async () => {
    await fw.admin.putTenant('task-identity', { origin: { url: origin.url }, auth: { mode: 'apiKey' } })
    const issue = async (name: string) => (await fw.admin.request('POST', '/admin/v1/tenants/task-identity/client-keys', { body: { name } })).body as { id: string; key: string }
    const [allowed, narrowed] = [await issue('allowed'), await issue('narrowed')]
    await fw.admin.putTenant('task-identity', { origin: { url: origin.url }, auth: { mode: 'apiKey' }, policy: { tools: { byIdentity: { [narrowed.id]: { tools: { deny: ['report'] } } } } } })
    const taskId = await taskOf('task-identity', { authorization: `Bearer ${allowed.key}` })
    const refusedCall = await send('task-identity', { id: 4, method: 'tools/call', params: { name: 'report', arguments: {} } }, { authorization: `Bearer ${narrowed.key}` })
    expect(refusedCall.body.error?.code).toBe(-31001)
    const before = hits.length
    const got = await send('task-identity', { id: 3, method: 'tasks/result', params: { taskId } }, { authorization: `Bearer ${narrowed.key}` })
    expect(got.body.error?.code).toBe(-31001)
    expect(got.body.error?.data).toMatchObject({ reason: 'tool-not-allowed' })
    expect(hits.slice(before)).not.toContain('tasks/result')
    // The identity the lists allow still gets it.
    const own = await send('task-identity', { id: 5, method: 'tasks/result', params: { taskId } }, { authorization: `Bearer ${allowed.key}` })
    expect(own.body.result?.['structuredContent']).toEqual({ n: 1 })
  })
})
