/**
 * 2025-11-25 tasks: a task-augmented `tools/call` answers with a task id, and its result comes later from
 * `tasks/result`, which names only the task. The firewall records the tool when the task is created, so
 * the result gets that tool's checks: its output schema, its own budget, its kill switch. What the origin
 * pushes about a task on a session's stream (`notifications/tasks/status`) gets the checks its `tasks/get` would.
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFirewall, TEST_ADMIN_TOKEN } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'
import { getStream, initializeRequest, postRaw, readSse, startRawOrigin } from '../support/raw.js'
import { startOrigin } from '../support/origin.js'
import type { Origin } from '../support/origin.js'
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

  it("is refused before the origin once its tool's token budget is spent, like a call to the tool", async () => {
    const tenant = 'task-budget-spent'
    const config = (toolLimit: number) => ({ origin: { url: origin.url }, budget: { tokensPerDay: 1_000_000, perTool: { report: { tokensPerDay: toolLimit } }, leaseFraction: 0 } })
    await fw.admin.putTenant(tenant, config(1_000_000))
    const first = await taskOf(tenant)
    const second = await taskOf(tenant)
    expect((await send(tenant, { id: 3, method: 'tasks/result', params: { taskId: first } })).body.result).toBeDefined()
    // The tool's window now holds exactly what it was charged: not one token is left for the second result.
    const rows = (await fw.admin.request('GET', `admin/v1/tenants/${tenant}/usage`)).body as { usage: Array<{ scope: string; used: number }> }
    const used = rows.usage.find((r) => r.scope === 'tool:report')?.used ?? 0
    expect(used).toBeGreaterThan(0)
    await fw.admin.putTenant(tenant, config(used))
    const before = hits.length
    const got = await send(tenant, { id: 4, method: 'tasks/result', params: { taskId: second } })
    expect(got.body.error?.code).toBe(-31002)
    expect(got.body.error?.data).toMatchObject({ scope: 'tool', tool: 'report', metric: 'tokens' })
    expect(hits.slice(before)).not.toContain('tasks/result')
    // Only the tool's tokens are spent: other requests of the tenant still go through.
    expect((await send(tenant, { id: 5, method: 'tools/list' })).body.result).toBeDefined()
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

  it('is refused to its creator once the access lists deny it the tool, like a call to the tool', async () => {
    await fw.admin.putTenant('task-identity', { origin: { url: origin.url }, auth: { mode: 'apiKey' } })
    const owner = await fw.admin.issueClientKey('task-identity', 'owner')
    const taskId = await taskOf('task-identity', { authorization: `Bearer ${owner.key}` })
    await fw.admin.putTenant('task-identity', { origin: { url: origin.url }, auth: { mode: 'apiKey' }, policy: { tools: { byIdentity: { [owner.id]: { tools: { deny: ['report'] } } } } } })
    const before = hits.length
    const got = await send('task-identity', { id: 3, method: 'tasks/result', params: { taskId } }, { authorization: `Bearer ${owner.key}` })
    expect(got.body.error?.code).toBe(-31001)
    expect(got.body.error?.data).toMatchObject({ reason: 'tool-not-allowed' })
    expect(hits.slice(before)).not.toContain('tasks/result')
  })
})

/**
 * In apiKey and jwt mode the origin gets the firewall's credential for every client, so an origin that does
 * not bind tasks to sessions (a stateless SDK origin) hands any client's task to any other. The firewall
 * binds each task to the identity whose call created it.
 */
