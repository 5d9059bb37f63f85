/**
 * The tools the legacy-era test origin serves. Definitions are raw JSON (not zod), so a test can put
 * any bytes it likes into `tools/list` — a poisoned description, odd schema keys — and the origin
 * serves them verbatim.
 */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  McpError,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js'

/** The SDK's per-request context handed to tool handlers. */
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** What a tool handler may use besides its arguments. */
export interface ToolContext {
  readonly extra: ToolExtra
  /** Sends a notification that is not tied to this request, i.e. on the session's standalone GET stream. */
  readonly notifyUnrelated: (notification: ServerNotification) => Promise<void>
  /** Aborted when the origin shuts down, so long waits end with it. */
  readonly shutdown: AbortSignal
}

/** A tool result: fixed, or computed from the call's arguments. */
export type ToolResultSource =
  | CallToolResult
  | ((args: Record<string, unknown>, ctx: ToolContext) => CallToolResult | Promise<CallToolResult>)

/** A tool whose `tools/list` entry and result the test supplies. */
export interface ExtraTool {
  /** The exact `tools/list` entry. */
  readonly definition: Tool
  readonly result: ToolResultSource
}

/** The URI of the origin's one resource. */
export const RESOURCE_URI = 'fixture://readme'

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] })

function stringArg(args: Record<string, unknown>, name: string, fallback?: string): string {
  const value = args[name] ?? fallback
  if (typeof value !== 'string') throw new McpError(ErrorCode.InvalidParams, `argument '${name}' must be a string`)
  return value
}

function numberArg(args: Record<string, unknown>, name: string, fallback?: number): number {
  const value = args[name] ?? fallback
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new McpError(ErrorCode.InvalidParams, `argument '${name}' must be a number`)
  }
  return value
}

/** Resolves after `ms`, or early when either signal aborts; returns whether it slept the whole time. */
function sleep(ms: number, ...signals: AbortSignal[]): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (full: boolean): void => {
      clearTimeout(timer)
      for (const s of signals) s.removeEventListener('abort', onAbort)
      resolve(full)
    }
    const onAbort = (): void => done(false)
    const timer = setTimeout(() => done(true), ms)
    for (const s of signals) {
      if (s.aborted) return done(false)
      s.addEventListener('abort', onAbort, { once: true })
    }
  })
}

const obj = (properties: Record<string, object>, required: string[] = []): Tool['inputSchema'] => ({
  type: 'object',
  properties,
  ...(required.length ? { required } : {}),
})

/** The built-in tools, in `tools/list` order. */
export const BUILTIN_TOOLS: readonly ExtraTool[] = [
  {
    definition: { name: 'echo', description: 'Returns the message unchanged.', inputSchema: obj({ message: { type: 'string' } }, ['message']) },
    result: (args) => text(stringArg(args, 'message')),
  },
  {
    definition: { name: 'add', description: 'Adds two numbers.', inputSchema: obj({ a: { type: 'number' }, b: { type: 'number' } }, ['a', 'b']) },
    result: (args) => text(String(numberArg(args, 'a') + numberArg(args, 'b'))),
  },
  {
    definition: {
      name: 'long-running',
      description: 'Sleeps `steps` times for `delayMs`, sending a progress notification after each step.',
      inputSchema: obj({ steps: { type: 'integer', minimum: 1 }, delayMs: { type: 'integer', minimum: 0 } }),
    },
    result: async (args, { extra, shutdown }) => {
      const steps = numberArg(args, 'steps', 3)
      const delayMs = numberArg(args, 'delayMs', 50)
      const progressToken = extra._meta?.progressToken
      for (let i = 1; i <= steps; i++) {
        if (!(await sleep(delayMs, extra.signal, shutdown))) break
        if (progressToken !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress: i, total: steps, message: `step ${i} of ${steps}` },
          })
        }
      }
      return text(`completed ${steps} steps`)
    },
  },
  {
    definition: {
      name: 'notify',
      description:
        'Sends `count` log notifications on the request stream, then tools/list_changed and resources/updated on the GET stream.',
      inputSchema: obj({ count: { type: 'integer', minimum: 0 } }),
    },
    result: async (args, { extra, notifyUnrelated }) => {
      const count = numberArg(args, 'count', 1)
      for (let i = 1; i <= count; i++) {
        await extra.sendNotification({
          method: 'notifications/message',
          params: { level: 'info', logger: 'origin', data: `log ${i} of ${count}` },
        })
      }
      await notifyUnrelated({ method: 'notifications/tools/list_changed' })
      await notifyUnrelated({ method: 'notifications/resources/updated', params: { uri: RESOURCE_URI } })
      return text(`sent ${count} notifications`)
    },
  },
  {
    definition: {
      name: 'sample',
      description: 'Asks the client to sample (sampling/createMessage) and returns the text it produced.',
      inputSchema: obj({ prompt: { type: 'string' } }, ['prompt']),
    },
    result: async (args, { extra }) => {
      const prompt = stringArg(args, 'prompt')
      const result = await extra.sendRequest(
        {
          method: 'sampling/createMessage',
          params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
        },
        CreateMessageResultSchema,
      )
      const content = result.content
      return text(!Array.isArray(content) && content.type === 'text' ? content.text : JSON.stringify(content))
    },
  },
  {
    definition: {
      name: 'elicit',
      description: 'Asks the user a question (elicitation/create) and returns their answer as JSON.',
      inputSchema: obj({ message: { type: 'string' } }, ['message']),
    },
    result: async (args, { extra }) => {
      const result = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            message: stringArg(args, 'message'),
            requestedSchema: { type: 'object', properties: { answer: { type: 'string', description: 'Your answer' } }, required: ['answer'] },
          },
        },
        ElicitResultSchema,
      )
      return text(JSON.stringify({ action: result.action, content: result.content }))
    },
  },
  {
    definition: {
      name: 'structured',
      description: 'Returns `text` and its length as structured content.',
      inputSchema: obj({ text: { type: 'string' } }, ['text']),
      outputSchema: {
        type: 'object',
        properties: { text: { type: 'string' }, length: { type: 'integer' } },
        required: ['text', 'length'],
      },
    },
    result: (args) => {
      const value = stringArg(args, 'text')
      const structuredContent = { text: value, length: value.length }
      return { content: [{ type: 'text', text: JSON.stringify(structuredContent) }], structuredContent }
    },
  },
  {
    definition: {
      name: 'slow',
      description: 'Waits `ms` milliseconds (or until cancelled) before answering.',
      inputSchema: obj({ ms: { type: 'integer', minimum: 0 } }, ['ms']),
    },
    result: async (args, { extra, shutdown }) => {
      const ms = numberArg(args, 'ms')
      const full = await sleep(ms, extra.signal, shutdown)
      return text(full ? `slept ${ms} ms` : 'interrupted')
    },
  },
]

/** Runs a tool's result source. */
export async function runTool(tool: ExtraTool, args: Record<string, unknown>, ctx: ToolContext): Promise<CallToolResult> {
  return typeof tool.result === 'function' ? tool.result(args, ctx) : tool.result
}
