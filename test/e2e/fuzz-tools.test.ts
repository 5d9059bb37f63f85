/**
 * Seeded fuzzing of tool integrity through the real firewall (machinery in `test/support/fuzz.ts`):
 * mangled, poisoned and thinned `tools/list` answers, each followed by a call, and 2026-07-28 calls with
 * mangled `Mcp-Param-*` headers. A tool held back from a list gets no call through; what a result
 * delivers is redacted and fits its pinned output schema; no secret rides a header to the origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOUNDED_SECRET, CASES, INJECTION, SECRET, SEED, answerValidly, checkAnswer, editText, hostileValue, int, mutate, pick, withoutHandles, startFuzzRig } from '../support/fuzz.js'
import type { Json, Rng, FuzzRig } from '../support/fuzz.js'
import { mulberry32 } from '../support/random.js'

let rig: FuzzRig
beforeAll(async () => {
  rig = await startFuzzRig()
})
afterAll(() => rig?.stop())

const TOOLS: Json[] = [
  {
    name: 'search',
    title: 'Search',
    description: 'Searches the catalogue and returns matching items.',
    inputSchema: { type: 'object', properties: { query: { type: 'string', maxLength: 200 }, limit: { type: 'integer', minimum: 1, maximum: 50 } }, required: ['query'] },
    outputSchema: { type: 'object', properties: { results: { type: 'array', items: { type: 'object', properties: { title: { type: 'string' } } } } }, required: ['results'] },
    annotations: { readOnlyHint: true },
  },
  {
    name: 'weather',
    description: 'Current weather for a city.',
    inputSchema: { type: 'object', properties: { city: { type: 'string', pattern: '^[A-Za-z ]+$' } }, additionalProperties: false },
  },
  { name: 'notes', description: 'Reads the team notes. Call search first when the user names an item.', inputSchema: { type: 'object' } },
]

/** The names an origin's (possibly mangled) `tools/list` text offers, if it parses that far. */
function offeredTools(text: string): Map<string, unknown> {
  const offered = new Map<string, unknown>()
  try {
    const tools = (JSON.parse(text) as { result?: { tools?: unknown } }).result?.tools
    if (Array.isArray(tools)) for (const t of tools) if (t && typeof t === 'object' && typeof (t as { name?: unknown }).name === 'string') offered.set((t as { name: string }).name, t)
  } catch {
    // not JSON: nothing offered
  }
  return offered
}

/** Whether `v` fits the `search` tool's output schema: `{ results: [{ title?: string }] }`. */
function fitsSearchOutput(v: unknown): boolean {
  const results = (v as { results?: unknown } | null)?.results
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !Array.isArray(results)) return false
  return results.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r) && ['undefined', 'string'].includes(typeof (r as { title?: unknown }).title))
}

