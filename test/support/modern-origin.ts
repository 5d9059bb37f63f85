/**
 * `startModernOrigin()`: a 2026-07-28 (modern, stateless) MCP server built with
 * `@modelcontextprotocol/server` 2.4.0 (`createMcpHandler`, a fresh `McpServer` per request) on
 * node:http at 127.0.0.1, recording every request like the legacy origin does.
 */
import type { EventEmitter } from 'node:events'
import { createServer } from 'node:http'
import {
  acceptedContent,
  createMcpHandler,
  fromJsonSchema,
  inputRequired,
  McpServer,
  type CallToolResult,
  type JsonSchemaType,
} from '@modelcontextprotocol/server'
import { z } from 'zod'
import { closeServer, listenLoopback, serveRecorded } from './http-bridge.js'
import { CallRecorder, type RecordedCall, type RecorderEvents, type ToolInvocation, type WaitOptions } from './recorder.js'

/** A tool with a test-supplied definition and result. */
export interface ModernExtraTool {
  readonly name: string
  readonly description?: string
  /** JSON Schema of the arguments (default: an empty object schema). */
  readonly inputSchema?: JsonSchemaType
  readonly result: CallToolResult | ((args: Record<string, unknown>) => CallToolResult | Promise<CallToolResult>)
}

/** Options for {@link startModernOrigin}. */
export interface ModernOriginOptions {
  /** Endpoint path (default `/mcp`). */
  path?: string
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number
  /** `auto` (default): JSON unless the handler notifies first; `sse`: always stream; `json`: never. */
  responseMode?: 'auto' | 'sse' | 'json'
  /** 2025-era requests: served statelessly (default, the SDK's default) or rejected. */
  legacy?: 'stateless' | 'reject'
  /** Tools served besides `echo`, `confirm` and `slow`. */
  extraTools?: ModernExtraTool[]
}

/** A running modern origin. */
export interface ModernOrigin {
  /** The MCP endpoint, e.g. `http://127.0.0.1:41234/mcp`. */
  readonly url: string
  readonly port: number
  /** Every HTTP request received, in order. */
  readonly calls: RecordedCall[]
  /** Tool handler runs that produced a final result (an `input_required` round is not one). */
  readonly invocations: ToolInvocation[]
  /** `request`, `response`, `aborted`, `finished`, `invocation`, `invocationEnd`. */
  readonly events: EventEmitter<RecorderEvents>
  /** Mutable: replaced tools apply to the next request (every request builds a new server). */
  extraTools: ModernExtraTool[]
  /** Resolves with the first call matching `match` (already received or future). */
  waitForCall(match: (call: RecordedCall) => boolean, opts?: WaitOptions): Promise<RecordedCall>
  /** Resolves when the client disconnected from a call matching `match` mid-response. */
  waitForAbort(match?: (call: RecordedCall) => boolean, opts?: WaitOptions): Promise<RecordedCall>
  /** Resolves when a tool invocation matching `match` has ended. */
  waitForInvocationEnd(match: (inv: ToolInvocation) => boolean, opts?: WaitOptions): Promise<ToolInvocation>
  /** Forgets recorded calls and invocations. */
  reset(): void
  close(): Promise<void>
}

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] })

/** Starts a 2026-07-28 SDK origin on 127.0.0.1. */
export async function startModernOrigin(opts: ModernOriginOptions = {}): Promise<ModernOrigin> {
  const path = opts.path ?? '/mcp'
  const recorder = new CallRecorder()
  const state = { extraTools: opts.extraTools ?? [] }

  const track = async (
    name: string,
    args: Record<string, unknown>,
    id: string | number,
    signal: AbortSignal,
    run: () => Promise<CallToolResult> | CallToolResult,
  ): Promise<CallToolResult> => {
    const { end } = recorder.invoke(name, args, id, undefined)
    try {
      const result = await run()
      end(signal.aborted ? 'cancelled' : 'completed')
      return result
    } catch (err) {
      end(signal.aborted ? 'cancelled' : 'failed')
      throw err
    }
  }

  const build = (): McpServer => {
    const server = new McpServer({ name: 'fw-test-modern-origin', version: '1.0.0' })
    server.registerTool(
      'echo',
      { description: 'Returns the message unchanged.', inputSchema: z.object({ message: z.string() }) },
      (args, ctx) => track('echo', args, ctx.mcpReq.id, ctx.mcpReq.signal, () => text(args.message)),
    )
    const answer = z.object({ answer: z.string() })
    server.registerTool(
      'confirm',
      { description: 'Asks the user a question through an input_required result (MRTR).', inputSchema: z.object({ question: z.string() }) },
      (args, ctx) => {
        const got = acceptedContent(ctx.mcpReq.inputResponses, 'answer', answer)
        if (!got) {
          return inputRequired({ inputRequests: { answer: inputRequired.elicit({ message: args.question, requestedSchema: answer }) } })
        }
        return track('confirm', args, ctx.mcpReq.id, ctx.mcpReq.signal, () => text(`answer: ${got.answer}`))
      },
    )
    server.registerTool(
      'slow',
      { description: 'Waits `ms` milliseconds; a client disconnect cancels it (2026-07-28).', inputSchema: z.object({ ms: z.number() }) },
      (args, ctx) =>
        track('slow', args, ctx.mcpReq.id, ctx.mcpReq.signal, async () => {
          const signal = ctx.mcpReq.signal
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, args.ms)
            signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
          })
          return text(signal.aborted ? 'interrupted' : `slept ${args.ms} ms`)
        }),
    )
    for (const tool of state.extraTools) {
      server.registerTool(
        tool.name,
        {
          ...(tool.description !== undefined ? { description: tool.description } : {}),
          inputSchema: fromJsonSchema<Record<string, unknown>>(tool.inputSchema ?? { type: 'object', properties: {} }),
        },
        (args: Record<string, unknown>, ctx) =>
          track(tool.name, args, ctx.mcpReq.id, ctx.mcpReq.signal, () =>
            typeof tool.result === 'function' ? tool.result(args) : tool.result,
          ),
      )
    }
    return server
  }

  const handler = createMcpHandler(build, {
    legacy: opts.legacy ?? 'stateless',
    responseMode: opts.responseMode ?? 'auto',
  })
  const http = createServer((req, res) => {
    serveRecorded(req, res, recorder, async (request) => {
      if (new URL(request.url).pathname !== path) return { response: new Response('not found', { status: 404 }) }
      return { response: await handler.fetch(request) }
    }).catch(() => res.destroy())
  })
  const port = await listenLoopback(http, opts.port ?? 0)
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    calls: recorder.calls,
    invocations: recorder.invocations,
    events: recorder.events,
    get extraTools() {
      return state.extraTools
    },
    set extraTools(tools) {
      state.extraTools = tools
    },
    waitForCall: (match, o) => recorder.waitForCall(match, o),
    waitForAbort: (match, o) => recorder.waitForAbort(match, o),
    waitForInvocationEnd: (match, o) => recorder.waitForInvocationEnd(match, o),
    reset: () => recorder.clear(),
    async close() {
      await handler.close()
      await closeServer(http)
    },
  }
}
