/**
 * 2026-07-28 tasks (the `io.modelcontextprotocol/tasks` extension, SEP-2663): a `tools/call` may be answered
 * with a task handle (`resultType: "task"`, the task's fields beside it), the client polls `tasks/get`, which
 * carries the final result, answers the task's input requests with `tasks/update` and stops it with
 * `tasks/cancel`. Each of the three names the task in `Mcp-Name`. The firewall records the tool when the
 * handle passes, as it does for 2025-11-25 tasks, so the task's requests get that tool's kill switch and
 * belong to the verified client whose call created it, and the final result a task carries (on `tasks/get`,
 * or pushed in `notifications/tasks` on a `subscriptions/listen` stream) gets that tool's output-schema
 * check and budget.
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { startFirewall, TEST_ADMIN_TOKEN } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'
import { modernClient } from '../support/clients.js'
import { startModernOrigin } from '../support/modern-origin.js'
import type { ModernOrigin } from '../support/modern-origin.js'
import { postRaw, readSse, startRawOrigin } from '../support/raw.js'
import type { RawOrigin } from '../support/raw.js'

type Json = Record<string, unknown>

const REPORT = {
  name: 'report',
  description: 'Builds a report.',
  inputSchema: { type: 'object' },
  outputSchema: { type: 'object', properties: { n: { type: 'number' }, note: { type: 'string', pattern: '^Token ghp_' }, memo: { type: 'string' } } },
}
const READY: Json = { resultType: 'complete', content: [{ type: 'text', text: 'report ready' }] }
/** A status-only push (no final result): a task waiting for its client's input, with what it asks. */
const ASKING: Json = {
  status: 'input_required',
  statusMessage: 'Waiting for approval of the report.',
  inputRequests: { approve: { method: 'elicitation/create', params: { mode: 'form', message: 'Approve the report?', requestedSchema: { type: 'object', properties: {} } } } },
}
/**
 * The final result the origin's tasks carry, the task its `notifications/tasks` is about, what that push
 * carries in place of the completed task's result when set (a status-only push), and the status message its
 * `tasks/get` and `tasks/cancel` answers carry when set.
 */
const state: { taskResult: Json; notified: string; status: Json | undefined; statusMessage: string | undefined } = { taskResult: READY, notified: '', status: undefined, statusMessage: undefined }
const META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': { extensions: { 'io.modelcontextprotocol/tasks': {} } } }
const NAME_OF: Record<string, string> = { 'tools/call': 'name', 'tasks/get': 'taskId', 'tasks/update': 'taskId', 'tasks/cancel': 'taskId' }

/** What the origin received, but the firewall's own tool listing. */
const hits: Array<{ method: string; name: string | undefined }> = []
let serial = 0

let fw: Firewall
let origin: RawOrigin

beforeAll(async () => {
  origin = await startRawOrigin((req, res, body) => {
    const m = JSON.parse(body) as { id?: unknown; method?: string; params?: Json }
    const now = new Date().toISOString()
    if (m.method !== 'tools/list') hits.push({ method: m.method ?? '', name: req.headers['mcp-name'] as string | undefined })
    if (!('id' in m)) return void res.writeHead(202).end()
    if (m.method === 'subscriptions/listen') {
      const pushed = [
        { jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: {} },
        { jsonrpc: '2.0', method: 'notifications/tasks', params: { taskId: state.notified, createdAt: now, lastUpdatedAt: now, ...(state.status ?? { status: 'completed', result: state.taskResult }) } },
        { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'still listening' } },
      ]
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      return void res.end(pushed.map((p) => `data: ${JSON.stringify(p)}\n\n`).join(''))
    }
    const taskId = m.params?.['taskId']
    const said = state.statusMessage !== undefined ? { statusMessage: state.statusMessage } : {}
    const result =
      m.method === 'tools/list' ? { resultType: 'complete', tools: [REPORT] }
      : m.method === 'tools/call' ? { resultType: 'task', taskId: `mtask-${++serial}`, status: 'working', createdAt: now, lastUpdatedAt: now, ttlMs: 60_000, pollIntervalMs: 100 }
      : m.method === 'tasks/get' ? { resultType: 'complete', taskId, status: 'completed', ...said, createdAt: now, lastUpdatedAt: now, result: state.taskResult }
      : m.method === 'tasks/cancel' ? { resultType: 'complete', taskId, status: 'cancelled', ...said, createdAt: now, lastUpdatedAt: now }
      : { resultType: 'complete' }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }))
  })
  fw = await startFirewall()
  await fw.admin.putTenant('mtasks', { origin: { url: origin.url } })
})

