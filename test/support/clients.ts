/**
 * Connect the official MCP SDK clients the way a real host would: the 1.32.2 client (legacy era,
 * `initialize` + sessions + GET stream) and the v2 client pinned to 2026-07-28. Both answer sampling
 * and elicitation with stubs a test can override, and keep every request and notification they saw.
 */
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client'
import type {
  CreateMessageRequest as ModernCreateMessageRequest,
  CreateMessageResult as ModernCreateMessageResult,
  ElicitRequest as ModernElicitRequest,
  ElicitResult as ModernElicitResult,
} from '@modelcontextprotocol/client'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport, type StreamableHTTPReconnectionOptions } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  type ClientCapabilities,
  type CreateMessageRequest,
  type CreateMessageResult,
  type ElicitRequest,
  type ElicitResult,
  type Notification,
} from '@modelcontextprotocol/sdk/types.js'

/** The sampling reply both clients send unless a test supplies its own. */
export const STUB_SAMPLING_TEXT = 'stub sampling reply'

/** Options shared by both clients. */
interface CommonClientOptions {
  /** Extra request headers (e.g. `Authorization`, `Origin`). */
  headers?: Record<string, string>
  /** Client name in `clientInfo` (default `fw-e2e`). */
  name?: string
  /** A fetch wrapper to observe or tamper with raw exchanges. */
  fetch?: typeof fetch
}

/** Options for {@link mcpClient}. */
export interface LegacyClientOptions extends CommonClientOptions {
  /** Answers `sampling/createMessage` (default: assistant text {@link STUB_SAMPLING_TEXT}). */
  onSampling?: (request: CreateMessageRequest) => CreateMessageResult | Promise<CreateMessageResult>
  /** Answers `elicitation/create` (default: accept with `{ answer: 'stub answer' }`). */
  onElicitation?: (request: ElicitRequest) => ElicitResult | Promise<ElicitResult>
  /** Declared capabilities (default: sampling and form elicitation). */
  capabilities?: ClientCapabilities
  /** SSE reconnection policy (the SDK defaults to 1 s initial delay, 2 retries). */
  reconnectionOptions?: StreamableHTTPReconnectionOptions
}

/** A connected legacy-era client. */
export interface LegacyClient {
  readonly client: Client
  readonly transport: StreamableHTTPClientTransport
  /** Notifications without a dedicated handler (logs, list_changed, resources/updated …), in order. */
  readonly notifications: Notification[]
  readonly samplingRequests: CreateMessageRequest[]
  readonly elicitationRequests: ElicitRequest[]
  /** Resolves with the first notification of `method` (already received or future). */
  waitForNotification(method: string, timeoutMs?: number): Promise<Notification>
  /** Sends DELETE for the session, then closes. */
  terminate(): Promise<void>
  close(): Promise<void>
}

function notificationWaiter(list: Notification[]): {
  push: (n: Notification) => void
  wait: (method: string, timeoutMs?: number) => Promise<Notification>
} {
  const waiters = new Set<(n: Notification) => void>()
  return {
    push(n) {
      list.push(n)
      for (const w of [...waiters]) w(n)
    },
    wait(method, timeoutMs = 10_000) {
      const found = list.find((n) => n.method === method)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error(`no '${method}' notification within ${timeoutMs} ms`))
        }, timeoutMs)
        const waiter = (n: Notification): void => {
          if (n.method !== method) return
          clearTimeout(timer)
          waiters.delete(waiter)
          resolve(n)
        }
        waiters.add(waiter)
      })
    },
  }
}

/**
 * Connects the SDK 1.32.2 client (`initialize`, `notifications/initialized`, then the GET stream).
 *
 * @example
 * const c = await mcpClient(fw.tenantUrl('acme'))
 * const r = await c.client.callTool({ name: 'echo', arguments: { message: 'hi' } })
 * await c.close()
 */
