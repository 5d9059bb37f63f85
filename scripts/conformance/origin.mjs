#!/usr/bin/env node
// An SDK 1.32.2 origin serving what the @modelcontextprotocol/conformance 0.1.16 server scenarios
// expect (the npm package ships no reference server). Stateful Streamable HTTP with an event store,
// Host/Origin checks for DNS-rebinding protection, on 127.0.0.1.
//   node scripts/conformance/origin.mjs [port]     → http://localhost:<port>/mcp
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js'
import { completable } from '@modelcontextprotocol/sdk/server/completable.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  isInitializeRequest,
} from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { PNG, TOOLS } from './tools.mjs'

/** Per-session event store: ids are `<stream>:<seq>`; priming events (`{}`) are never replayed. */
class EventStore {
  #events = new Map()
  #seq = 0
  async storeEvent(streamId, message) {
    const id = `${streamId}:${++this.#seq}`
    this.#events.set(id, { streamId, seq: this.#seq, message })
    return id
  }
  async getStreamIdForEventId(eventId) {
    return this.#events.get(eventId)?.streamId
  }
  async replayEventsAfter(lastEventId, { send }) {
    const last = this.#events.get(lastEventId)
    if (!last) return ''
    for (const [id, e] of this.#events) {
      if (e.streamId === last.streamId && e.seq > last.seq && 'jsonrpc' in e.message) await send(id, e.message)
    }
    return last.streamId
  }
}

const userText = (text) => ({ role: 'user', content: { type: 'text', text } })

function buildServer() {
  const mcp = new McpServer(
    { name: 'fw-conformance-origin', version: '1.0.0' },
    { capabilities: { logging: {}, resources: { subscribe: true, listChanged: true }, prompts: { listChanged: true } } },
  )
  const server = mcp.server
  server.registerCapabilities({ tools: { listChanged: true } })
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS.map((t) => t.definition) }))
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const tool = TOOLS.find((t) => t.definition.name === request.params.name)
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Tool ${request.params.name} not found`)
    return tool.run(request.params.arguments ?? {}, extra)
  })
  server.setRequestHandler(SubscribeRequestSchema, () => ({}))
  server.setRequestHandler(UnsubscribeRequestSchema, () => ({}))

  const textResource = (name, uri, text, description) =>
    mcp.registerResource(name, uri, { description, mimeType: 'text/plain' }, (u) => ({ contents: [{ uri: u.href, mimeType: 'text/plain', text }] }))
  textResource('static-text', 'test://static-text', 'This is the content of the static text resource.', 'A static text resource')
  textResource('watched-resource', 'test://watched-resource', 'Watched resource content.', 'A resource clients can subscribe to')
  mcp.registerResource('static-binary', 'test://static-binary', { description: 'A static PNG', mimeType: 'image/png' }, (u) => ({
    contents: [{ uri: u.href, mimeType: 'image/png', blob: PNG }],
  }))
  mcp.registerResource(
    'template-data',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'Data for an id', mimeType: 'application/json' },
    (u, { id }) => ({
      contents: [{ uri: u.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }],
    }),
  )

  mcp.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, () => ({
    messages: [userText('This is a simple prompt for testing.')],
  }))
  const suggestions = ['paris', 'park', 'party', 'test', 'testing']
  mcp.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two arguments',
      argsSchema: {
        arg1: completable(z.string().describe('First test argument'), (value) => suggestions.filter((s) => s.startsWith(value ?? ''))),
        arg2: z.string().describe('Second test argument'),
      },
    },
    ({ arg1, arg2 }) => ({ messages: [userText(`Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`)] }),
  )
  mcp.registerPrompt(
    'test_prompt_with_embedded_resource',
    { description: 'A prompt embedding a resource', argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') } },
    ({ resourceUri }) => ({
      messages: [
        { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
        userText('Please process the embedded resource above.'),
      ],
    }),
  )
  mcp.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, () => ({
    messages: [{ role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } }, userText('Please analyze the image above.')],
  }))
  return mcp
}

// DNS-rebinding protection (2025-11-25 transports §Security Warning): loopback Host only, and an
// Origin, when present, must be loopback too.
const LOOPBACK = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/
function rebindingRefusal(req) {
  if (!LOOPBACK.test(req.headers.host ?? '')) return 'Invalid Host header'
  const origin = req.headers.origin
  if (origin !== undefined) {
    try {
      if (!LOOPBACK.test(new URL(origin).host)) return 'Invalid Origin header'
    } catch {
      return 'Invalid Origin header'
    }
  }
  return undefined
}

function sendError(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }))
}

async function readJson(req) {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  const raw = Buffer.concat(chunks).toString('utf8')
  return raw === '' ? undefined : JSON.parse(raw)
}

/**
 * Starts the origin; resolves with its URL (on `localhost`, which the dns-rebinding scenario needs),
 * the requests it refused for their Host/Origin (to tell whether a proxy in front refused them
 * first), and a `close()`.
 */
export async function startConformanceOrigin({ port = 0 } = {}) {
  const sessions = new Map()
  /** @type {{ host?: string, origin?: string, reason: string }[]} */
  const refused = []
  const handle = async (req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/mcp') return sendError(res, 404, -32601, 'Not found')
    const refusal = rebindingRefusal(req)
    if (refusal) {
      refused.push({ host: req.headers.host, origin: req.headers.origin, reason: refusal })
      return sendError(res, 403, -32000, `Forbidden: ${refusal}`)
    }
    const sessionId = req.headers['mcp-session-id']
    if (typeof sessionId === 'string') {
      const transport = sessions.get(sessionId)
      if (!transport) return sendError(res, 404, -32001, 'Session not found')
      return transport.handleRequest(req, res)
    }
    let body
    try {
      body = req.method === 'POST' ? await readJson(req) : undefined
    } catch {
      return sendError(res, 400, -32700, 'Parse error')
    }
    if (!isInitializeRequest(body)) return sendError(res, 400, -32000, 'Bad Request: No valid session ID provided')
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new EventStore(),
      retryInterval: 500,
      onsessioninitialized: (id) => sessions.set(id, transport),
    })
    transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId)
    await buildServer().connect(transport)
    await transport.handleRequest(req, res, body)
  }
  const http = createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error('conformance origin:', err)
      if (!res.headersSent) sendError(res, 500, -32603, 'Internal error')
    })
  })
  await new Promise((resolve) => http.listen(port, '127.0.0.1', resolve))
  const bound = http.address().port
  return {
    url: `http://localhost:${bound}/mcp`,
    port: bound,
    refused,
    close: () =>
      new Promise((resolve) => {
        for (const t of sessions.values()) t.close().catch(() => undefined)
        http.close(() => resolve())
        http.closeAllConnections()
      }),
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const origin = await startConformanceOrigin({ port: Number(process.argv[2] ?? process.env.PORT ?? 3000) })
  console.log(`conformance origin on ${origin.url}`)
  const stop = () => origin.close().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
