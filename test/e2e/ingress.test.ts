/**
 * Bad input at the edge: every refusal has its documented status and JSON-RPC code, and in every case
 * the origin is never called (the recording origin sees nothing).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startOrigin } from '../support/origin.js'
import type { Origin } from '../support/origin.js'
import { startFirewall } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'
import { ACCEPT_BOTH } from '../support/raw.js'

let fw: Firewall
let origin: Origin

beforeAll(async () => {
  ;[fw, origin] = await Promise.all([startFirewall(), startOrigin({ mode: 'json', stateful: false })])
  await fw.admin.putTenant('acme', {
    origin: { url: origin.url },
    allowedOrigins: ['https://app.acme.example'],
    limits: { maxRequestBytes: 4096 },
    policy: { tools: { deny: ['rm-*'] } },
  })
  await fw.admin.putTenant('off', { origin: { url: origin.url }, enabled: false })
  await fw.admin.putTenant('strict', { origin: { url: origin.url }, policy: { unicode: 'block' } })
  await fw.admin.putTenant('watch', { origin: { url: origin.url }, policy: { unicode: 'block', monitor: true } })
})
afterAll(async () => {
  await Promise.all([fw?.stop(), origin?.close()])
})
beforeEach(() => origin.reset())

const ping = { jsonrpc: '2.0', id: 1, method: 'ping' }

interface Case {
  name: string
  init: RequestInit
  path?: string
  status: number
  code?: number
  id?: unknown
  headers?: Record<string, string>
}

const post = (body: string, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { accept: ACCEPT_BOTH, 'content-type': 'application/json', ...headers },
  body,
})

const cases: Case[] = [
  { name: 'PUT is not a Streamable HTTP method', init: { method: 'PUT', body: '{}' }, status: 405, code: -32000, headers: { allow: 'GET, POST, DELETE' } },
  { name: 'PATCH', init: { method: 'PATCH', body: '{}' }, status: 405, code: -32000 },
  { name: 'POST without text/event-stream in Accept', init: post(JSON.stringify(ping), { accept: 'application/json' }), status: 406, code: -32000 },
  { name: 'POST without Accept', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ping) }, status: 406, code: -32000 },
  { name: 'GET without text/event-stream', init: { method: 'GET', headers: { accept: 'application/json' } }, status: 406, code: -32000 },
  { name: 'text/plain body', init: post(JSON.stringify(ping), { 'content-type': 'text/plain' }), status: 415, code: -32000 },
  { name: 'form body', init: post('a=b', { 'content-type': 'application/x-www-form-urlencoded' }), status: 415, code: -32000 },
  { name: 'body over the tenant cap (streamed, no length)', init: post(JSON.stringify({ ...ping, params: { pad: 'x'.repeat(5000) } })), status: 413, code: -32000 },
  { name: 'declared length over the cap', init: post('x'.repeat(5000)), status: 413, code: -32000 },
  { name: 'malformed JSON', init: post('{"jsonrpc":"2.0",'), status: 400, code: -32700 },
  { name: 'not JSON at all', init: post('hello'), status: 400, code: -32700 },
  { name: 'JSON that is not JSON-RPC', init: post('{"hello":"world"}'), status: 400, code: -32600 },
  { name: 'wrong jsonrpc version', init: post('{"jsonrpc":"1.0","id":1,"method":"ping"}'), status: 400, code: -32600 },
  { name: 'empty batch', init: post('[]'), status: 400, code: -32600 },
  { name: 'id beyond the safe integer range', init: post('{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}'), status: 400, code: -32600 },
  { name: 'nesting beyond the limit', init: post(`{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":${'['.repeat(200)}${']'.repeat(200)}}}`), status: 400, code: -32600 },
  { name: 'params as an array', init: post('{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}'), status: 400, code: -32600 },
  { name: 'batch for a revision that removed batching', init: post(JSON.stringify([ping, { ...ping, id: 2 }]), { 'mcp-protocol-version': '2025-11-25' }), status: 400, code: -32600 },
  { name: 'unsupported protocol version', init: post(JSON.stringify(ping), { 'mcp-protocol-version': '1999-01-01' }), status: 400, code: -32000 },
  { name: 'browser Origin not on the allow-list', init: post(JSON.stringify(ping), { origin: 'http://evil.example.com' }), status: 403, code: -32000 },
  { name: 'unknown tenant', path: '/t/nobody/mcp', init: post(JSON.stringify(ping)), status: 404, code: -31005 },
  { name: 'disabled tenant', path: '/t/off/mcp', init: post(JSON.stringify(ping)), status: 503, code: -31003 },
  { name: 'path variant', path: '/t/acme/mcp/', init: post(JSON.stringify(ping)), status: 404, code: -32601 },
  { name: 'legacy HTTP+SSE endpoint', path: '/t/acme/sse', init: { method: 'GET', headers: { accept: 'text/event-stream' } }, status: 404, code: -32601 },
  { name: '2026-07-28 GET', init: { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-protocol-version': '2026-07-28' } }, status: 405, code: -32000 },
]

describe('ingress refusals (nothing forwarded)', () => {
  it.each(cases)('$name → $status', async (c) => {
    const res = await fetch(new URL(c.path ?? '/t/acme/mcp', fw.url), c.init)
    expect(res.status).toBe(c.status)
    for (const [k, v] of Object.entries(c.headers ?? {})) expect(res.headers.get(k)).toBe(v)
    const body = (await res.json()) as { jsonrpc: string; id: unknown; error: { code: number; message: string; data: { requestId: string } } }
    expect(body.jsonrpc).toBe('2.0')
    expect(body.id).toBe(c.id ?? null)
    expect(body.error.code).toBe(c.code)
    expect(body.error.data.requestId).toBe(res.headers.get('x-request-id'))
    // No internal detail on the wire: no stack traces, no origin addresses.
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts|127\.0\.0\.1|Error:/)
    expect(origin.calls).toEqual([])
  })

  it('a denied tool call is answered with HTTP 200 and -31001 for the same id, origin untouched', async () => {
    const res = await fetch(new URL('/t/acme/mcp', fw.url), post(JSON.stringify({ jsonrpc: '2.0', id: 'call-7', method: 'tools/call', params: { name: 'rm-rf', arguments: {} } })))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      jsonrpc: '2.0',
      id: 'call-7',
      error: { code: -31001, message: 'Blocked by MCP firewall: denied-tool', data: { requestId: res.headers.get('x-request-id'), reason: 'denied-tool' } },
    })
    expect(origin.calls).toEqual([])
  })

  it('a blocked notification is dropped with 202, origin untouched', async () => {
    const res = await fetch(new URL('/t/strict/mcp', fw.url), post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'a\u202Eb' } })))
    expect(res.status).toBe(202)
    expect(await res.text()).toBe('')
    expect(origin.calls).toEqual([])
  })

  it('hidden Unicode in a notification is stripped before it is forwarded', async () => {
    const res = await fetch(new URL('/t/acme/mcp', fw.url), post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `x${'\u{E0041}'.repeat(3)}\u202E` } })))
    // Hidden Unicode is stripped by default, so the notification goes on, cleaned.
    expect(res.status).toBe(202)
    expect(origin.calls).toHaveLength(1)
    expect(origin.calls[0]?.rawBody).toBe(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } }))
  })

  it('forwards its own serialisation, not the client bytes (duplicate keys, whitespace, __proto__)', async () => {
    const raw = '{ "jsonrpc":"2.0", "id":5, "method":"tools/call", "params":{"name":"echo","name":"echo","arguments":{"message":"hi","__proto__":{"polluted":true}}} }'
    const res = await fetch(new URL('/t/acme/mcp', fw.url), post(raw))
    expect(res.status).toBe(200)
    // The firewall may list the origin's tools first (to pin them); the call itself is what matters here.
    const forwarded = origin.calls.find((c) => (c.body as { method?: string } | undefined)?.method === 'tools/call')
    expect(forwarded?.rawBody).toBe('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi","__proto__":{"polluted":true}}}}')
  })

  it('answers CORS preflights only for allowed origins, listing Authorization and exposing the session headers', async () => {
    const ok = await fetch(new URL('/t/acme/mcp', fw.url), {
      method: 'OPTIONS',
      headers: { origin: 'https://app.acme.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, mcp-param-region' },
    })
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.acme.example')
    expect(ok.headers.get('access-control-allow-headers')).toContain('Authorization')
    expect(ok.headers.get('access-control-allow-headers')).toContain('mcp-param-region')
    expect(ok.headers.get('access-control-expose-headers')).toBe('Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate, Retry-After')
    const bad = await fetch(new URL('/t/acme/mcp', fw.url), { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
    expect(bad.status).toBe(403)
    expect(bad.headers.get('access-control-allow-origin')).toBeNull()
    expect(origin.calls).toEqual([])
  })

  it('gives an allowed browser origin its CORS headers on refusals too, so a browser client can read them', async () => {
    const browser = { origin: 'https://app.acme.example', 'content-type': 'application/json' }
    const refusals = [
      await fetch(new URL('/t/acme/mcp', fw.url), { method: 'POST', headers: { ...browser, accept: 'text/html' }, body: JSON.stringify(ping) }),
      await fetch(new URL('/t/acme/mcp', fw.url), { method: 'POST', headers: { ...browser, accept: ACCEPT_BOTH }, body: 'x'.repeat(8192) }),
    ]
    expect(refusals.map((r) => r.status)).toEqual([406, 413])
    for (const res of refusals) {
      expect(res.headers.get('access-control-allow-origin')).toBe('https://app.acme.example')
      expect(res.headers.get('access-control-expose-headers')).toBe('Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate, Retry-After')
    }
    const other = await fetch(new URL('/t/acme/mcp', fw.url), { method: 'POST', headers: { ...browser, origin: 'https://evil.example', accept: 'text/html' }, body: '{}' })
    expect(other.status).toBe(403)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    expect(origin.calls).toEqual([])
  })

  it('monitor mode forwards the original unchanged and records what would have happened', async () => {
    const message = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'a\u202Eb' } }
    const res = await fetch(new URL('/t/watch/mcp', fw.url), post(JSON.stringify(message)))
    expect(res.status).toBe(202)
    expect(origin.calls.map((c) => c.body)).toEqual([message])
    const requestId = res.headers.get('x-request-id')
    // Events are written after the response (waitUntil): read the log until this request's event is in it.
    let events: Array<Record<string, unknown>> = []
    for (let i = 0; i < 50 && !events.some((e) => e['requestId'] === requestId); i++) {
      events = ((await fw.admin.request('GET', 'admin/v1/tenants/watch/events')).body as { events: Array<Record<string, unknown>> }).events
    }
    expect(events.find((e) => e['requestId'] === requestId)).toMatchObject({
      tenant: 'watch',
      direction: 'client_to_server',
      method: 'notifications/message',
      verdict: 'block',
      monitor: true,
      ruleIds: ['unicode-bidi-control'],
      kinds: ['unicode'],
      configVersion: 1,
    })
  })
})
