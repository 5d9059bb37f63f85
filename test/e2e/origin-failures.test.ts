/**
 * Broken origins: refused connections, timeouts, 5xx, redirects, output that cannot be inspected.
 * Each gives a clear JSON-RPC error for the request's id, nothing uninspected reaches the client and
 * nothing about the origin leaks.
 */
import { createServer } from 'node:http'
import { gzipSync } from 'node:zlib'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import { startFirewall } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'
import { ACCEPT_BOTH, initializeRequest, readSse, startRawOrigin } from '../support/raw.js'
import type { RawOrigin } from '../support/raw.js'

type Behaviour = (res: import('node:http').ServerResponse) => void

const behaviours: Record<string, Behaviour> = {
  '/500': (res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('stack trace at origin.internal:3000'),
  '/redirect': (res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end(),
  '/not-json': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('<html>oops</html>'),
  '/html': (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'),
  '/401': (res) => res.writeHead(401, { 'content-type': 'text/html', 'www-authenticate': 'Bearer resource_metadata="https://o.example/.well-known/oauth-protected-resource"' }).end('<b>login at internal-sso</b>'),
  // Refusals whose bodies carry the origin's internals, or a result under a refusal status.
  '/400-json': (res) => res.writeHead(400, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"db at origin.internal:5432 failed","data":{"stack":"at /srv/app.js:12"}}}'),
  '/429-result': (res) => res.writeHead(429, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"from origin.internal"}]}}'),
  '/404-empty': (res) => res.writeHead(404).end(),
  '/hang': () => undefined,
  '/drop-mid-body': (res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' }).write('{"jsonrpc":"2.0",')
    setTimeout(() => res.socket?.destroy(), 20)
  },
  '/stall-json': (res) => void res.writeHead(200, { 'content-type': 'application/json' }).write('{"jsonrpc":"2.0",'), // headers, then nothing
  '/stall-other': (res) => void res.writeHead(200, { 'content-type': 'text/plain' }).write(' '),
  '/huge-event': (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(`data: ${'x'.repeat(8192)}`)
    res.end(`\n\ndata: {"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n\n`)
  },
  '/accepted-with-body': (res) => res.writeHead(202, { 'content-type': 'text/html' }).end('<b>accepted at internal-queue</b>'),
  '/accepted': (res) => res.writeHead(202).end(),
  '/empty-200': (res) => res.writeHead(200).end(),
  '/notification-only': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}'),
  '/answers-one': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[{"jsonrpc":"2.0","id":1,"result":{"content":[]}}]'),
  '/stream-ends-early': (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end('data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":1}}\n\n')
  },
  // 2025-11-25 SSE polling: a priming event with an id, then the server closes; the client resumes with GET.
  '/stream-primed-ends-early': (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end('id: s1-0\ndata: \n\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":1}}\n\n')
  },
  // A compressed answer whose Content-Length counts 16 KB on the wire for 16 MB decoded, sent in slices:
  // the firewall must count decoded bytes and stop at its cap, not take the whole body in one read.
  '/gzip-bomb': (res) => {
    const packed = gzipSync(Buffer.alloc(16 * 1024 * 1024, ' '))
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(packed.length) })
    const slice = Math.ceil(packed.length / 50)
    let at = 0
    const next = (): void => {
      if (res.destroyed) return
      res.write(packed.subarray(at, at + slice))
      at += slice
      if (at < packed.length) setTimeout(next, 20)
      else res.end(() => (bombSent = true))
    }
    next()
  },
  // Origins whose own tool list fails: a call to a tool never seen before cannot be reviewed.
  '/list-500': (res) => res.writeHead(500).end(),
  '/list-401': (res) => res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token", resource_metadata="http://10.0.0.5:8080/.well-known/oauth-protected-resource"' }).end(),
  '/list-404': (res) => res.writeHead(404).end(),
  '/list-stall': (res) => void res.writeHead(200, { 'content-type': 'application/json' }).write('{"jsonrpc":'), // headers, then nothing
  '/list-garbage': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":"x","result":{}}'),
  '/garbage-event': (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end('data: {not json\n\ndata: {"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n\n')
  },
}

// The firewall lists a never-seen tool's origin itself before a call (src/tools/origin-list.ts): these
// origins list `echo` properly and fail only on what the test sends.
const ECHO_LIST = { tools: [{ name: 'echo', description: 'Echoes its input.', inputSchema: { type: 'object' } }] }

