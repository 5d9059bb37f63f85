/**
 * The tool-integrity bench's origin (bench/tools.ts): like bench/origin.ts a raw `node:http` server with
 * pre-serialised answers, but it also serves `tools/list` (200 realistic tools plus the bench tool, whose
 * `inputSchema` and `outputSchema` the firewall checks every call against) and answers `tools/call` with
 * text content and matching `structuredContent`. Runs in its own process (`--serve`), like the other.
 */
import { fork } from 'node:child_process'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { BENCH_TOOL, toolsCallResult, toolsListResult } from './payloads.js'

/** The bench tool's definition: its arguments pick the size and transport of the answer. */
export const BENCH_TOOL_DEFINITION = {
  name: BENCH_TOOL,
  title: 'Fetch report',
  description: 'Returns a report of about `size` bytes as text and as structured content.',
  inputSchema: {
    type: 'object',
    properties: { size: { type: 'integer', minimum: 1, maximum: 1_048_576 }, mode: { type: 'string', enum: ['json', 'sse'] } },
    required: ['size'],
  },
  outputSchema: {
    type: 'object',
    properties: { summary: { type: 'string', pattern: '^[A-Z]' }, rows: { type: 'integer', minimum: 0 } },
    required: ['summary', 'rows'],
  },
  annotations: { title: 'Fetch report', readOnlyHint: true },
}

/** Every definition the origin lists. */
export function benchTools(count: number): unknown[] {
  return [...toolsListResult(count).tools, BENCH_TOOL_DEFINITION]
}

/** A `tools/call` result of about `size` bytes: half text content, half structured content. */
export function structuredResult(size: number): { content: Array<{ type: 'text'; text: string }>; structuredContent: { summary: string; rows: number } } {
  const text = toolsCallResult(Math.round(size / 2)).content[0]?.text ?? ''
  const summary = `R${(toolsCallResult(Math.round(size / 2), size + 1).content[0]?.text ?? '').slice(1)}`
  return { content: [{ type: 'text', text }], structuredContent: { summary, rows: 42 } }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

async function serve(sizes: readonly number[], toolCount: number): Promise<{ url: string; close: () => Promise<void> }> {
  const list = Buffer.from(`,"result":${JSON.stringify({ tools: benchTools(toolCount) })}}`)
  const calls = new Map(sizes.map((s) => [s, Buffer.from(`,"result":${JSON.stringify(structuredResult(s))}}`)]))
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const msg = JSON.parse(await readBody(req)) as { id?: unknown; method?: unknown; params?: { arguments?: { size?: unknown; mode?: unknown } } }
    const id = JSON.stringify(msg.id ?? null)
    const size = typeof msg.params?.arguments?.size === 'number' ? msg.params.arguments.size : 0
    const tail = msg.method === 'tools/list' ? list : msg.method === 'tools/call' ? calls.get(size) : undefined
    if (!tail) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"bench origin: unsupported request"}}')
      return
    }
    const message = Buffer.concat([Buffer.from(`{"jsonrpc":"2.0","id":${id}`), tail])
    if (msg.params?.arguments?.mode !== 'sse') res.writeHead(200, { 'content-type': 'application/json', 'content-length': message.length }).end(message)
    else {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.end(Buffer.concat([Buffer.from('event: message\ndata: '), message, Buffer.from('\n\n')]))
    }
  }
  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()))
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  }
}

const SELF = fileURLToPath(import.meta.url)

/** Forks the origin process and waits for its URL. */
export async function startToolsOrigin(sizes: readonly number[], toolCount: number): Promise<{ url: string; close: () => Promise<void> }> {
  const child = fork(SELF, ['--serve', sizes.join(','), String(toolCount)], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => (typeof m === 'string' ? resolve(m) : reject(new Error('origin: bad hello'))))
    child.once('exit', (code) => reject(new Error(`origin exited with ${code}`)))
  })
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.disconnect()
      }),
  }
}

if (process.argv[1] === SELF && process.argv[2] === '--serve' && process.send) {
  const origin = await serve((process.argv[3] ?? '').split(',').map(Number), Number(process.argv[4] ?? 200))
  process.send(origin.url)
  process.once('disconnect', () => void origin.close().finally(() => process.exit(0)))
}
