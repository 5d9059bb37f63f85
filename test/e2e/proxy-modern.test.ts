/**
 * MCP 2026-07-28 (stateless) through the firewall with the v2 SDK client and a v2 SDK origin: the
 * exchange works as it does directly, metadata headers are checked against the body, and MRTR
 * input requests embedded in results are inspected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFirewall } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'
import { modernClient } from '../support/clients.js'
import { startModernOrigin } from '../support/modern-origin.js'
import type { ModernOrigin } from '../support/modern-origin.js'
import { ACCEPT_BOTH } from '../support/raw.js'

let fw: Firewall
let origin: ModernOrigin

beforeAll(async () => {
  ;[fw, origin] = await Promise.all([startFirewall(), startModernOrigin()])
  await fw.admin.putTenant('modern', { origin: { url: origin.url } })
  await fw.admin.putTenant('modern-strict', { origin: { url: origin.url }, policy: { unicode: 'block' } })
})
afterAll(async () => {
  await Promise.all([fw?.stop(), origin?.close()])
})

const META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }
const modernPost = (body: unknown, headers: Record<string, string>) =>
  fetch(new URL('/t/modern/mcp', fw.url), {
    method: 'POST',
    headers: { accept: ACCEPT_BOTH, 'content-type': 'application/json', 'mcp-protocol-version': '2026-07-28', ...headers },
    body: JSON.stringify(body),
  })

describe('2026-07-28 through the firewall', () => {
  it('discovers, lists and calls tools with results identical to the direct path', async () => {
    const direct = await modernClient(origin.url)
    const proxied = await modernClient(fw.tenantUrl('modern'))
    try {
      const [d, p] = await Promise.all([direct.client.listTools(), proxied.client.listTools()])
      expect(p).toEqual(d)
      const call = { name: 'echo', arguments: { message: 'stateless hello' } }
      const [dc, pc] = await Promise.all([direct.client.callTool(call), proxied.client.callTool(call)])
      expect(pc).toEqual(dc)
      const forwarded = origin.calls.filter((c) => c.headers['mcp-method'] === 'tools/call').at(-1)
      expect(forwarded?.headers).toMatchObject({ 'mcp-protocol-version': '2026-07-28', 'mcp-name': 'echo' })
      expect(forwarded?.headers['mcp-session-id']).toBeUndefined()
    } finally {
      await Promise.all([direct.close(), proxied.close()])
    }
  })

  it('completes an input_required (MRTR) round trip', async () => {
    const c = await modernClient(fw.tenantUrl('modern'))
    try {
      const r = await c.client.callTool({ name: 'confirm', arguments: { question: 'Proceed?' } })
      expect(r.content).toEqual([{ type: 'text', text: 'answer: stub answer' }])
      expect(c.elicitationRequests[0]?.params.message).toBe('Proceed?')
    } finally {
      await c.close()
    }
  })

  it('blocks a hidden instruction inside an MRTR elicitation request, for the original request id', async () => {
    const c = await modernClient(fw.tenantUrl('modern-strict'))
    try {
      const err = await c.client.callTool({ name: 'confirm', arguments: { question: 'Proceed?\u202E' } }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(Error)
      expect(String((err as { code?: number }).code ?? err)).toContain('-31001')
      expect(c.elicitationRequests).toHaveLength(0)
    } finally {
      await c.close()
    }
  })

  it('forwards the notifications/cancelled the v2 SDK client sends, without Mcp-Method, when a subscription closes', async () => {
    origin.reset()
    const c = await modernClient(fw.tenantUrl('modern'))
    try {
      const subscription = await c.client.listen({ toolsListChanged: true })
      await subscription.close()
      const cancel = await origin.waitForCall((k) => (k.body as { method?: string } | undefined)?.method === 'notifications/cancelled', { timeoutMs: 5_000 })
      expect(cancel.headers['mcp-method']).toBeUndefined()
      expect(cancel.headers['mcp-protocol-version']).toBe('2026-07-28')
    } finally {
      await c.close()
    }
  })

  it('still refuses a notification whose Mcp-Method differs from its body, before the origin', async () => {
    origin.reset()
    const res = await modernPost({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, _meta: META } }, { 'mcp-method': 'tools/call' })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32020)
    expect(origin.calls).toEqual([])
  })

  it.each([
    ['Mcp-Method differs from the body', { 'mcp-method': 'tools/list', 'mcp-name': 'echo' }],
    ['Mcp-Name differs from params.name', { 'mcp-method': 'tools/call', 'mcp-name': 'delete-everything' }],
    ['Mcp-Name missing for tools/call', { 'mcp-method': 'tools/call' }],
    ['Mcp-Param value differs from the argument', { 'mcp-method': 'tools/call', 'mcp-name': 'echo', 'mcp-param-message': 'something else' }],
  ])('refuses a header/body mismatch (%s) with 400 / -32020 before the origin', async (_name, headers) => {
    origin.reset()
    const res = await modernPost({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' }, _meta: META } }, headers)
    expect(res.status).toBe(400)
    const body = (await res.json()) as { id: unknown; error: { code: number } }
    expect(body.error.code).toBe(-32020)
    expect(origin.calls).toEqual([])
  })

  it('refuses a client response in the 2026 era', async () => {
    origin.reset()
    const res = await modernPost({ jsonrpc: '2.0', id: 3, result: {} }, { 'mcp-method': 'x' })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32600)
    expect(origin.calls).toEqual([])
  })
})

describe('2026-07-28 Mcp-Param headers', () => {
  it('refuses a request whose unbound Mcp-Param header carries a secret; the origin never sees it', async () => {
    origin.reset()
    const secret = ['ghp', '_', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'].join('')
    const res = await modernPost(
      { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' }, _meta: META } },
      { 'mcp-method': 'tools/call', 'mcp-name': 'echo', 'mcp-param-x-extra': secret },
    )
    expect(res.status).toBe(200)
    expect(((await res.json()) as { id: unknown; error: { code: number } })).toMatchObject({ id: 11, error: { code: -31001 } })
    expect(origin.calls).toEqual([])
  })
})