describe('a task of one verified client', () => {
  let sdk: Origin
  let owner: { id: string; key: string }
  let intruder: { id: string; key: string }
  const tenant = 'task-owner'

  beforeAll(async () => {
    sdk = await startOrigin({ mode: 'json', stateful: false, tasks: true })
    await fw.admin.putTenant(tenant, { origin: { url: sdk.url }, auth: { mode: 'apiKey' } })
    owner = await fw.admin.issueClientKey(tenant, 'owner')
    intruder = await fw.admin.issueClientKey(tenant, 'intruder')
  })
  afterAll(async () => {
    await sdk?.close()
  })

  const as = (who: { key: string }) => ({ authorization: `Bearer ${who.key}` })
  const sent = (method: string) => sdk.calls.filter((c) => (c.body as { method?: string } | undefined)?.method === method).length

  /** A task of `echo` the owner created; its result is ready at once. */
  async function ownersTask(): Promise<string> {
    await send(tenant, { id: 1, method: 'tools/list' }, as(owner))
    const created = await send(tenant, { id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'owner only' }, task: { ttl: 60_000 } } }, as(owner))
    const taskId = (created.body.result?.['task'] as { taskId?: string } | undefined)?.taskId
    expect(typeof taskId).toBe('string')
    return taskId ?? ''
  }

  it('is its own to read, fetch and list', async () => {
    const taskId = await ownersTask()
    const got = await send(tenant, { id: 3, method: 'tasks/get', params: { taskId } }, as(owner))
    expect(got.body.result).toMatchObject({ taskId, status: 'completed' })
    const result = await send(tenant, { id: 4, method: 'tasks/result', params: { taskId } }, as(owner))
    expect(JSON.stringify(result.body.result?.['content'])).toContain('owner only')
    const list = await send(tenant, { id: 5, method: 'tasks/list' }, as(owner))
    expect((list.body.result?.['tasks'] as Array<{ taskId: string }>).map((t) => t.taskId)).toContain(taskId)
  })

  it('is not found for another client of the tenant, exactly as a task that never existed, and never reaches the origin', async () => {
    const taskId = await ownersTask()
    const made = `${taskId.slice(0, -4)}0000` // same form, never issued
    const before = { get: sent('tasks/get'), result: sent('tasks/result'), cancel: sent('tasks/cancel') }
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel']) {
      const theirs = await send(tenant, { id: 6, method, params: { taskId } }, as(intruder))
      const none = await send(tenant, { id: 6, method, params: { taskId: made } }, as(intruder))
      expect(theirs.body.result, method).toBeUndefined()
      expect(theirs.body.error?.code, method).toBe(-32602)
      const strip = (b: typeof theirs.body) => ({ ...b, error: { ...b.error, data: { ...b.error?.data, requestId: '' } } })
      expect(strip(theirs.body), method).toEqual(strip(none.body))
      expect(theirs.status, method).toBe(none.status)
    }
    expect({ get: sent('tasks/get'), result: sent('tasks/result'), cancel: sent('tasks/cancel') }).toEqual(before)
    // The owner's task was not cancelled, and is still the owner's.
    const own = await send(tenant, { id: 7, method: 'tasks/get', params: { taskId } }, as(owner))
    expect(own.body.result).toMatchObject({ taskId, status: 'completed' })
  })

  it('is bound with tool integrity off too: a verified caller always gets its tasks recorded', async () => {
    await fw.admin.putTenant(tenant, { origin: { url: sdk.url }, auth: { mode: 'apiKey' }, policy: { tools: { pinning: 'off' } } })
    try {
      const taskId = await ownersTask()
      const theirs = await send(tenant, { id: 6, method: 'tasks/result', params: { taskId } }, as(intruder))
      expect(theirs.body.error?.code).toBe(-32602)
      const own = await send(tenant, { id: 7, method: 'tasks/result', params: { taskId } }, as(owner))
      expect(JSON.stringify(own.body.result?.['content'])).toContain('owner only')
    } finally {
      await fw.admin.putTenant(tenant, { origin: { url: sdk.url }, auth: { mode: 'apiKey' } })
    }
  })

  it("is left out of another client's tasks/list", async () => {
    const taskId = await ownersTask()
    const list = await send(tenant, { id: 8, method: 'tasks/list' }, as(intruder))
    expect(list.body.error).toBeUndefined()
    expect((list.body.result?.['tasks'] as Array<{ taskId: string }>).map((t) => t.taskId)).not.toContain(taskId)
    expect(list.body.result?.['tasks']).toEqual([])
  })
})

/**
 * `notifications/tasks/status`, which the origin sends on a session's stream whenever a task's status
 * changes. An origin whose task store is not per session (it sees the firewall's credential for every
 * client in apiKey and jwt mode) may push one client's task to another client's session: the push gets the
 * checks the task's `tasks/get` would, ownership first.
 */
