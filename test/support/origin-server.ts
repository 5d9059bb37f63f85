/**
 * Builds one SDK 1.32.2 `McpServer` for the legacy-era test origin (one per session, or one per
 * request when stateless). Tools are served through the low-level `tools/list` / `tools/call`
 * handlers so their definitions go out byte for byte as the test wrote them; the resource and the
 * prompt use the high-level API.
 */
import type { TaskStore } from '@modelcontextprotocol/sdk/experimental/tasks'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { BUILTIN_TOOLS, RESOURCE_URI, runTool, type ExtraTool } from './origin-tools.js'
import type { CallRecorder } from './recorder.js'

/** What the origin serves; mutate it between calls to change behaviour (tools apply immediately). */
export interface OriginBehaviour {
  /** Extra tools appended after the built-ins (a tool with a built-in's name replaces it). */
  extraTools: ExtraTool[]
  /** Hide the built-in tools, leaving only `extraTools`. */
  hideBuiltins: boolean
  /** `instructions` in the initialize result (read when a session starts). */
  instructions?: string
  /** Text of the `fixture://readme` resource. */
  resourceText: string
  /** Text of the `greet` prompt; `{name}` is replaced by the argument. */
  promptTemplate: string
}

/** Default behaviour: built-in tools only, benign texts. */
export function defaultBehaviour(): OriginBehaviour {
  return {
    extraTools: [],
    hideBuiltins: false,
    resourceText: 'Hello from the test origin.',
    promptTemplate: 'Please greet {name} warmly.',
  }
}

/** The tools currently served, in `tools/list` order. */
export function currentTools(behaviour: OriginBehaviour): ExtraTool[] {
  const extraNames = new Set(behaviour.extraTools.map((t) => t.definition.name))
  const builtins = behaviour.hideBuiltins ? [] : BUILTIN_TOOLS.filter((t) => !extraNames.has(t.definition.name))
  return [...builtins, ...behaviour.extraTools]
}

/** Everything the server factory needs from the origin. */
export interface OriginServerDeps {
  readonly behaviour: OriginBehaviour
  readonly recorder: CallRecorder
  readonly shutdown: AbortSignal
  /**
   * 2025-11-25 tasks: a `tools/call` with `task` creates a task in this store, runs the tool at once and
   * stores its result; the SDK serves `tasks/get`, `tasks/result`, `tasks/list` and `tasks/cancel` from it.
   * Shared by every server of the origin, so a stateless origin keeps tasks across requests.
   */
  readonly taskStore?: TaskStore
}

/** Creates a server; `connect` it to exactly one transport. */
export function createOriginServer(deps: OriginServerDeps): McpServer {
  const { behaviour, recorder, shutdown, taskStore } = deps
  const tasks = taskStore ? { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } } : {}
  const mcp = new McpServer(
    { name: 'fw-test-origin', version: '1.0.0' },
    {
      capabilities: { logging: {}, resources: { subscribe: true, listChanged: true }, prompts: {}, ...tasks },
      ...(taskStore ? { taskStore } : {}),
      ...(behaviour.instructions !== undefined ? { instructions: behaviour.instructions } : {}),
    },
  )
  const server = mcp.server
  server.registerCapabilities({ tools: { listChanged: true } })
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: currentTools(behaviour).map((t) => t.definition) }))
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name } = request.params
    const args = request.params.arguments ?? {}
    const tool = currentTools(behaviour).find((t) => t.definition.name === name)
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Tool ${name} not found`)
    const { end } = recorder.invoke(name, args, extra.requestId, extra.sessionId)
    // Notifications without relatedRequestId go to the session's standalone GET stream.
    const notifyUnrelated = (n: ServerNotification): Promise<void> => server.notification(n)
    try {
      const result = await runTool(tool, args, { extra, notifyUnrelated, shutdown })
      end(extra.signal.aborted ? 'cancelled' : 'completed')
      if (taskStore && extra.taskStore && request.params.task) {
        // Stored straight in the shared store: a stateless origin's server is closed once this call answers.
        const task = await extra.taskStore.createTask({ ttl: extra.taskRequestedTtl ?? 60_000 })
        await taskStore.storeTaskResult(task.taskId, 'completed', result, extra.sessionId)
        return { task } as unknown as CallToolResult
      }
      return result
    } catch (err) {
      end(extra.signal.aborted ? 'cancelled' : 'failed')
      throw err
    }
  })
  server.setRequestHandler(SubscribeRequestSchema, () => ({}))
  server.setRequestHandler(UnsubscribeRequestSchema, () => ({}))
  mcp.registerResource(
    'readme',
    RESOURCE_URI,
    { title: 'Readme', description: 'A short text resource.', mimeType: 'text/plain' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: behaviour.resourceText }] }),
  )
  mcp.registerPrompt(
    'greet',
    { title: 'Greet', description: 'Asks the model to greet someone.', argsSchema: { name: z.string() } },
    ({ name }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: behaviour.promptTemplate.replaceAll('{name}', name) } }],
    }),
  )
  return mcp
}