let fw: Firewall
let server: Server
let base: string
let hits = 0
let bombSent = false
const calls: string[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      const message = JSON.parse(body === '' ? 'null' : body) as { id?: unknown; method?: string } | null
      if (message?.method === 'tools/list' && !req.url?.startsWith('/list-')) {
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: ECHO_LIST }))
      }
      hits++
      if (message?.method === 'tools/call') calls.push(req.url ?? '')
      const behaviour = behaviours[req.url ?? '']
      if (behaviour) behaviour(res)
      else res.writeHead(404).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  fw = await startFirewall()
  for (const path of Object.keys(behaviours)) {
    await fw.admin.putTenant(path.slice(1), {
      origin: { url: `${base}${path}`, timeoutMs: 1000 },
      limits: { maxSseEventBytes: 4096, maxSseLineBytes: 4096 },
    })
  }
  await fw.admin.putTenant('gzip-bomb', { origin: { url: `${base}/gzip-bomb`, timeoutMs: 5000 }, limits: { maxResponseBytes: 64 * 1024 } })
  await fw.admin.putTenant('refused', { origin: { url: 'http://127.0.0.1:1/mcp' } })
})
afterAll(async () => {
  server?.closeAllConnections()
  await Promise.all([fw?.stop(), new Promise((r) => server?.close(r))])
})

