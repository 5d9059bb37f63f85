/**
 * `startOrigin()`: a real legacy-era (2025-03-26 … 2025-11-25) MCP server built with the official SDK
 * 1.32.2 (`McpServer` + the SDK's Streamable HTTP server transport) on node:http at 127.0.0.1, which
 * records every HTTP request it receives. E2E tests put it behind the firewall and assert on what
 * reached it.
 *
 * @example
 * const origin = await startOrigin({ mode: 'json', stateful: true })
 * origin.setTools([{ definition: { name: 'x', description: 'poisoned…', inputSchema: { type: 'object' } }, result: { content: [] } }])
 * // … drive the firewall …
 * expect(origin.calls.filter((c) => c.method === 'POST')).toHaveLength(0)
 * await origin.close()
 */
import { randomUUID } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import { createServer } from 'node:http'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import type { ServerNotification } from '@modelcontextprotocol/sdk/types.js'
import { InMemoryEventStore } from './event-store.js'
import { closeServer, jsonRpcErrorResponse, listenLoopback, serveRecorded, type Handled } from './http-bridge.js'
import { createOriginServer, defaultBehaviour, type OriginBehaviour } from './origin-server.js'
import type { ExtraTool } from './origin-tools.js'
import { CallRecorder, type RecordedCall, type RecorderEvents, type ToolInvocation, type WaitOptions } from './recorder.js'

export type { ExtraTool, ToolContext, ToolResultSource } from './origin-tools.js'
export { RESOURCE_URI } from './origin-tools.js'
export type { OriginBehaviour } from './origin-server.js'
export type { RecordedCall, ToolInvocation, WaitOptions } from './recorder.js'

/** How the origin answers. */
export interface OriginOptions {
  /** `sse` (default): requests are answered on an SSE stream; `json`: `enableJsonResponse`. */
  mode?: 'sse' | 'json'
  /** Sessions with `Mcp-Session-Id` (default true); false = a fresh server per request. */
  stateful?: boolean
  /** Keep events for priming and `Last-Event-ID` resumption (default true). */
  eventStore?: boolean
  /** `retry:` hint (ms) sent with priming events. */
  retryInterval?: number
  /** SSE keep-alive comment interval; 0 disables (default: the SDK's 15 s). */
  keepAliveMs?: number
  /** Endpoint path (default `/mcp`). */
  path?: string
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number
  /** Initial behaviour overrides. */
  behaviour?: Partial<OriginBehaviour>
  /** Serve 2025-11-25 tasks from one in-memory store shared by every session (the SDK binds a task to its session, if any). */
  tasks?: boolean
}

/** A running test origin. */
export interface Origin {
  /** The MCP endpoint, e.g. `http://127.0.0.1:41234/mcp`. */
  readonly url: string
  readonly port: number
  /** Every HTTP request received, in order. */
  readonly calls: RecordedCall[]
  /** Every `tools/call` handled, in order. */
  readonly invocations: ToolInvocation[]
  /** `request`, `response`, `aborted`, `finished`, `invocation`, `invocationEnd`. */
  readonly events: EventEmitter<RecorderEvents>
  /** Mutable behaviour (tools change immediately; `instructions` applies to new sessions). */
  readonly behaviour: OriginBehaviour
  /** Replaces the extra tools and (unless `notify: false`) sends `tools/list_changed` to every session. */
  setTools(tools: ExtraTool[], opts?: { notify?: boolean }): Promise<void>
  /** Sends a notification on every session's standalone GET stream; resolves with the session count. */
  broadcast(notification: ServerNotification): Promise<number>
  /** Ids of the live sessions. */
  sessionIds(): string[]
  /** The event store of a session (stateful mode with `eventStore`). */
  eventStore(sessionId: string): InMemoryEventStore | undefined
  /** Ends a session from the server side; its id then answers 404. */
  closeSession(sessionId: string): Promise<void>
  /** Resolves with the first call matching `match` (already received or future). */
  waitForCall(match: (call: RecordedCall) => boolean, opts?: WaitOptions): Promise<RecordedCall>
  /** Resolves when the client disconnected from a call matching `match` mid-response. */
  waitForAbort(match?: (call: RecordedCall) => boolean, opts?: WaitOptions): Promise<RecordedCall>
  /** Resolves when a call matching `match` has its response head sent (e.g. the GET stream is open). */
  waitForResponse(match: (call: RecordedCall) => boolean, opts?: WaitOptions): Promise<RecordedCall>
  /** Resolves when a tool invocation matching `match` has ended. */
  waitForInvocationEnd(match: (inv: ToolInvocation) => boolean, opts?: WaitOptions): Promise<ToolInvocation>
  /** Forgets recorded calls and invocations. */
  reset(): void
  close(): Promise<void>
}