describe('fuzzed tool definitions', () => {
  it(`never lets a call reach the origin for a tool it held back from the list, over ${CASES} mangled lists (seed ${SEED})`, async () => {
    const tenant = 'fuzz-tools'
    await rig.fw.admin.putTenant(tenant, { origin: { url: rig.originUrl, timeoutMs: 5000 } })
    const rng = mulberry32(SEED + 3)
    const tally = { delivered: 0, heldBack: 0, callsRefused: 0 }
    // A changed definition stays held until someone reviews it, so every 25 cases the origin renames its
    // tools: their first sight, clean, pins and approves them (the definition scan finds nothing).
    let current: Json[] = []
    for (let n = 0; n < CASES; n++) {
      if (n % 25 === 0) {
        // A random suffix: a fuzzed edit of an earlier name must not hit a coming one.
        const epoch = Array.from({ length: 6 }, () => pick(rng, [...'0123456789abcdef'])).join('')
        current = TOOLS.map((t) => ({ ...(t as object), name: `${(t as { name: string }).name}-${epoch}` }))
        rig.answer = (body, _req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: (JSON.parse(body) as { id: Json }).id, result: { tools: current } }))
        const pinned = await rig.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), 'application/json', {}, tenant)
        expect((JSON.parse(pinned.text) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name)).toEqual(['search', 'weather', 'notes'].map((x) => `${x}-${epoch}`))
      }
      // A tools/list from a changing, sometimes hostile origin: definitions mangled, poisoned or dropped.
      const tools = current.filter(() => rng() < 0.9).map((t) => (rng() < 0.15 ? { ...(t as object), description: `${(t as { description: string }).description} ${pick(rng, [INJECTION, `Key: ${SECRET}`])}` } : t))
      const listing = rng() < 0.6 ? { text: JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools } }), how: 'unchanged' } : mutate(rng, { jsonrpc: '2.0', id: 1, result: { tools } } as Json)
      rig.answer = (body, _req, res) => {
        const message = JSON.parse(body) as { id?: Json; method?: string; params?: { name?: string } }
        if (message.method === undefined || !('id' in message)) return void res.writeHead(202).end()
        if (message.method === 'tools/list') return void res.writeHead(200, { 'content-type': 'application/json' }).end(listing.text.replace('"id":1', `"id":${JSON.stringify(message.id)}`))
        const structured = { results: [{ title: pick(rng, ['one', 'two', `key ${SECRET}`]) }] }
        const result = { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: rng() < 0.5 ? structured : hostileValue(rng) }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }))
      }
      const list = await rig.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), 'application/json', {}, tenant)
      const offered = offeredTools(listing.text)
      const name = offered.size > 0 && rng() < 0.9 ? pick(rng, [...offered.keys()]) : pick(rng, ['search', 'notes', 'unknown'])
      const valid: Json = name.startsWith('weather') ? { city: 'Paris' } : { query: 'boots', limit: 5 }
      const args = rng() < 0.5 ? valid : pick<Json>(rng, [{}, { query: 'x'.repeat(300) }, { city: 'Paris; rm -rf /' }, { query: `find ${SECRET}` }, { extra: true }])
      const before = rig.hits.length
      const call = await rig.post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: args } }), 'application/json', {}, tenant)
      const reached = rig.hits.slice(before).some((h) => (JSON.parse(h.body) as { method?: string }).method === 'tools/call')
      try {
        const listed = checkAnswer(list) as { result?: { tools?: { name: string; description?: string }[] } }[]
        const listedTools = listed[0]?.result?.tools
        const delivered = new Set(Array.isArray(listedTools) ? listedTools.map((t) => (t as { name?: unknown } | null)?.name) : [])
        const content = JSON.stringify(listed)
        expect(content).not.toContain(INJECTION)
        expect(content).not.toMatch(BOUNDED_SECRET)
        const answered = checkAnswer(call) as { result?: { isError?: boolean; structuredContent?: unknown } }[]
        // Secrets in a result are redacted, in its text and in its structured content alike…
        expect(JSON.stringify((answered as Json[]).map(withoutHandles))).not.toMatch(BOUNDED_SECRET)
        // …and structured content that reaches the client still fits the output schema the tool was pinned with.
        const result = answered[0]?.result
        if (name.startsWith('search-') && reached && result?.structuredContent !== undefined && result.isError !== true) {
          expect(fitsSearchOutput(result.structuredContent), JSON.stringify(result.structuredContent)).toBe(true)
        }
        // A tool the origin offered in this list but the client did not get is not callable.
        if (listed[0]?.result && offered.has(name) && !delivered.has(name)) {
          tally.heldBack++
          expect(reached, 'a call to a held-back tool reached the origin').toBe(false)
        } else if (delivered.has(name)) tally.delivered++
        if (!reached) tally.callsRefused++
      } catch (err) {
        throw new Error(`case ${n} (seed ${SEED}, list ${listing.how}, call ${name} ${JSON.stringify(args).slice(0, 80)})\norigin listed: ${listing.text.slice(0, 400)}\n→ list ${list.status} ${list.text.slice(0, 400)}\n→ call ${call.status} ${call.text.slice(0, 300)}\n${String(err)}`)
      }
    }
    expect(tally.delivered, JSON.stringify(tally)).toBeGreaterThan(CASES * 0.1)
    expect(tally.heldBack, JSON.stringify(tally)).toBeGreaterThan(CASES * 0.05)
  })
})

// ---------------------------------------------------------------------------------------------------

/** A header value as 2026-07-28 sends it: plain when it can be, else `=?base64?…?=` (sometimes broken). */
function headerValue(rng: Rng, value: string): string {
  const encoded = `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`
  if (rng() < 0.1) return editText(rng, encoded).replace(/[^\x20-\x7e]/g, '') // what HTTP can carry
  return /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value) && rng() < 0.7 ? value : encoded
}