afterAll(async () => {
  await Promise.all([fw?.stop(), origin?.close()])
})

type Answer = { status: number; body: { result?: Json; error?: { code: number; data?: Json } } }

/** A 2026-07-28 request with the metadata headers a v2 client derives from its body (`name`: override `Mcp-Name`). */
async function send(tenant: string, id: number, method: string, params: Json, opts: { name?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const field = NAME_OF[method]
  const mirrored = field === undefined ? undefined : params[field]
  const name = opts.name ?? (typeof mirrored === 'string' ? mirrored : undefined)
  const headers = { 'mcp-method': method, ...(name !== undefined ? { 'mcp-name': name } : {}), ...opts.headers }
  const res = await postRaw(fw.tenantUrl(tenant), { jsonrpc: '2.0', id, method, params: { ...params, _meta: META } }, { protocolVersion: '2026-07-28', headers })
  return { status: res.status, body: (await res.json()) as Answer['body'] }
}

/** Lists (pins) the tool and calls it; the origin answers with a task handle, whose id is returned. */
async function taskOf(tenant: string, headers: Record<string, string> = {}): Promise<string> {
  await send(tenant, 1, 'tools/list', {}, { headers })
  const created = await send(tenant, 2, 'tools/call', { name: 'report', arguments: {} }, { headers })
  expect(created.body.result).toMatchObject({ resultType: 'task', status: 'working' })
  const taskId = created.body.result?.['taskId']
  expect(taskId).toMatch(/^mtask-\d+$/)
  return String(taskId)
}

/**
 * Opens a `subscriptions/listen` stream on which the origin pushes `notifications/tasks` about `taskId`,
 * then a log message, and returns the methods that reached the client with the push's params, if it did.
 * `status`: the push carries it in place of the completed task's result (a status-only push).
 */
async function listen(tenant: string, taskId: string, headers: Record<string, string> = {}, status?: Json): Promise<{ methods: string[]; push: Json | undefined }> {
  state.notified = taskId
  state.status = status
  try {
    const res = await postRaw(fw.tenantUrl(tenant), { jsonrpc: '2.0', id: 9, method: 'subscriptions/listen', params: { notifications: {}, _meta: META } }, { protocolVersion: '2026-07-28', headers: { 'mcp-method': 'subscriptions/listen', ...headers } })
    expect(res.status).toBe(200)
    const read = await readSse(res, { timeoutMs: 5_000 })
    const messages = read.messages as Array<{ method?: string; params?: Json }>
    return { methods: messages.map((m) => m.method ?? ''), push: messages.find((m) => m.method === 'notifications/tasks')?.params }
  } finally {
    state.status = undefined
  }
}

/** The `notifications/tasks` a `subscriptions/listen` stream carries about `taskId`, if it reaches the client. */
async function pushed(tenant: string, taskId: string, headers: Record<string, string> = {}, status?: Json): Promise<Json | undefined> {
  return (await listen(tenant, taskId, headers, status)).push
}

/** What each kind of push about a task carries: its final result, or only its status (with input requests). */
const PUSHES: ReadonlyArray<{ kind: string; slug: string; status: Json | undefined; carried: Json }> = [
  { kind: 'its result', slug: 'result', status: undefined, carried: { status: 'completed' } },
  { kind: 'its status alone', slug: 'status', status: ASKING, carried: { status: 'input_required', statusMessage: ASKING['statusMessage'], inputRequests: ASKING['inputRequests'] } },
]

describe('2026-07-28 task requests and their Mcp-Name header', () => {
  it.each(['tasks/get', 'tasks/update', 'tasks/cancel'])('%s naming its task in Mcp-Name reaches the origin with it', async (method) => {
    const taskId = await taskOf('mtasks')
    const before = hits.length
    const got = await send('mtasks', 3, method, { taskId, ...(method === 'tasks/update' ? { inputResponses: {} } : {}) })
    expect(got.status).toBe(200)
    expect(got.body.error).toBeUndefined()
    expect(hits.slice(before)).toEqual([{ method, name: taskId }])
  })

  it('refuses an Mcp-Name that is not the task the body names, before the origin', async () => {
    const taskId = await taskOf('mtasks')
    const before = hits.length
    const got = await send('mtasks', 3, 'tasks/get', { taskId }, { name: 'mtask-999999' })
    expect(got.status).toBe(400)
    expect(got.body.error?.code).toBe(-32020)
    expect(hits.slice(before)).toEqual([])
  })

  it('lets the v2 SDK client send tasks/get as it does, with Mcp-Name', async () => {
    const modern: ModernOrigin = await startModernOrigin()
    await fw.admin.putTenant('mtasks-sdk', { origin: { url: modern.url } })
    const c = await modernClient(fw.tenantUrl('mtasks-sdk'))
    try {
      // The origin does not serve the extension: what matters is that the request reached it as the client sent it.
      await c.client.request({ method: 'tasks/get', params: { taskId: 'sdk-task-1' } }, z.object({}).passthrough()).catch(() => undefined)
      const call = modern.calls.find((k) => k.headers['mcp-method'] === 'tasks/get')
      expect(call?.headers['mcp-name']).toBe('sdk-task-1')
    } finally {
      await Promise.all([c.close(), modern.close()])
    }
  })
})

describe('a 2026-07-28 task created by a call through the firewall', () => {
  it("is stopped by its tool's kill switch on tasks/get, never reaching the origin", async () => {
    await fw.admin.putTenant('mtasks-kill', { origin: { url: origin.url } })
    const taskId = await taskOf('mtasks-kill')
    const kill = await fetch(new URL('/admin/v1/tenants/mtasks-kill/kill', fw.url), { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ tool: 'report' }) })
    expect(kill.status).toBe(200)
    const before = hits.length
    const got = await send('mtasks-kill', 3, 'tasks/get', { taskId })
    expect(got.body.error?.code).toBe(-31003)
    expect(hits.slice(before)).toEqual([])
  })

  it.each(PUSHES)("has a push of $kind withheld from a listen stream once its tool is killed, as its tasks/get is refused, the stream going on", async ({ slug, status, carried }) => {
    const tenant = `mtasks-kill-push-${slug}`
    await fw.admin.putTenant(tenant, { origin: { url: origin.url } })
    const taskId = await taskOf(tenant)
    expect(await pushed(tenant, taskId, {}, status)).toMatchObject({ taskId, ...carried })
    const kill = await fetch(new URL(`/admin/v1/tenants/${tenant}/kill`, fw.url), { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ tool: 'report' }) })
    expect(kill.status).toBe(200)
    const after = await listen(tenant, taskId, {}, status)
    expect(after.push).toBeUndefined()
    expect(after.methods).toContain('notifications/message')
  })

  it.each(PUSHES)("has a push of $kind withheld from a verified client once the access lists deny it the task's tool", async ({ slug, status, carried }) => {
    const tenant = `mtasks-deny-push-${slug}`
    await fw.admin.putTenant(tenant, { origin: { url: origin.url }, auth: { mode: 'apiKey' } })
    const owner = await fw.admin.issueClientKey(tenant, 'owner')
    const headers = { authorization: `Bearer ${owner.key}` }
    const taskId = await taskOf(tenant, headers)
    expect(await pushed(tenant, taskId, headers, status)).toMatchObject({ taskId, ...carried })
    await fw.admin.putTenant(tenant, { origin: { url: origin.url }, auth: { mode: 'apiKey' }, policy: { tools: { byIdentity: { [owner.id]: { tools: { deny: ['report'] } } } } } })
    const after = await listen(tenant, taskId, headers, status)
    expect(after.push).toBeUndefined()
    expect(after.methods).toContain('notifications/message')
  })

  it.each(PUSHES)('in passthrough mode has a push of $kind reach the listener, as does a push about a task the firewall did not see created', async ({ status, carried }) => {
    const taskId = await taskOf('mtasks')
    expect(await pushed('mtasks', taskId, {}, status)).toMatchObject({ taskId, ...carried })
    expect(await pushed('mtasks', 'mtask-made-elsewhere', {}, status)).toMatchObject({ taskId: 'mtask-made-elsewhere', ...carried })
  })

  describe('for a verified client', () => {
    const tenant = 'mtasks-owner'
    let owner: { id: string; key: string }
    let intruder: { id: string; key: string }
    const as = (who: { key: string }) => ({ authorization: `Bearer ${who.key}` })

    beforeAll(async () => {
      await fw.admin.putTenant(tenant, { origin: { url: origin.url }, auth: { mode: 'apiKey' } })
      owner = await fw.admin.issueClientKey(tenant, 'owner')
      intruder = await fw.admin.issueClientKey(tenant, 'intruder')
    })

    it('is its creator to poll', async () => {
      const taskId = await taskOf(tenant, as(owner))
      const got = await send(tenant, 3, 'tasks/get', { taskId }, { headers: as(owner) })
      expect(got.body.error).toBeUndefined()
      expect(got.body.result).toMatchObject({ taskId, status: 'completed', result: { content: [{ type: 'text', text: 'report ready' }] } })
    })

    it.each(PUSHES)('has a push of $kind reach its creator only, not another client listening', async ({ status, carried }) => {
      const taskId = await taskOf(tenant, as(owner))
      expect(await pushed(tenant, taskId, as(owner), status)).toMatchObject({ taskId, ...carried })
      const other = await listen(tenant, taskId, as(intruder), status)
      expect(other.push).toBeUndefined()
      expect(other.methods).toContain('notifications/message')
    })

    it.each(PUSHES)('has a push of $kind about a task the firewall did not see created withheld from every client', async ({ status }) => {
      for (const who of [owner, intruder]) {
        const got = await listen(tenant, 'mtask-made-elsewhere', as(who), status)
        expect(got.push).toBeUndefined()
        expect(got.methods).toContain('notifications/message')
      }
    })

    it('has a push naming no task withheld from a verified client, as a task request naming none is refused', async () => {
      const got = await listen(tenant, '', as(owner), ASKING)
      expect(got.push).toBeUndefined()
      expect(got.methods).toContain('notifications/message')
    })

    it('is not found for another client, whichever request it sends, and never reaches the origin', async () => {
      const taskId = await taskOf(tenant, as(owner))
      const before = hits.length
      for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
        const got = await send(tenant, 4, method, { taskId, ...(method === 'tasks/update' ? { inputResponses: { answer: { action: 'accept', content: { ok: true } } } } : {}) }, { headers: as(intruder) })
        expect(got.body.result, method).toBeUndefined()
        expect(got.body.error?.code, method).toBe(-32602)
      }
      expect(hits.slice(before)).toEqual([])
    })
  })
})