interface Session {
  readonly transport: WebStandardStreamableHTTPServerTransport
  readonly server: McpServer
  readonly store: InMemoryEventStore | undefined
}

function isInitialize(body: unknown): boolean {
  const isInit = (m: unknown): boolean => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize'
  return Array.isArray(body) ? body.some(isInit) : isInit(body)
}

/** Starts a legacy-era SDK origin on 127.0.0.1. */
export async function startOrigin(opts: OriginOptions = {}): Promise<Origin> {
  const path = opts.path ?? '/mcp'
  const stateful = opts.stateful ?? true
  const behaviour: OriginBehaviour = { ...defaultBehaviour(), ...opts.behaviour }
  const recorder = new CallRecorder()
  const shutdown = new AbortController()
  const sessions = new Map<string, Session>()
  const taskStore = opts.tasks ? new InMemoryTaskStore() : undefined

  const newSession = (): Session => {
    const store = opts.eventStore === false ? undefined : new InMemoryEventStore()
    const transport = new WebStandardStreamableHTTPServerTransport({
      ...(stateful ? { sessionIdGenerator: randomUUID } : {}),
      enableJsonResponse: opts.mode === 'json',
      ...(store ? { eventStore: store } : {}),
      ...(opts.retryInterval !== undefined ? { retryInterval: opts.retryInterval } : {}),
      ...(opts.keepAliveMs !== undefined ? { keepAliveMs: opts.keepAliveMs } : {}),
    })
    const server = createOriginServer({ behaviour, recorder, shutdown: shutdown.signal, ...(taskStore ? { taskStore } : {}) })
    const session: Session = { transport, server, store }
    if (stateful) {
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId)
      }
    }
    return session
  }

  const handle = async (request: Request, call: RecordedCall): Promise<Handled> => {
    if (new URL(request.url).pathname !== path) return { response: new Response('not found', { status: 404 }) }
    if (!stateful) {
      const session = newSession()
      await session.server.connect(session.transport)
      const response = await session.transport.handleRequest(request)
      return { response, done: () => session.server.close() }
    }
    const sessionId = request.headers.get('mcp-session-id')
    if (sessionId) {
      const session = sessions.get(sessionId)
      if (!session) return { response: jsonRpcErrorResponse(404, -32001, 'Session not found') }
      return { response: await session.transport.handleRequest(request) }
    }
    if (request.method !== 'POST' || !isInitialize(call.body)) {
      return { response: jsonRpcErrorResponse(400, -32000, 'Bad Request: No valid session ID provided') }
    }
    const session = newSession()
    await session.server.connect(session.transport)
    const response = await session.transport.handleRequest(request)
    const id = session.transport.sessionId
    if (id) sessions.set(id, session)
    else await session.server.close() // the SDK refused the initialize (bad Accept, invalid JSON-RPC …)
    return { response }
  }

  const http = createServer((req, res) => {
    serveRecorded(req, res, recorder, handle).catch(() => res.destroy())
  })
  const port = await listenLoopback(http, opts.port ?? 0)

  const broadcast = async (notification: ServerNotification): Promise<number> => {
    const live = [...sessions.values()]
    await Promise.all(live.map((s) => s.server.server.notification(notification)))
    return live.length
  }

  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    calls: recorder.calls,
    invocations: recorder.invocations,
    events: recorder.events,
    behaviour,
    async setTools(tools, setOpts) {
      behaviour.extraTools = tools
      if (setOpts?.notify !== false) await broadcast({ method: 'notifications/tools/list_changed' })
    },
    broadcast,
    sessionIds: () => [...sessions.keys()],
    eventStore: (id) => sessions.get(id)?.store,
    async closeSession(id) {
      const session = sessions.get(id)
      sessions.delete(id)
      await session?.server.close()
    },
    waitForCall: (match, o) => recorder.waitForCall(match, o),
    waitForAbort: (match, o) => recorder.waitForAbort(match, o),
    waitForResponse: (match, o) => recorder.waitForResponse(match, o),
    waitForInvocationEnd: (match, o) => recorder.waitForInvocationEnd(match, o),
    reset: () => recorder.clear(),
    async close() {
      shutdown.abort()
      await Promise.all([...sessions.values()].map((s) => s.server.close()))
      sessions.clear()
      taskStore?.cleanup() // its ttl timers would keep the process alive
      await closeServer(http)
    },
  }
}
