/**
 * Seeded fuzzing of the MCP wire through the real firewall (machinery in `test/support/fuzz.ts`):
 * mangled client requests, mangled origin answers in JSON and SSE, GET streams and DELETEs. Every
 * exchange is held to the firewall's promises: a documented status and a well-formed body, never a 500
 * or internal detail; the origin receives only the firewall's own serialisation of what it inspected,
 * and never a request carrying a secret; no secret or injection the origin sends reaches the client.
 * Afterwards the budget object has charged exactly one request per request the origin received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOUNDED_SECRET, CASES, INJECTION, SECRET, SEED, answerValidly, checkAnswer, frameSse, int, mutate, pick, seenOf, startFuzzRig, withoutHandles } from '../support/fuzz.js'
import type { Json, Rng, FuzzRig } from '../support/fuzz.js'
import { mulberry32 } from '../support/random.js'

let rig: FuzzRig
beforeAll(async () => {
  rig = await startFuzzRig()
})
afterAll(() => rig?.stop())

const REQUESTS: Json[] = [
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} },
  { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'lookup', arguments: { query: 'weather in Paris' } } },
  { jsonrpc: '2.0', id: 'r-4', method: 'resources/read', params: { uri: 'file:///readme' } },
  { jsonrpc: '2.0', id: 5, method: 'prompts/get', params: { name: 'greet', arguments: { name: 'Ada' } } },
  { jsonrpc: '2.0', id: 6, method: 'ping' },
  { jsonrpc: '2.0', id: 'srv-1', result: { action: 'accept', content: { answer: 'yes' } } },
  { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 3, reason: 'user' } },
]

/** A client leaking a credential in a call's arguments: the request must be refused, never forwarded with it. */
const LEAKING_CALL: Json = { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'lookup', arguments: { query: `aws_access_key_id = ${SECRET}` } } }

const CONTENT_TYPES = ['application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', '', 'multipart/form-data; boundary=x', 'application/json-seq', null]
const VERSIONS = ['2025-11-25', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '1999-01-01', '']

describe('fuzzed client requests', () => {
  it(`holds the firewall's promises over ${CASES} mangled requests (seed ${SEED})`, async () => {
    rig.answer = answerValidly
    const rng = mulberry32(SEED)
    // One case in ten is the leaking call, well labelled so that it reaches inspection unless mangled. Its
    // own stream decides which, so every other case is the same as without it.
    const leakRng = mulberry32(SEED ^ 0x1eaf)
    const tally = { forwarded: 0, refused: 0, secretsRefused: 0, statuses: new Map<number, number>() }
    for (let n = 0; n < CASES; n++) {
      const leaks = leakRng() < 0.1
      const picked = pick(rng, REQUESTS)
      const base = leaks ? LEAKING_CALL : picked
      const { text, how } = mutate(rng, base)
      const contentType = leaks ? 'application/json' : pick(rng, CONTENT_TYPES)
      const version = leaks ? '2025-11-25' : pick(rng, VERSIONS)
      const before = rig.hits.length
      const where = `case ${n} (seed ${SEED}, ${how}, content-type ${String(contentType)}, version ${version}): ${text.slice(0, 200)}`
      const seen = await rig.post(text, contentType, version ? { 'mcp-protocol-version': version } : {})
      tally.statuses.set(seen.status, (tally.statuses.get(seen.status) ?? 0) + 1)
      try {
        const messages = checkAnswer(seen)
        const forwarded = rig.hits.slice(before)
        for (const hit of forwarded) {
          // Fail closed: only the firewall's own serialisation of a parsed message goes out, labelled as such.
          expect(JSON.stringify(JSON.parse(hit.body))).toBe(hit.body)
          expect(hit.headers['content-type']).toBe('application/json')
          // Ids are correlation handles the client echoes, not content a model writes: not scanned.
          expect(JSON.stringify(withoutHandles(JSON.parse(hit.body) as Json))).not.toContain(SECRET)
        }
        if (forwarded.length > 0) tally.forwarded++
        else tally.refused++
        if (BOUNDED_SECRET.test(text) && messages.some((m) => (m as { error?: { code?: unknown } }).error?.code === -31001)) tally.secretsRefused++
      } catch (err) {
        throw new Error(`${where}\n→ ${seen.status} ${seen.text.slice(0, 300)}\n${String(err)}`)
      }
    }
    // The run must exercise both outcomes, or it proves nothing.
    expect(tally.forwarded, JSON.stringify([...tally.statuses])).toBeGreaterThan(CASES * 0.1)
    expect(tally.refused, JSON.stringify([...tally.statuses])).toBeGreaterThan(CASES * 0.15)
    // Nor without credentials in well-formed requests: the check that none reaches the origin must have had some to stop.
    expect(tally.secretsRefused, JSON.stringify(tally)).toBeGreaterThan(CASES * 0.01)
  })
})

// ---------------------------------------------------------------------------------------------------