/** Tokens the tenant's `report` tool has used in its window. */
async function toolUsed(tenant: string): Promise<number> {
  const rows = (await fw.admin.request('GET', `admin/v1/tenants/${tenant}/usage`)).body as { usage: Array<{ scope: string; used: number }> }
  return rows.usage.find((r) => r.scope === 'tool:report')?.used ?? 0
}

describe('the final result a 2026-07-28 task carries', () => {
  const BAD: Json = { resultType: 'complete', content: [{ type: 'text', text: 'x' }], structuredContent: { n: 'not a number' } }
  const LONG: Json = { resultType: 'complete', content: [{ type: 'text', text: 'word '.repeat(400) }] }

  /** With `taskResult` as what the origin's tasks carry, runs `body`, then puts the usual result back. */
  async function carrying<T>(taskResult: Json, body: () => Promise<T>): Promise<T> {
    state.taskResult = taskResult
    try {
      return await body()
    } finally {
      state.taskResult = READY
    }
  }

  it("gets its tool's output-schema check on tasks/get, as the call's own result would", async () => {
    await fw.admin.putTenant('mtasks-schema', { origin: { url: origin.url } })
    const taskId = await taskOf('mtasks-schema')
    const got = await carrying(BAD, () => send('mtasks-schema', 3, 'tasks/get', { taskId }))
    expect(got.body.error).toBeUndefined()
    expect(got.body.result).toMatchObject({ taskId, status: 'completed' })
    const result = got.body.result?.['result'] as Json
    expect(result['isError']).toBe(true)
    expect(result['structuredContent']).toBeUndefined()
    expect(result['content']).toEqual([{ type: 'text', text: 'x' }, expect.objectContaining({ type: 'text' })])
  })

  it("gets its tool's output-schema check when notifications/tasks carries it", async () => {
    await fw.admin.putTenant('mtasks-schema-push', { origin: { url: origin.url } })
    const taskId = await taskOf('mtasks-schema-push')
    const params = await carrying(BAD, () => pushed('mtasks-schema-push', taskId))
    expect(params).toMatchObject({ taskId, status: 'completed' })
    const result = params?.['result'] as Json
    expect(result['isError']).toBe(true)
    expect(result['structuredContent']).toBeUndefined()
  })

  it.each([
    ['breaks its output schema: an isError result instead, on tasks/get and when pushed', 'note', { resultType: 'complete', isError: true, content: [{ type: 'text', text: 'token in use' }] }],
    ['still fits its output schema: kept, redacted, on tasks/get and when pushed', 'memo', { resultType: 'complete', structuredContent: { memo: 'Token [REDACTED:secret] in use.' } }],
  ] as const)('with a secret in its structuredContent whose redaction %s', async (_name, key, expected) => {
    // A fake credential assembled at run time; the `note` pattern holds for it and breaks once it is redacted.
    const token = ['ghp', '_', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'].join('')
    const carried: Json = { resultType: 'complete', content: [{ type: 'text', text: 'token in use' }], structuredContent: { [key]: `Token ${token} in use.` } }
    const tenant = `mtasks-redact-${key}`
    await fw.admin.putTenant(tenant, { origin: { url: origin.url } })
    const taskId = await taskOf(tenant)
    const got = await carrying(carried, () => send(tenant, 3, 'tasks/get', { taskId }))
    const push = await carrying(carried, () => pushed(tenant, taskId))
    for (const [where, task] of [['tasks/get', got.body.result], ['notifications/tasks', push]] as const) {
      expect(task, where).toMatchObject({ taskId, status: 'completed', result: expected })
      const result = task?.['result'] as Json
      if ('isError' in expected) expect(result['structuredContent'], where).toBeUndefined()
      else expect(result['isError'], where).toBeUndefined()
    }
  })

  it("is charged to its tool's budget on tasks/get, and refused past it", async () => {
    const tenant = 'mtasks-budget'
    await fw.admin.putTenant(tenant, { origin: { url: origin.url }, budget: { tokensPerDay: 1_000_000, perTool: { report: { tokensPerDay: 100 } }, leaseFraction: 0 } })
    const first = await taskOf(tenant)
    const before = await toolUsed(tenant)
    const ok = await send(tenant, 3, 'tasks/get', { taskId: first })
    expect(ok.body.result).toMatchObject({ status: 'completed', result: { content: [{ type: 'text', text: 'report ready' }] } })
    expect(await toolUsed(tenant)).toBeGreaterThan(before)
    const second = await taskOf(tenant)
    const got = await carrying(LONG, () => send(tenant, 4, 'tasks/get', { taskId: second }))
    expect(got.body.result).toBeUndefined()
    expect(got.body.error?.code).toBe(-31002)
    expect(got.body.error?.data).toMatchObject({ scope: 'tool', tool: 'report', metric: 'tokens' })
  })

  it("is charged to its tool's budget when notifications/tasks carries it, and withheld past it", async () => {
    const tenant = 'mtasks-budget-push'
    await fw.admin.putTenant(tenant, { origin: { url: origin.url }, budget: { tokensPerDay: 1_000_000, perTool: { report: { tokensPerDay: 100 } }, leaseFraction: 0 } })
    const taskId = await taskOf(tenant)
    const before = await toolUsed(tenant)
    expect(await pushed(tenant, taskId)).toMatchObject({ taskId, result: { content: [{ type: 'text', text: 'report ready' }] } })
    expect(await toolUsed(tenant)).toBeGreaterThan(before)
    expect(await carrying(LONG, () => pushed(tenant, taskId))).toBeUndefined()
  })
})

/**
 * A task's status message is the origin's text, which a client shows its user or model like the task's result:
 * it is charged to the budget of the tool the task runs, wherever it arrives.
 */
describe('the status message of a 2026-07-28 task', () => {
  const SAID = 'Still compiling the quarterly figures, three sections left.'
  const budgeted = async (tenant: string, toolTokens: number) =>
    fw.admin.putTenant(tenant, { origin: { url: origin.url }, budget: { tokensPerDay: 1_000_000, perTool: { report: { tokensPerDay: toolTokens } }, leaseFraction: 0 } })

  /** With `statusMessage` in the origin's tasks/get and tasks/cancel answers, runs `body`, then takes it out. */
  async function saying<T>(statusMessage: string, body: () => Promise<T>): Promise<T> {
    state.statusMessage = statusMessage
    try {
      return await body()
    } finally {
      state.statusMessage = undefined
    }
  }

  it("is charged to its tool's budget on tasks/get, tasks/cancel and a status-only push", async () => {
    const tenant = 'mtasks-status-charged'
    await budgeted(tenant, 1_000_000)
    const taskId = await taskOf(tenant)
    const cases: Array<[string, () => Promise<unknown>, number]> = [
      ['tasks/get', () => saying(SAID, () => send(tenant, 3, 'tasks/get', { taskId })), countTokens(SAID) + countTokens('report ready')],
      ['tasks/cancel', () => saying(SAID, () => send(tenant, 4, 'tasks/cancel', { taskId })), countTokens(SAID)],
      ['notifications/tasks', () => pushed(tenant, taskId, {}, { ...ASKING, statusMessage: SAID }), countTokens(SAID)],
    ]
    for (const [where, run, tokens] of cases) {
      const before = await toolUsed(tenant)
      expect(JSON.stringify(await run()), where).toContain(SAID)
      expect((await toolUsed(tenant)) - before, where).toBe(tokens)
    }
  })

  it("is refused on tasks/get and tasks/cancel, and its push withheld, past its tool's budget", async () => {
    const tenant = 'mtasks-status-spent'
    await budgeted(tenant, 100)
    const taskId = await taskOf(tenant)
    const long = 'word '.repeat(400)
    for (const method of ['tasks/get', 'tasks/cancel']) {
      const got = await saying(long, () => send(tenant, 3, method, { taskId }))
      expect(got.body.result, method).toBeUndefined()
      expect(got.body.error?.code, method).toBe(-31002)
      expect(got.body.error?.data, method).toMatchObject({ scope: 'tool', tool: 'report', metric: 'tokens' })
    }
    const got = await listen(tenant, taskId, {}, { ...ASKING, statusMessage: long })
    expect(got.push).toBeUndefined()
  })
})
