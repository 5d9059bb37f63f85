/**
 * The benchmark origin: a minimal stateless MCP server on `node:http` that answers every `tools/call`
 * with a canned result of the size its arguments ask for, as `application/json` or as one
 * `event: message` SSE event.
 *
 * Each size has `VARIANTS` different texts (bench/payloads.ts), picked by the request id, so a firewall that
 * remembers its last verdict or score (the classifier keeps one) cannot answer the next request from
 * that memory: every request in a run is inspected in full, as distinct tool results would be.
 *
 * Deliberately not the official SDK server: its per-request transport and schema validation would
 * cost more than the firewall does, so both sides of the ratio would measure the SDK. A raw server
 * with pre-serialised answers keeps the origin's cost near zero and identical for both Workers.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BENCH_TOOL, VARIANTS, variantOf, variantText } from './payloads.js'
import type { ResponseMode } from './payloads.js'

/** A running origin. */
export interface BenchOrigin {
  /** The MCP endpoint, e.g. `http://127.0.0.1:40123/mcp`. */
  readonly url: string
  /** The exact text content the origin returns for a size and request id (to check what the client received). */
  textFor(size: number, id: number): string
  close(): Promise<void>
}

interface Canned {
  readonly text: string
  /** `,"result":{...}}`: everything after the id. */
  readonly tail: Buffer
}

const HEAD = Buffer.from('{"jsonrpc":"2.0","id":')
const SSE_HEAD = Buffer.from('event: message\ndata: ')
const SSE_TAIL = Buffer.from('\n\n')

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** The one tool the bench origin serves, as its `tools/list` describes it. */
const BENCH_TOOL_DEFINITION = {
  name: BENCH_TOOL,
  description: 'Returns a canned text result of the requested size.',
  inputSchema: { type: 'object', properties: { size: { type: 'integer' }, mode: { type: 'string', enum: ['json', 'sse'] } } },
}

/** The id of a `tools/list` request, or undefined for anything else. */
function toolsListId(body: string): number | string | undefined {
  const msg: unknown = JSON.parse(body)
  if (typeof msg !== 'object' || msg === null || !('method' in msg) || msg.method !== 'tools/list' || !('id' in msg)) return undefined
  return typeof msg.id === 'number' || typeof msg.id === 'string' ? msg.id : undefined
}

/** Reads `{id, size, mode}` out of a `tools/call` request, or undefined for anything else. */
function parseCall(body: string): { id: number | string; size: number; mode: ResponseMode } | undefined {
  const msg: unknown = JSON.parse(body)
  if (typeof msg !== 'object' || msg === null || !('id' in msg) || !('method' in msg) || msg.method !== 'tools/call') return undefined
  const id = msg.id
  if (typeof id !== 'number' && typeof id !== 'string') return undefined
  const params = 'params' in msg ? msg.params : undefined
  const args = typeof params === 'object' && params !== null && 'arguments' in params ? params.arguments : undefined
  if (typeof args !== 'object' || args === null) return undefined
  const size = 'size' in args && typeof args.size === 'number' ? args.size : 1024
  const mode: ResponseMode = 'mode' in args && args.mode === 'sse' ? 'sse' : 'json'
  return { id, size, mode }
}

/** Starts the origin on 127.0.0.1 with a free port, answering results of the given sizes. */
export async function startOrigin(sizes: readonly number[]): Promise<BenchOrigin> {
  const canned = new Map<number, Canned[]>()
  for (const size of sizes) {
    const variants: Canned[] = []
    for (let v = 0; v < VARIANTS; v++) {
      const result = variantText(size, v)
      variants.push({ text: result.content[0]?.text ?? '', tail: Buffer.from(`,"result":${JSON.stringify(result)}}`) })
    }
    canned.set(size, variants)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end()
      return
    }
    const body = await readBody(req)
    const listId = toolsListId(body)
    if (listId !== undefined) {
      // The firewall lists the tools once to pin them before the first call goes through.
      const list = JSON.stringify({ jsonrpc: '2.0', id: listId, result: { tools: [BENCH_TOOL_DEFINITION] } })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(list) }).end(list)
      return
    }
    const call = parseCall(body)
    const answer = call ? canned.get(call.size)?.[variantOf(call.id)] : undefined
    if (!call || !answer) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"bench origin: unsupported request"}}')
      return
    }
    const message = Buffer.concat([HEAD, Buffer.from(JSON.stringify(call.id)), answer.tail])
    if (call.mode === 'json') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': message.length }).end(message)
    } else {
      // Like an SDK server in SSE mode: chunked, one event, then the stream ends.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.end(Buffer.concat([SSE_HEAD, message, SSE_TAIL]))
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(400).end()
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    textFor: (size, id) => canned.get(size)?.[variantOf(id)]?.text ?? '',
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