/** A response body as the origin would send it, for request `id`. */
function originMessages(rng: Rng, id: Json, modern: boolean): Json[] {
  const text = pick(rng, [
    'Definition: a small example.',
    `Deployment notes. aws_access_key_id = ${SECRET} and the rest of the page.`,
    `Search results follow. ${INJECTION}. End of results.`,
    `Plain. ${SECRET} ${INJECTION}`,
  ])
  let result: Json = { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }], isError: false, ...(modern ? { resultType: 'complete' } : {}) } }
  if (modern && rng() < 0.3) {
    // 2026-07-28 MRTR: the origin asks the client something before it answers.
    const ask = { method: 'elicitation/create', params: { mode: 'form', message: pick(rng, ['Which account?', INJECTION, `Confirm key ${SECRET}`]), requestedSchema: { type: 'object', properties: { account: { type: 'string' } } } } }
    result = { jsonrpc: '2.0', id, result: { resultType: 'input_required', inputRequests: { account: ask }, requestState: pick(rng, ['step-1', SECRET]) } }
  }
  const before: Json[] = []
  if (rng() < 0.3) before.push({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: pick(rng, ['progress', SECRET, INJECTION]) } })
  if (!modern && rng() < 0.2) before.push({ jsonrpc: '2.0', id: 'srv-9', method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: pick(rng, ['Summarise.', INJECTION]) } }], maxTokens: 50 } })
  return [...before, result]
}

describe.each(['2025-11-25', '2026-07-28'])('fuzzed origin responses, %s', (version) => {
  const modern = version === '2026-07-28'
  it(`never lets a secret or an injection the origin sent through verbatim, over ${CASES} mangled responses (seed ${SEED})`, async () => {
    const rng = mulberry32(SEED + (modern ? 11 : 1))
    const tally = { delivered: 0, refused: 0, statuses: new Map<number, number>() }
    for (let n = 0; n < CASES; n++) {
      let sent = ''
      let how = ''
      let status = 0
      rig.answer = (body, _req, res) => {
        const message = JSON.parse(body) as { id: Json; method?: string }
        // The firewall's own answers to server requests it refused on the client's behalf.
        if (message.method === undefined) return void res.writeHead(202).end()
        const id = message.id
        const mutated = originMessages(rng, id, modern).map((m) => (rng() < 0.5 ? mutate(rng, m) : { text: JSON.stringify(m), how: 'unchanged' }))
        how = mutated.map((m) => m.how).join(', ')
        const sse = rng() < 0.5
        sent = sse ? frameSse(rng, mutated.map((m) => m.text)) : mutated.at(-1)?.text ?? ''
        const contentType = sse ? pick(rng, ['text/event-stream', 'text/event-stream; charset=utf-8', 'text/event-streamx']) : pick(rng, ['application/json', 'application/json; charset=utf-8', 'text/json', 'application/octet-stream'])
        status = pick(rng, [200, 200, 200, 200, 200, 200, 201, 202, 400, 500])
        res.writeHead(status, { 'content-type': contentType })
        // Written in pieces, split anywhere, as a real stream may arrive.
        const cut = int(rng, sent.length + 1)
        res.write(sent.slice(0, cut))
        res.end(sent.slice(cut))
      }
      const meta = modern ? { _meta: { 'io.modelcontextprotocol/protocolVersion': version } } : {}
      const headers: Record<string, string> = modern ? { 'mcp-protocol-version': version, 'mcp-method': 'tools/call', 'mcp-name': 'lookup' } : {}
      const seen = await rig.post(JSON.stringify({ jsonrpc: '2.0', id: 100 + n, method: 'tools/call', params: { name: 'lookup', arguments: { query: 'x' }, ...meta } }), 'application/json', headers)
      tally.statuses.set(seen.status, (tally.statuses.get(seen.status) ?? 0) + 1)
      try {
        const messages = checkAnswer(seen, status) as Json[]
        // Only answers to what the client asked, so a response's id is the client's own.
        for (const m of messages) if (!('method' in (m as object))) expect([100 + n, null]).toContain((m as { id: Json }).id)
        // Ids and MRTR states are handles the client echoes, not text a model reads.
        const content = JSON.stringify(messages.map(withoutHandles))
        // Glued to letters or digits (a fuzzed edit can do that) the key is no token any more; standing alone it must not pass.
        if (BOUNDED_SECRET.test(sent)) expect(content).not.toMatch(BOUNDED_SECRET)
        if (sent.includes(INJECTION)) expect(content).not.toContain(INJECTION)
        const answered = messages.find((m) => (m as { id?: unknown }).id === 100 + n) as { result?: unknown } | undefined
        // The request is answered (the origin's result or the firewall's error) unless the origin refused
        // it outright (4xx, id null) or the client can resume a stream that ended early (2025, after an event id).
        const lastId = [...seen.text.matchAll(/^id: ?(.*)$/gm)].at(-1)?.[1] ?? ''
        const resumable = !modern && seen.contentType.startsWith('text/event-stream') && lastId !== ''
        if (!(status >= 400 && status < 500) && !resumable) expect(answered, 'the request went unanswered').toBeDefined()
        if (answered?.result !== undefined) tally.delivered++
        else tally.refused++
      } catch (err) {
        throw new Error(`case ${n} (seed ${SEED}, ${how})\norigin sent: ${JSON.stringify(sent.slice(0, 400))}\n→ ${seen.status} ${seen.text.slice(0, 400)}\n${String(err)}`)
      }
    }
    expect(tally.delivered, JSON.stringify([...tally.statuses])).toBeGreaterThan(CASES * 0.1)
    expect(tally.refused, JSON.stringify([...tally.statuses])).toBeGreaterThan(CASES * 0.1)
  })
})

