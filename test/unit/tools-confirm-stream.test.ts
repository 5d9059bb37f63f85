/**
 * The SSE answer of a legacy sensitive call held for its user (src/proxy/confirm-stream.ts): the question
 * first, comments while waiting, then the refusal or the origin's answer for the call's id, JSON or SSE.
 */
import { describe, expect, it } from 'vitest'
import { FirewallError } from '../../src/errors'
import type { JsonRpcRequest, JsonRpcResponse } from '../../src/mcp/jsonrpc'
import { acceptsEventStream, confirmationStream } from '../../src/proxy/confirm-stream'
import type { HeldCall } from '../../src/tools/gate'

const call: JsonRpcRequest = { jsonrpc: '2.0', id: 42, method: 'tools/call', params: { name: 'transfer_funds', arguments: { amount: 1 } } }
const question: JsonRpcRequest = { jsonrpc: '2.0', id: `mcpfw-confirm-${'f'.repeat(32)}`, method: 'elicitation/create', params: { message: 'Allow?', requestedSchema: { type: 'object', properties: {} } } }
const refusal: JsonRpcResponse = { jsonrpc: '2.0', id: 42, error: { code: -31001, message: 'Blocked by MCP firewall: this call needs an approval', data: { reason: 'approval-required' } } }

/** A held call whose answer the test gives by resolving `decide`. */
function heldCall() {
  let decide!: (v: { forward: JsonRpcRequest } | { answer: JsonRpcResponse }) => void
  const settled = new Promise<{ forward: JsonRpcRequest } | { answer: JsonRpcResponse }>((resolve) => (decide = resolve))
  const held: HeldCall = { question, call, settle: () => settled }
  return { held, decide }
}

/** Every `data:` payload of the SSE body, parsed, with the comments seen. */
async function readAll(res: Response): Promise<{ messages: unknown[]; text: string }> {
  const text = await res.text()
  const messages = text
    .split('\n\n')
    .flatMap((block) => block.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).map((l) => JSON.parse(l.slice(6)) as unknown))
  return { messages, text }
}

const never = async (): Promise<Response> => {
  throw new Error('the origin must not be contacted')
}

describe('confirmationStream', () => {
  it('sends the question, then the refusal for the call’s id, and closes', async () => {
    const { held, decide } = heldCall()
    let settled = 0
    const res = confirmationStream(held, { requestId: 'rq', proceed: never, onSettled: () => settled++ })
    expect(res.status).toBe(200)
    expect(Object.fromEntries(res.headers)).toMatchObject({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no', 'x-request-id': 'rq' })
    decide({ answer: refusal })
    expect((await readAll(res)).messages).toEqual([question, refusal])
    expect(settled).toBe(1)
  })

  it('relays the origin’s JSON answer after a confirmation, on the same stream', async () => {
    const { held, decide } = heldCall()
    const result = { jsonrpc: '2.0', id: 42, result: { content: [{ type: 'text', text: 'done' }] } }
    let forwarded = 0
    const res = confirmationStream(held, {
      requestId: 'rq',
      onSettled: () => undefined,
      proceed: async () => {
        forwarded++
        return new Response(JSON.stringify(result), { headers: { 'content-type': 'application/json' } })
      },
    })
    decide({ forward: call })
    expect((await readAll(res)).messages).toEqual([question, result])
    expect(forwarded).toBe(1)
  })

  it('relays an SSE answer byte for byte (priming event, ids and comments included)', async () => {
    const { held, decide } = heldCall()
    const origin = 'id: s1:0\ndata: \n\n: keepalive\n\nevent: message\nid: s1:1\ndata: {"jsonrpc":"2.0","id":42,"result":{"content":[]}}\n\n'
    const res = confirmationStream(held, { requestId: 'rq', onSettled: () => undefined, proceed: async () => new Response(origin, { headers: { 'content-type': 'text/event-stream' } }) })
    decide({ forward: call })
    const { text } = await readAll(res)
    expect(text).toBe(`event: message\ndata: ${JSON.stringify(question)}\n\n${origin}`)
  })

  it.each([
    [
      'an origin refusal (id null) becomes the answer to the call',
      async () => new Response(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Origin refused the request (HTTP 404)', data: { requestId: 'rq' } } }), { status: 404, headers: { 'content-type': 'application/json' } }),
      { jsonrpc: '2.0', id: 42, error: { code: -32000, message: 'Origin refused the request (HTTP 404)', data: { requestId: 'rq' } } },
    ],
    [
      'a forward that fails becomes its wire error',
      async (): Promise<Response> => {
        throw new FirewallError({ kind: 'origin_timeout' })
      },
      { jsonrpc: '2.0', id: 42, error: { code: -31006, message: 'Origin timed out', data: { requestId: 'rq' } } },
    ],
    ['an origin with no answer at all', async () => new Response(null, { status: 202 }), { jsonrpc: '2.0', id: 42, error: { code: -31007, message: 'Origin sent a response the firewall cannot inspect', data: { requestId: 'rq' } } }],
  ])('%s', async (_name, proceed, expected) => {
    const { held, decide } = heldCall()
    const res = confirmationStream(held, { requestId: 'rq', onSettled: () => undefined, proceed })
    decide({ forward: call })
    expect((await readAll(res)).messages).toEqual([question, expected])
  })

  it('keeps the stream alive with comments while the user decides', async () => {
    const { held, decide } = heldCall()
    const res = confirmationStream(held, { requestId: 'rq', proceed: never, onSettled: () => undefined, keepAliveMs: 5 })
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    let seen = ''
    while (!seen.includes(': waiting for the user to confirm\n\n')) seen += (await reader.read()).value ?? ''
    decide({ answer: refusal })
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      seen += value
    }
    expect(seen.startsWith(`event: message\ndata: ${JSON.stringify(question)}\n\n`)).toBe(true)
    expect(seen.endsWith(`event: message\ndata: ${JSON.stringify(refusal)}\n\n`)).toBe(true)
  })

  it('forwards nothing once the client has gone', async () => {
    const { held, decide } = heldCall()
    let forwarded = 0
    let settle!: () => void
    const settledSeen = new Promise<void>((resolve) => (settle = resolve))
    const res = confirmationStream(held, {
      requestId: 'rq',
      onSettled: () => settle(),
      proceed: async () => {
        forwarded++
        return new Response('{}', { headers: { 'content-type': 'application/json' } })
      },
    })
    await res.body!.cancel()
    decide({ forward: call })
    await settledSeen
    await new Promise((resolve) => setTimeout(resolve, 0)) // one turn: a forward would have started by now
    expect(forwarded).toBe(0)
  })
})

describe('acceptsEventStream', () => {
  it.each([
    ['application/json, text/event-stream', true],
    ['text/event-stream;q=0.9', true],
    ['TEXT/EVENT-STREAM', true],
    ['application/json', false],
    [null, false],
  ])('%s → %s', (accept, expected) => {
    expect(acceptsEventStream(accept)).toBe(expected)
  })
})