describe('2026-07-28 x-mcp-header bindings', () => {
  it("checks a header the pinned schema binds to an argument of another name, and refuses the bound argument without it", async () => {
    const GEO = { name: 'geo', description: 'Looks up a region.', inputSchema: { type: 'object', properties: { region_code: { type: 'string', 'x-mcp-header': 'Region' } } } }
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }
    rig.answer = (body, _req, res) => {
      const m = JSON.parse(body) as { id?: Json; method?: string }
      const result = m.method === 'tools/list' ? { tools: [GEO] } : { content: [{ type: 'text', text: 'eu' }] }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: m.id ?? null, result }))
    }
    await rig.fw.admin.putTenant('bound', { origin: { url: rig.originUrl, timeoutMs: 5000 } })
    const modern = { 'mcp-protocol-version': '2026-07-28' }
    const listed = await rig.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } }), 'application/json', { ...modern, 'mcp-method': 'tools/list' }, 'bound')
    expect(listed.text).toContain('x-mcp-header') // pinned and approved: the scan finds nothing
    const call = (headers: Record<string, string>) =>
      rig.post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'geo', arguments: { region_code: 'eu-west-1' }, _meta: meta } }), 'application/json', { ...modern, 'mcp-method': 'tools/call', 'mcp-name': 'geo', ...headers }, 'bound')
    for (const headers of [{ 'mcp-param-region': 'us-east-1' }, {}] as Record<string, string>[]) {
      const before = rig.hits.length
      const refused = await call(headers)
      expect(refused.status).toBe(400)
      expect((JSON.parse(refused.text) as { error: { code: number } }).error.code).toBe(-32020)
      expect(rig.hits.length).toBe(before) // never forwarded
    }
    const before = rig.hits.length
    expect((await call({ 'mcp-param-region': 'eu-west-1' })).status).toBe(200)
    expect(rig.hits.slice(before).map((h) => h.headers['mcp-param-region'])).toEqual(['eu-west-1'])
  })
})

describe('fuzzed 2026-07-28 metadata headers', () => {
  it(`never forwards a secret in an Mcp-Param header, over ${CASES} mangled header sets (seed ${SEED})`, async () => {
    rig.answer = answerValidly
    const rng = mulberry32(SEED + 4)
    const tally = { forwarded: 0, refused: 0 }
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }
    for (let n = 0; n < CASES; n++) {
      const args: Record<string, Json> = { query: pick(rng, ['boots', 'red shoes', `find ${SECRET}`, 'ünïcödé', INJECTION]) }
      if (rng() < 0.3) args.limit = pick(rng, [5, 42, -1, 1e21])
      const body = { jsonrpc: '2.0', id: n + 1, method: 'tools/call', params: { name: 'lookup', arguments: args, _meta: meta } }
      const headers: Record<string, string> = { 'mcp-method': pick(rng, ['tools/call', 'tools/call', 'tools/call', 'tools/list', 'TOOLS/CALL']), 'mcp-name': pick(rng, ['lookup', 'lookup', 'lookup', 'other']) }
      // Mirrors of the arguments (sometimes wrong), and extra headers no tool declared.
      if (rng() < 0.8) headers['mcp-param-query'] = headerValue(rng, rng() < 0.8 ? String(args.query) : pick(rng, ['other', SECRET]))
      if (args.limit !== undefined && rng() < 0.8) headers['mcp-param-limit'] = pick(rng, [String(args.limit), '42.0', '5 ', 'x'])
      if (rng() < 0.3) headers[`mcp-param-${pick(rng, ['x-extra', 'note', 'query2'])}`] = headerValue(rng, pick(rng, ['fine', SECRET, `token ${SECRET}`, INJECTION]))
      const before = rig.hits.length
      const text = JSON.stringify(body)
      const seen = await rig.post(text, 'application/json', { 'mcp-protocol-version': '2026-07-28', ...headers })
      try {
        checkAnswer(seen)
        for (const hit of rig.hits.slice(before)) {
          expect(JSON.stringify(JSON.parse(hit.body))).toBe(hit.body)
          expect(hit.body).not.toMatch(BOUNDED_SECRET)
          for (const [name, value] of Object.entries(hit.headers)) {
            if (!name.startsWith('mcp-')) continue
            const raw = String(value)
            const decoded = raw.startsWith('=?base64?') && raw.endsWith('?=') ? Buffer.from(raw.slice(9, -2), 'base64').toString('utf8') : raw
            expect(decoded, `header ${name}`).not.toMatch(BOUNDED_SECRET)
          }
        }
        if (rig.hits.length > before) tally.forwarded++
        else tally.refused++
      } catch (err) {
        throw new Error(`case ${n} (seed ${SEED}): ${text.slice(0, 200)} ${JSON.stringify(headers)}\n→ ${seen.status} ${seen.text.slice(0, 300)}\n${String(err)}`)
      }
    }
    expect(tally.forwarded, JSON.stringify(tally)).toBeGreaterThan(CASES * 0.1)
    expect(tally.refused, JSON.stringify(tally)).toBeGreaterThan(CASES * 0.1)
  })
})

// ---------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------