// ---------------------------------------------------------------------------------------------------

describe('fuzzed GET streams and DELETEs', () => {
  it(`holds the same promises on the standalone stream and session ends, over ${CASES} cases (seed ${SEED})`, async () => {
    const rng = mulberry32(SEED + 5)
    const tally = { delivered: 0, other: 0 }
    for (let n = 0; n < CASES; n++) {
      let sent = ''
      let status = 0
      rig.answer = (_body, req, res) => {
        if (req.method === 'DELETE') {
          status = pick(rng, [200, 204, 404, 405])
          return void res.writeHead(status, rng() < 0.5 ? { 'content-type': pick(rng, ['application/json', 'text/plain']) } : {}).end(pick(rng, ['', '', SECRET, INJECTION]))
        }
        // What a server pushes on its GET stream: notifications, its own requests, replayed answers.
        const pushed: Json[] = [
          { jsonrpc: '2.0', method: 'notifications/tools/list_changed' },
          { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: pick(rng, ['ok', SECRET, INJECTION]) } },
          { jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: pick(rng, ['Summarise.', INJECTION]) } }], maxTokens: 5 } },
          { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: pick(rng, ['replayed', `replayed ${SECRET}`]) }] } },
        ]
        const messages = pushed.filter(() => rng() < 0.6)
        sent = frameSse(rng, messages.map((m) => (rng() < 0.3 ? mutate(rng, m).text : JSON.stringify(m))))
        status = pick(rng, [200, 200, 200, 405, 404])
        res.writeHead(status, { 'content-type': status === 200 ? 'text/event-stream' : 'application/json' })
        res.end(status === 200 ? sent : '{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"no stream"}}')
      }
      const method = rng() < 0.8 ? 'GET' : 'DELETE'
      const headers: Record<string, string> = { accept: pick(rng, ['text/event-stream', 'application/json, text/event-stream', 'application/json', '*/*']), 'mcp-protocol-version': pick(rng, VERSIONS.filter(Boolean)) }
      if (rng() < 0.8) headers['mcp-session-id'] = pick(rng, ['3f1c0b2e-8a4d-4c61-9e0f-2b7a5d6c8e91', 'x'.repeat(300), 'a b', ''])
      if (rng() < 0.3) headers['last-event-id'] = pick(rng, ['0', 'srv:12', 'x'.repeat(2000), '\u00e9'.normalize()])
      const res = await fetch(rig.fw.tenantUrl('fuzz'), { method, headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace(/[^\x20-\x7e]/g, '')])) })
      const seen = await seenOf(res)
      try {
        const messages = checkAnswer(seen, status) as Json[]
        const content = JSON.stringify(messages.map(withoutHandles))
        if (BOUNDED_SECRET.test(sent)) expect(content).not.toMatch(BOUNDED_SECRET)
        if (sent.includes(INJECTION)) expect(content).not.toContain(INJECTION)
        if (method === 'DELETE') expect(seen.text).not.toMatch(BOUNDED_SECRET)
        if (messages.length > 0) tally.delivered++
        else tally.other++
      } catch (err) {
        throw new Error(`case ${n} (seed ${SEED}, ${method} ${JSON.stringify(headers).slice(0, 200)})\norigin sent ${status}: ${JSON.stringify(sent.slice(0, 400))}\n→ ${seen.status} ${seen.text.slice(0, 400)}\n${String(err)}`)
      }
    }
    expect(tally.delivered, JSON.stringify(tally)).toBeGreaterThan(CASES * 0.1)
  })
})

// ---------------------------------------------------------------------------------------------------

describe('the budget after all of the above', () => {
  it('charged exactly one request for each request the origin received, whatever was mangled', async () => {
    // Requests the firewall forwarded for clients (its own `fw-` requests are not the tenant's).
    const forwarded = rig.hits
      .flatMap((h) => [JSON.parse(h.body === '' ? 'null' : h.body) as unknown].flat())
      .filter((m) => typeof m === 'object' && m !== null && 'method' in m && 'id' in m && !String((m as { id: unknown }).id).startsWith('fw-'))
    expect(forwarded.length).toBeGreaterThan(CASES / 2)
    const usage = await rig.fw.admin.request('GET', '/admin/v1/tenants/fuzz/usage')
    const rows = (usage.body as { usage: { scope: string; metric: string; window: string; used: number; provisional: number }[] }).usage
    const requests = rows.find((r) => r.scope === 'tenant' && r.metric === 'requests' && r.window === 'day')
    expect(requests).toMatchObject({ used: forwarded.length, provisional: 0 })
  })
})