const CALL = { jsonrpc: '2.0', id: 42, method: 'tools/call', params: { name: 'echo', arguments: {} } }
const call = (tenant: string, body: unknown = CALL, headers: Record<string, string> = {}) =>
  fetch(new URL(`/t/${tenant}/mcp`, fw.url), {
    method: 'POST',
    headers: { accept: ACCEPT_BOTH, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

describe('origin failures', () => {
  it.each([
    ['refused', 502, -31006, 'Origin unavailable'],
    ['hang', 504, -31006, 'Origin timed out'],
    ['stall-json', 504, -31006, 'Origin timed out'], // the timeout covers the body too
    ['stall-other', 504, -31006, 'Origin timed out'],
    ['drop-mid-body', 502, -31006, 'Origin unavailable'], // the connection closes before the body is whole
    ['500', 502, -31006, 'Origin error'],
    ['redirect', 502, -31007, 'Origin answered with a redirect'],
    ['not-json', 502, -31007, 'Origin sent a response the firewall cannot inspect'],
    ['html', 502, -31007, 'Origin sent a response the firewall cannot inspect'],
    // A success that answers no request would leave the client waiting until its own timeout.
    ['accepted', 502, -31007, 'Origin did not answer the request'],
    ['accepted-with-body', 502, -31007, 'Origin did not answer the request'],
    ['empty-200', 502, -31007, 'Origin did not answer the request'],
    ['notification-only', 502, -31007, 'Origin did not answer the request'],
  ])('%s → HTTP %i, JSON-RPC %i for the same id', async (tenant, status, code, message) => {
    const res = await call(tenant)
    expect(res.status).toBe(status)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({ jsonrpc: '2.0', id: 42, error: { code, message, data: { requestId: res.headers.get('x-request-id') } } })
    expect(text).not.toMatch(/origin\.internal|169\.254|127\.0\.0\.1|html/)
    expect(res.headers.get('location')).toBeNull()
  })

  it('refuses a compressed answer past the cap by its decoded size, without reading the rest of it', async () => {
    const res = await call('gzip-bomb')
    expect(res.status).toBe(502)
    expect(await res.json()).toMatchObject({ id: 42, error: { code: -31007, message: 'Origin response too large to inspect' } })
    // The origin was still sending (a one-call read would have waited for its last slice, a second later).
    expect(bombSent).toBe(false)
  })

  it("passes an origin refusal status with its challenge, but not its body (nor, on a path-mapped endpoint, the origin's metadata URL)", async () => {
    const res = await call('401')
    expect(res.status).toBe(401)
    // No discovery is served on the shared host: the metadata URL would only send the client to the origin.
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
    const body = await res.json()
    expect(body).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Origin refused the request (HTTP 401)', data: { requestId: res.headers.get('x-request-id') } } })
  })

  it.each([
    ['400-json', 400], // a JSON-RPC error naming the origin's database and source paths
    ['429-result', 429], // a result under a refusal status
    ['404-empty', 404],
  ])('answers the origin refusal %s with its status and the generic body, whatever the origin wrote', async (tenant, status) => {
    const res = await call(tenant)
    expect(res.status).toBe(status)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: `Origin refused the request (HTTP ${status})`, data: { requestId: res.headers.get('x-request-id') } } })
    expect(text).not.toMatch(/origin\.internal|srv|result/)
  })

  it('relays a 202 to a notification without its body and without the content type that described it', async () => {
    const res = await call('accepted-with-body', { jsonrpc: '2.0', method: 'notifications/initialized' })
    expect(res.status).toBe(202)
    expect(res.headers.get('content-type')).toBeNull()
    expect(await res.text()).toBe('')
  })

  it('answers the requests of a batch the origin left unanswered, after the answers it gave', async () => {
    const batch = [1, 2].map((id) => ({ ...CALL, id }))
    for (const tenant of ['answers-one', 'accepted']) {
      const res = await call(tenant, batch)
      expect(res.status).toBe(200)
      const body = (await res.json()) as { id: number; result?: unknown; error?: { code: number } }[]
      const requestId = res.headers.get('x-request-id')
      const missing = (id: number) => ({ jsonrpc: '2.0', id, error: { code: -31007, message: 'Origin did not answer the request', data: { requestId } } })
      if (tenant === 'answers-one') expect(body).toEqual([{ jsonrpc: '2.0', id: 1, result: { content: [] } }, missing(2)])
      else expect(body).toEqual([missing(1), missing(2)])
    }
  })

  it('ends a 2026-07-28 stream that closes unanswered with an error for the request (no resumption there)', async () => {
    const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' }
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }
    const res = await call('stream-ends-early', { ...CALL, params: { ...CALL.params, _meta: meta } }, headers)
    expect(res.status).toBe(200)
    const { messages } = await readSse(res)
    expect(messages).toMatchObject([{ method: 'notifications/progress' }, { id: 42, error: { code: -31007, message: 'Origin did not answer the request' } }])
  })

  it('leaves a 2025-11-25 stream that closes unanswered after an event id as it is: the client resumes it', async () => {
    // In a session, the id goes out in the firewall's form, which a GET resumes (stream-state.ts).
    const res = await call('stream-primed-ends-early', CALL, { 'mcp-protocol-version': '2025-11-25', 'mcp-session-id': 'session-1' })
    const events = (await res.text()).split('\n\n').filter(Boolean)
    expect(events).toEqual([expect.stringMatching(/^id: mcpfw2~[^\n]+~s1-0\ndata: $/), expect.stringContaining('notifications/progress')])
  })

  it('ends a 2025-11-25 stream that closes unanswered without any event id with an error: it cannot be resumed', async () => {
    const res = await call('stream-ends-early', CALL, { 'mcp-protocol-version': '2025-11-25' })
    const { messages } = await readSse(res)
    expect(messages).toMatchObject([{ method: 'notifications/progress' }, { id: 42, error: { code: -31007, message: 'Origin did not answer the request' } }])
  })

  it.each(['huge-event', 'garbage-event'])('%s: the stream ends with an error for the pending id and nothing after it', async (tenant) => {
    const res = await call(tenant)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const text = await res.text()
    expect(text).not.toContain('xxxx')
    const events = text.split('\n\n').filter(Boolean)
    expect(events).toHaveLength(1)
    expect(JSON.parse(events[0]!.replace(/^event: message\ndata: /, ''))).toMatchObject({ id: 42, error: { code: -31007 } })
  })

  it('never forwards a call to a tool it could not review: an origin that is down or refuses the credentials is reported as such, any other list failure as unreviewed', async () => {
    const cases = [
      ['list-500', 502, -31006, 'Origin error'],
      ['list-stall', 504, -31006, 'Origin timed out'], // the list's deadline covers its body too
      ['list-401', 401, -32000, 'Origin refused the request (HTTP 401)'], // with its challenge, below
      ['list-404', 200, -31001, 'Blocked by MCP firewall: tool not yet reviewed; the origin did not list its tools'],
      ['list-garbage', 200, -31001, 'Blocked by MCP firewall: tool not yet reviewed; the origin did not list its tools'],
    ] as const
    for (const [tenant, status, code, message] of cases) {
      const res = await call(tenant)
      expect(res.status, tenant).toBe(status)
      expect(await res.json(), tenant).toMatchObject({ jsonrpc: '2.0', id: 42, error: { code, message } })
      // As for a refusal relayed: on the shared host, without the origin's metadata URL.
      if (tenant === 'list-401') expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    }
    // A batch (2025-03-26) gets the failure once, with id null, as when forwarding a batch fails.
    const batch = await call('list-500', [1, 2].map((id) => ({ ...CALL, id })))
    expect(batch.status).toBe(502)
    expect(await batch.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -31006, message: 'Origin error' } })
    expect(calls.filter((url) => url.startsWith('/list-'))).toEqual([])
  })

  it('reached the origin for every case but the refused connection', () => {
    expect(hits).toBeGreaterThanOrEqual(Object.keys(behaviours).length)
  })
})