describe('fuzzed confirmations of a sensitive call (2026-07-28)', () => {
  it(`runs a call that needs the user's approval only on a genuine, unused, accepted confirmation, over ${CASES} retries (seed ${SEED})`, async () => {
    const tenant = 'fuzz-approve'
    await rig.fw.admin.putTenant(tenant, { origin: { url: rig.originUrl, timeoutMs: 5000 }, policy: { tools: { requireApproval: ['transfer'] } } })
    const transfer = { name: 'transfer', description: 'Moves money between two accounts.', inputSchema: { type: 'object', properties: { amount: { type: 'integer' }, to: { type: 'string' } } } }
    rig.answer = (body, _req, res) => {
      const m = JSON.parse(body) as { id?: Json; method?: string }
      if (m.method === undefined || !('id' in m)) return void res.writeHead(202).end()
      const result = m.method === 'tools/list' ? { tools: [transfer], resultType: 'complete' } : { content: [{ type: 'text', text: 'done' }], resultType: 'complete' }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }))
    }
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } } }
    const call = async (id: number, args: Json, extra: Record<string, Json> = {}) => {
      const body = { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'transfer', arguments: args, _meta: meta, ...extra } }
      const seen = await rig.post(JSON.stringify(body), 'application/json', { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'transfer' }, tenant)
      return { seen, answer: JSON.parse(seen.text) as { result?: { resultType?: string; requestState?: string }; error?: { code: number } } }
    }
    const ran = () => rig.hits.filter((h) => (JSON.parse(h.body) as { method?: string; params?: { name?: string } }).params?.name === 'transfer').length
    const rng = mulberry32(SEED + 7)
    const used: string[] = []
    let genuine = 0
    for (let n = 0; n < CASES; n++) {
      const args = { amount: 1 + int(rng, 1000), to: pick(rng, ['savings', 'acct-9']) }
      // The first leg: the firewall asks the user, the origin is not contacted.
      const before = ran()
      const first = await call(2 * n + 1, args)
      const state = first.answer.result?.requestState ?? ''
      const accept = { 'mcp-firewall/confirm': { action: 'accept', content: { confirm: true } } }
      const kind = pick(rng, ['genuine', 'genuine', 'edited', 'replayed', 'other arguments', 'declined', 'not confirmed', 'no answer', 'made up'])
      let retry: Record<string, Json>
      let retryArgs: Json = args
      if (kind === 'genuine') retry = { requestState: state, inputResponses: accept }
      else if (kind === 'edited') retry = { requestState: editText(rng, state).replace(/[^\x21-\x7e]/g, ''), inputResponses: accept }
      else if (kind === 'replayed') retry = { requestState: used.length > 0 ? pick(rng, used) : `mcpfw1.a.${'0'.repeat(32)}`, inputResponses: accept }
      else if (kind === 'other arguments') {
        retry = { requestState: state, inputResponses: accept }
        retryArgs = { ...args, amount: args.amount + 1 }
      } else if (kind === 'declined') retry = { requestState: state, inputResponses: { 'mcp-firewall/confirm': { action: pick(rng, ['decline', 'cancel']) } } }
      else if (kind === 'not confirmed') retry = { requestState: state, inputResponses: { 'mcp-firewall/confirm': { action: 'accept', content: pick<Json>(rng, [{ confirm: false }, {}, { confirm: 'true' }]) } } }
      else if (kind === 'no answer') retry = { requestState: state }
      else retry = { requestState: pick(rng, [`mcpfw1.a.${'f'.repeat(32)}`, `mcpfw1.c.${'1'.repeat(32)}`, 'anything', '']), inputResponses: accept }
      const second = await call(2 * n + 2, retryArgs, retry)
      // An edit can come out as the same text (an inserted character that HTTP cannot carry is dropped again).
      const genuineAccepted = (kind === 'genuine' || (kind === 'edited' && retry.requestState === state)) && /^mcpfw1\.a\.[0-9a-f]{32}$/.test(state)
      try {
        expect(first.answer.result?.resultType, first.seen.text.slice(0, 200)).toBe('input_required')
        checkAnswer(second.seen)
        const reached = ran() - before
        expect(reached, `${kind}: ${second.seen.text.slice(0, 200)}`).toBe(genuineAccepted ? 1 : 0)
        if (genuineAccepted) {
          genuine++
          used.push(state)
          expect(second.answer.result).toMatchObject({ resultType: 'complete' })
        }
      } catch (err) {
        throw new Error(`case ${n} (seed ${SEED}, ${kind}): ${JSON.stringify(retry).slice(0, 200)}\n→ ${second.seen.status} ${second.seen.text.slice(0, 300)}\n${String(err)}`)
      }
    }
    expect(genuine).toBeGreaterThan(CASES * 0.1)
  })
})