describe('a 2025-11-25 task status push on a session stream', () => {
  let pusher: RawOrigin
  /** The task the origin's session streams push a status about. */
  const pushing = { taskId: '' }
  let sessions = 0

  beforeAll(async () => {
    pusher = await startRawOrigin((req, res, body) => {
      if (req.method === 'GET') {
        const now = new Date().toISOString()
        const pushed = [
          { jsonrpc: '2.0', method: 'notifications/tasks/status', params: { taskId: pushing.taskId, status: 'input_required', statusMessage: 'Waiting for approval of the report.', createdAt: now, lastUpdatedAt: now, ttl: 60_000, pollInterval: 100 } },
          { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'still listening' } },
        ]
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        return void res.end(pushed.map((p) => `data: ${JSON.stringify(p)}\n\n`).join(''))
      }
      const m = JSON.parse(body) as { id?: unknown; method?: string; params?: Json }
      if (!('id' in m)) return void res.writeHead(202).end()
      const now = new Date().toISOString()
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (m.method === 'initialize') headers['mcp-session-id'] = `push-session-${++sessions}`
      const result =
        m.method === 'initialize' ? { protocolVersion: '2025-11-25', capabilities: { tools: {}, tasks: { requests: { tools: { call: {} } } } }, serverInfo: { name: 'pusher', version: '1.0.0' } }
        : m.method === 'tools/list' ? { tools: [REPORT] }
        : m.method === 'tools/call' && m.params?.['task'] ? { task: { taskId: `ptask-${++serial}`, status: 'working', createdAt: now, lastUpdatedAt: now, ttl: 60_000 } }
        : {}
      res.writeHead(200, headers).end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }))
    })
  })
  afterAll(async () => {
    await pusher?.close()
  })

  /** A session opened through the firewall (`headers`: the client's credentials), its id as the client holds it. */
  async function open(tenant: string, headers: Record<string, string>): Promise<string> {
    const init = await postRaw(fw.tenantUrl(tenant), initializeRequest(1), { headers })
    await init.text()
    const sessionId = init.headers.get('mcp-session-id')
    expect(init.status).toBe(200)
    expect(sessionId).toBeTruthy()
    const ack = await postRaw(fw.tenantUrl(tenant), { jsonrpc: '2.0', method: 'notifications/initialized' }, { sessionId: sessionId ?? '', protocolVersion: '2025-11-25', headers })
    expect(ack.status).toBe(202)
    return sessionId ?? ''
  }

  /** Lists (pins) the tool in the session and makes a task-augmented call to it; the task's id. */
  async function taskIn(tenant: string, sessionId: string, headers: Record<string, string>): Promise<string> {
    const post = async (message: Json) => (await (await postRaw(fw.tenantUrl(tenant), { jsonrpc: '2.0', ...message }, { sessionId, protocolVersion: '2025-11-25', headers })).json()) as { result?: Json }
    await post({ id: 2, method: 'tools/list' })
    const created = await post({ id: 3, method: 'tools/call', params: { name: 'report', arguments: {}, task: { ttl: 60_000 } } })
    const taskId = (created.result?.['task'] as { taskId?: string } | undefined)?.taskId
    expect(taskId).toMatch(/^ptask-\d+$/)
    return taskId ?? ''
  }

  /** Opens the session's GET stream, on which the origin pushes a status about `taskId`, then a log message. */
  async function listen(tenant: string, sessionId: string, headers: Record<string, string>, taskId: string): Promise<{ methods: string[]; push: Json | undefined }> {
    pushing.taskId = taskId
    const res = await getStream(fw.tenantUrl(tenant), { sessionId, protocolVersion: '2025-11-25', headers })
    expect(res.status).toBe(200)
    const messages = (await readSse(res, { timeoutMs: 5_000 })).messages as Array<{ method?: string; params?: Json }>
    return { methods: messages.map((m) => m.method ?? ''), push: messages.find((m) => m.method === 'notifications/tasks/status')?.params }
  }

  describe('in apiKey mode', () => {
    const tenant = 'task-push-owner'
    let owner: { id: string; key: string }
    let intruder: { id: string; key: string }
    const as = (who: { key: string }) => ({ authorization: `Bearer ${who.key}` })

    beforeAll(async () => {
      await fw.admin.putTenant(tenant, { origin: { url: pusher.url }, auth: { mode: 'apiKey' } })
      owner = await fw.admin.issueClientKey(tenant, 'owner')
      intruder = await fw.admin.issueClientKey(tenant, 'intruder')
    })

    it("reaches the task's creator on its own session's stream", async () => {
      const session = await open(tenant, as(owner))
      const taskId = await taskIn(tenant, session, as(owner))
      expect((await listen(tenant, session, as(owner), taskId)).push).toMatchObject({ taskId, status: 'input_required', statusMessage: 'Waiting for approval of the report.' })
    })

    it("is withheld from another client's session stream, the stream going on", async () => {
      const taskId = await taskIn(tenant, await open(tenant, as(owner)), as(owner))
      const got = await listen(tenant, await open(tenant, as(intruder)), as(intruder), taskId)
      expect(got.push).toBeUndefined()
      expect(got.methods).toContain('notifications/message')
    })

    it('is withheld from every client when it names a task the firewall did not see created, or none', async () => {
      for (const who of [owner, intruder]) {
        const session = await open(tenant, as(who))
        for (const taskId of ['ptask-made-elsewhere', '']) {
          const got = await listen(tenant, session, as(who), taskId)
          expect(got.push, taskId).toBeUndefined()
          expect(got.methods, taskId).toContain('notifications/message')
        }
      }
    })

    it("is withheld from its creator once the access lists deny it the task's tool", async () => {
      const denying = 'task-push-deny'
      await fw.admin.putTenant(denying, { origin: { url: pusher.url }, auth: { mode: 'apiKey' } })
      const key = await fw.admin.issueClientKey(denying, 'owner')
      const session = await open(denying, as(key))
      const taskId = await taskIn(denying, session, as(key))
      expect((await listen(denying, session, as(key), taskId)).push).toMatchObject({ taskId })
      await fw.admin.putTenant(denying, { origin: { url: pusher.url }, auth: { mode: 'apiKey' }, policy: { tools: { byIdentity: { [key.id]: { tools: { deny: ['report'] } } } } } })
      const got = await listen(denying, session, as(key), taskId)
      expect(got.push).toBeUndefined()
      expect(got.methods).toContain('notifications/message')
    })
  })

  describe('in passthrough mode', () => {
    it('reaches the listener whichever task it is about, as before', async () => {
      await fw.admin.putTenant('task-push-open', { origin: { url: pusher.url } })
      const session = await open('task-push-open', {})
      const taskId = await taskIn('task-push-open', session, {})
      for (const id of [taskId, 'ptask-made-elsewhere']) expect((await listen('task-push-open', session, {}, id)).push).toMatchObject({ taskId: id, status: 'input_required' })
    })

    it("is withheld once the task's tool is killed, the stream going on", async () => {
      const tenant = 'task-push-kill'
      await fw.admin.putTenant(tenant, { origin: { url: pusher.url } })
      const session = await open(tenant, {})
      const taskId = await taskIn(tenant, session, {})
      expect((await listen(tenant, session, {}, taskId)).push).toMatchObject({ taskId })
      const kill = await fetch(new URL(`/admin/v1/tenants/${tenant}/kill`, fw.url), { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ tool: 'report' }) })
      expect(kill.status).toBe(200)
      const got = await listen(tenant, session, {}, taskId)
      expect(got.push).toBeUndefined()
      expect(got.methods).toContain('notifications/message')
    })

    it("has its status message charged to the task's tool budget, and is withheld past it", async () => {
      const tenant = 'task-push-budget'
      const config = (toolTokens: number) => ({ origin: { url: pusher.url }, budget: { tokensPerDay: 1_000_000, perTool: { report: { tokensPerDay: toolTokens } }, leaseFraction: 0 } })
      const toolUsed = async (): Promise<number> => {
        const rows = (await fw.admin.request('GET', `admin/v1/tenants/${tenant}/usage`)).body as { usage: Array<{ scope: string; used: number }> }
        return rows.usage.find((r) => r.scope === 'tool:report')?.used ?? 0
      }
      await fw.admin.putTenant(tenant, config(1_000_000))
      const session = await open(tenant, {})
      const taskId = await taskIn(tenant, session, {})
      const before = await toolUsed()
      expect((await listen(tenant, session, {}, taskId)).push).toMatchObject({ taskId, statusMessage: 'Waiting for approval of the report.' })
      const used = await toolUsed()
      expect(used - before).toBe(countTokens('Waiting for approval of the report.'))
      // Not one token left for the tool: the next status is withheld, the stream going on.
      await fw.admin.putTenant(tenant, config(used))
      const got = await listen(tenant, session, {}, taskId)
      expect(got.push).toBeUndefined()
      expect(got.methods).toContain('notifications/message')
    })
  })
})