/** The firewall's `origin_failed` log events, from the Worker's console as wrangler prints it. */
function originFailedEvents(lines: readonly string[]): Array<{ line: string; event: Record<string, unknown> }> {
  const out: Array<{ line: string; event: Record<string, unknown> }> = []
  for (const raw of lines) {
    const line = raw.replace(/\u001b\[[0-9;]*m/g, '')
    const start = line.indexOf('{"event":"origin_failed"')
    if (start < 0) continue
    out.push({ line, event: JSON.parse(line.slice(start, line.lastIndexOf('}') + 1)) as Record<string, unknown> })
  }
  return out
}

describe('origin failures in the log', () => {
  const cases = [
    ['refused', CALL, { kind: 'origin_unreachable' }],
    ['hang', CALL, { kind: 'origin_timeout' }],
    ['stall-json', CALL, { kind: 'origin_timeout' }], // headers, then a body that never comes
    ['drop-mid-body', CALL, { kind: 'origin_unreachable' }],
    ['500', CALL, { kind: 'origin_error', status: 500 }],
    ['redirect', CALL, { kind: 'origin_redirect' }],
    // One failed exchange, however many requests were waiting on it.
    ['500', [1, 2, 3].map((id) => ({ jsonrpc: '2.0', id, method: 'ping' })), { kind: 'origin_error', status: 500 }],
  ] as const
  it.each(cases)('%s: one origin_failed event for the request, with its kind and nothing of the origin', async (tenant, body, expected) => {
    const lines: string[] = []
    const record = (...args: unknown[]): void => void lines.push(args.map(String).join(' '))
    const spies = (['log', 'info', 'warn', 'error'] as const).map((level) => vi.spyOn(console, level).mockImplementation(record))
    try {
      const res = await call(tenant, body)
      expect(res.status).toBeGreaterThanOrEqual(502)
      await res.body?.cancel()
      const requestId = res.headers.get('x-request-id')
      const mine = () => originFailedEvents(lines).filter((e) => e.event['requestId'] === requestId)
      await expect.poll(() => mine().length, { timeout: 5_000 }).toBeGreaterThan(0)
      await new Promise((resolve) => setTimeout(resolve, 300)) // a second line would have arrived by now
      expect(mine().map((e) => e.event)).toEqual([{ event: 'origin_failed', requestId, tenant, ...expected }])
      expect(mine()[0]!.line).not.toMatch(/origin\.internal|169\.254|127\.0\.0\.1|stack|html/)
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
  })
})

// A hostname-mapped passthrough tenant forwards OAuth discovery to its origin's host (same path and query):
// only a JSON object goes back; every other answer is the firewall's own.
describe('OAuth discovery pass-through', () => {
  // The metadata of the endpoint on the firewall's hostname, as a client there must get it.
  const prm = () => ({ resource: `http://localhost:${fw.port}/mcp`, authorization_servers: ['https://as.example'] })
  const INSPECTOR = 'http://localhost:6274'
  const answers: Record<string, Behaviour> = {
    ok: (res) => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60, note="origin.internal"' }).end(JSON.stringify(prm())),
    'origin-own': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ resource: 'http://10.0.0.5:8080/mcp', authorization_servers: ['https://as.example'] })),
    'no-resource': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"authorization_servers":["https://as.example"]}'),
    '500': (res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('Error at /srv/app.js:12 connecting to postgres://admin:pw@origin.internal:5432/db'),
    redirect: (res) => res.writeHead(302, { location: 'http://10.0.0.5:8080/internal-login' }).end(),
    'drop-mid-body': (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' }).write('{"resource":')
      setTimeout(() => res.socket?.destroy(), 20)
    },
    html: (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login at origin.internal</html>'),
    array: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('["origin.internal"]'),
    '404': (res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<b>nginx at origin.internal</b>'),
    '400-token': (res) => res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant","error_description":"db at origin.internal:5432 failed"}'),
    'sign-in': (res) => res.writeHead(302, { location: 'https://login.vendor.example/authorize?state=s1', 'set-cookie': 'sid=origin.internal' }).end('<a>origin.internal</a>'),
    'back-to-client': (res) => res.writeHead(302, { location: 'http://localhost:33418/callback?code=c1&state=s1' }).end(),
    'internal-sign-in': (res) => res.writeHead(302, { location: 'https://10.0.0.5/internal-login' }).end(),
  }
  // Without `case`: an origin doing its own OAuth, whose challenge names its metadata on its own (private) host.
  const vendorOAuth: Record<string, Behaviour> = {
    '/mcp': (res) => {
      const metadata = `${new URL(vendor.url).origin}/.well-known/oauth-protected-resource/mcp`
      res.writeHead(401, { 'www-authenticate': `Bearer error="invalid_token", resource_metadata="${metadata}"` }).end()
    },
    '/.well-known/oauth-protected-resource/mcp': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...prm(), authorization_servers: [new URL(as.url).origin] })),
  }
  const vendorPaths: string[] = []
  let vendor: RawOrigin
  let as: RawOrigin
  beforeAll(async () => {
    vendor = await startRawOrigin((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      vendorPaths.push(url.pathname)
      ;(answers[url.searchParams.get('case') ?? ''] ?? vendorOAuth[url.pathname])?.(res)
    })
    as = await startRawOrigin((req, res) => {
      const issuer = new URL(as.url).origin
      if (req.url !== '/.well-known/oauth-authorization-server') return void res.writeHead(404).end()
      const metadata = { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, response_types_supported: ['code'], code_challenge_methods_supported: ['S256'] }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metadata))
    })
    await fw.admin.putTenant('vendor', { origin: { url: vendor.url, timeoutMs: 1000 }, hosts: ['localhost'], allowedOrigins: [INSPECTOR] })
  })
  afterAll(() => Promise.all([vendor?.close(), as?.close()]))
  const discover = (answer: string, path = '/.well-known/oauth-protected-resource') => fetch(`http://localhost:${fw.port}${path}?case=${answer}`)

  it('relays metadata as a JSON object the firewall serialised, without the origin\'s other headers', async () => {
    const res = await discover('ok')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toEqual(prm())
  })

  it.each([
    ['500', 502, -31006, 'Origin error'],
    ['redirect', 502, -31007, 'Origin answered with a redirect'],
    ['drop-mid-body', 502, -31006, 'Origin unavailable'],
    ['html', 502, -31007, 'Origin sent a response the firewall cannot inspect'],
    ['array', 502, -31007, 'Origin sent a response the firewall cannot inspect'],
    ['origin-own', 502, -31007, 'Origin sent a response the firewall cannot inspect'],
    ['no-resource', 502, -31007, 'Origin sent a response the firewall cannot inspect'],
    ['404', 404, -32000, 'Origin refused the request (HTTP 404)'],
    ['400-token', 400, -32000, 'Origin refused the request (HTTP 400)'],
  ] as const)('answers %s with HTTP %i and the firewall\'s own error, nothing of the origin\'s', async (answer, status, code, message) => {
    const res = await discover(answer, answer === '400-token' ? '/token' : undefined)
    expect(res.status).toBe(status)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({ jsonrpc: '2.0', id: null, error: { code, message, data: { requestId: res.headers.get('x-request-id') } } })
    expect(text).not.toMatch(/origin\.internal|10\.0\.0\.5|postgres|srv/)
    expect(res.headers.get('location')).toBeNull()
  })

  it("answers browser clients as the endpoint does: preflight here, CORS headers on every answer, only for allowed origins", async () => {
    const path = `http://localhost:${fw.port}/.well-known/oauth-protected-resource/mcp?case=ok`
    const pre = await fetch(path, { method: 'OPTIONS', headers: { origin: INSPECTOR, 'access-control-request-method': 'GET', 'access-control-request-headers': 'mcp-protocol-version' } })
    expect(pre.status).toBe(204)
    expect(await pre.text()).toBe('')
    expect(pre.headers.get('access-control-allow-origin')).toBe(INSPECTOR)
    expect(pre.headers.get('access-control-allow-headers')).toContain('MCP-Protocol-Version')
    const ok = await fetch(path, { headers: { origin: INSPECTOR, 'mcp-protocol-version': '2025-06-18' } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe(INSPECTOR)
    expect(await ok.json()).toEqual(prm())
    const missing = await fetch(`http://localhost:${fw.port}/.well-known/oauth-authorization-server?case=404`, { headers: { origin: INSPECTOR } })
    expect(missing.status).toBe(404)
    expect(missing.headers.get('access-control-allow-origin')).toBe(INSPECTOR)
    for (const method of ['GET', 'OPTIONS']) {
      const other = await fetch(path, { method, headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } })
      expect(other.status, method).toBe(403)
      expect(other.headers.get('access-control-allow-origin')).toBeNull()
    }
  })

  it("moves the origin's challenge onto this hostname: the SDK client discovers OAuth through the firewall, never at the origin", async () => {
    const fetched: string[] = []
    const authorizations: URL[] = []
    const redirectUrl = 'http://localhost:33418/callback'
    const provider: OAuthClientProvider = {
      redirectUrl,
      clientMetadata: { redirect_uris: [redirectUrl], client_name: 'e2e' },
      clientInformation: () => ({ client_id: 'e2e-client' }),
      tokens: () => undefined,
      saveTokens: () => undefined,
      redirectToAuthorization: (url) => void authorizations.push(url),
      saveCodeVerifier: () => undefined,
      codeVerifier: () => 'verifier',
    }
    const endpoint = `http://localhost:${fw.port}/mcp`
    const transport = new StreamableHTTPClientTransport(new URL(endpoint), {
      authProvider: provider,
      fetch: (url, init) => (fetched.push(String(url)), fetch(url, init)),
    })
    const client = new Client({ name: 'e2e', version: '1' })
    await expect(client.connect(transport)).rejects.toThrow(UnauthorizedError)
    await client.close()
    // The challenge named the origin's host; the client got this hostname's metadata URL and used it.
    expect(fetched).toContain(`http://localhost:${fw.port}/.well-known/oauth-protected-resource/mcp`)
    expect(fetched.filter((url) => url.startsWith(new URL(vendor.url).origin))).toEqual([])
    expect(vendorPaths).toContain('/.well-known/oauth-protected-resource/mcp')
    // And it went to sign in for the resource it addressed, at the origin's authorization server.
    expect(authorizations).toHaveLength(1)
    expect(authorizations[0]!.origin).toBe(new URL(as.url).origin)
    expect(authorizations[0]!.searchParams.get('resource')).toBe(endpoint)
    // What the client read: the rewritten challenge, nothing else changed.
    const res = await fetch(endpoint, { method: 'POST', headers: { accept: ACCEPT_BOTH, 'content-type': 'application/json' }, body: JSON.stringify(initializeRequest()) })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(`Bearer error="invalid_token", resource_metadata="http://localhost:${fw.port}/.well-known/oauth-protected-resource/mcp"`)
  })

  it("passes a 2025-03-26 /authorize redirect to a public sign-in page or back to the client's redirect_uri, with its Location only", async () => {
    const authorize = (answer: string) =>
      fetch(`http://localhost:${fw.port}/authorize?case=${answer}&redirect_uri=${encodeURIComponent('http://localhost:33418/callback')}`, { redirect: 'manual' })
    const signIn = await authorize('sign-in')
    expect(signIn.status).toBe(302)
    expect(signIn.headers.get('location')).toBe('https://login.vendor.example/authorize?state=s1')
    expect(signIn.headers.get('set-cookie')).toBeNull()
    expect(await signIn.text()).toBe('')
    const back = await authorize('back-to-client')
    expect(back.status).toBe(302)
    expect(back.headers.get('location')).toBe('http://localhost:33418/callback?code=c1&state=s1')
    for (const answer of ['internal-sign-in', 'redirect']) {
      const res = await authorize(answer)
      expect(res.status, answer).toBe(502)
      expect(await res.json()).toMatchObject({ error: { code: -31007, message: 'Origin answered with a redirect' } })
      expect(res.headers.get('location')).toBeNull()
    }
  })
})