export async function mcpClient(url: string | URL, opts: LegacyClientOptions = {}): Promise<LegacyClient> {
  const capabilities = opts.capabilities ?? { sampling: {}, elicitation: { form: {} } }
  const client = new Client({ name: opts.name ?? 'fw-e2e', version: '0.0.1' }, { capabilities })
  const notifications: Notification[] = []
  const samplingRequests: CreateMessageRequest[] = []
  const elicitationRequests: ElicitRequest[] = []
  const waiter = notificationWaiter(notifications)
  client.fallbackNotificationHandler = async (n) => waiter.push(n)
  // The SDK refuses a handler for a capability the client did not declare.
  if (capabilities.sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      samplingRequests.push(request)
      if (opts.onSampling) return opts.onSampling(request)
      return { role: 'assistant', model: 'stub', stopReason: 'endTurn', content: { type: 'text', text: STUB_SAMPLING_TEXT } }
    })
  }
  if (capabilities.elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicitationRequests.push(request)
      if (opts.onElicitation) return opts.onElicitation(request)
      return { action: 'accept', content: { answer: 'stub answer' } }
    })
  }
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(opts.headers ? { requestInit: { headers: opts.headers } } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.reconnectionOptions ? { reconnectionOptions: opts.reconnectionOptions } : {}),
  })
  await client.connect(transport)
  return {
    client,
    transport,
    notifications,
    samplingRequests,
    elicitationRequests,
    waitForNotification: waiter.wait,
    async terminate() {
      await transport.terminateSession()
      await client.close()
    },
    close: () => client.close(),
  }
}

/** Options for {@link modernClient}. */
export interface ModernClientOptions extends CommonClientOptions {
  /** Answers embedded `sampling/createMessage` input requests (default: stub text). */
  onSampling?: (request: ModernCreateMessageRequest) => ModernCreateMessageResult | Promise<ModernCreateMessageResult>
  /** Answers embedded `elicitation/create` input requests (default: accept `{ answer: 'stub answer' }`). */
  onElicitation?: (request: ModernElicitRequest) => ModernElicitResult | Promise<ModernElicitResult>
  /** `pin` (default): 2026-07-28 or fail; `auto`: probe with `server/discover`, fall back to legacy. */
  negotiation?: 'pin' | 'auto'
  /** Declared capabilities (default: sampling and form elicitation); handlers are registered for these only. */
  capabilities?: { sampling?: Record<string, never>; elicitation?: { form?: Record<string, never>; url?: Record<string, never> } }
}

/** A connected v2 client. */
export interface ModernClientHandle {
  readonly client: ModernClient
  readonly transport: ModernTransport
  readonly samplingRequests: ModernCreateMessageRequest[]
  readonly elicitationRequests: ModernElicitRequest[]
  close(): Promise<void>
}

/**
 * Connects `@modelcontextprotocol/client` 2.4.0 pinned to 2026-07-28 (`server/discover`, no session).
 *
 * @example
 * const c = await modernClient(modern.url)
 * await c.client.callTool({ name: 'echo', arguments: { message: 'hi' } })
 */
export async function modernClient(url: string | URL, opts: ModernClientOptions = {}): Promise<ModernClientHandle> {
  const capabilities = opts.capabilities ?? { sampling: {}, elicitation: { form: {} } }
  const client = new ModernClient(
    { name: opts.name ?? 'fw-e2e-modern', version: '0.0.1' },
    { capabilities, versionNegotiation: { mode: opts.negotiation === 'auto' ? 'auto' : { pin: '2026-07-28' } } },
  )
  const samplingRequests: ModernCreateMessageRequest[] = []
  const elicitationRequests: ModernElicitRequest[] = []
  if (capabilities.sampling) {
    client.setRequestHandler('sampling/createMessage', async (request) => {
      samplingRequests.push(request)
      if (opts.onSampling) return opts.onSampling(request)
      return { role: 'assistant', model: 'stub', stopReason: 'endTurn', content: { type: 'text', text: STUB_SAMPLING_TEXT } }
    })
  }
  if (capabilities.elicitation) {
    client.setRequestHandler('elicitation/create', async (request) => {
      elicitationRequests.push(request)
      if (opts.onElicitation) return opts.onElicitation(request)
      return { action: 'accept', content: { answer: 'stub answer' } }
    })
  }
  const transport = new ModernTransport(new URL(url), {
    ...(opts.headers ? { requestInit: { headers: opts.headers } } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  })
  await client.connect(transport)
  return { client, transport, samplingRequests, elicitationRequests, close: () => client.close() }
}
