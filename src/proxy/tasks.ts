/**
 * Tasks as the exchange sees them: which requests and pushes name a task, the task a call's answer
 * created (and how long to remember it), and the tool a task runs, as recorded when the call created it
 * (ToolGate.taskTool), so that a task's requests and pushes get that tool's checks.
 */
import type { JsonObject, JsonRpcMessage, JsonRpcNotification, JsonValue } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'
import type { ProtocolEra } from '../mcp/era'
import type { ToolGate } from '../tools/gate'

/** Requests that name a task (2025-11-25 tasks; `tasks/update` is the 2026-07-28 Tasks extension's, SEP-2663). */
export const TASK_METHODS: ReadonlySet<string> = new Set(['tasks/result', 'tasks/get', 'tasks/cancel', 'tasks/update'])
/**
 * Notifications the origin pushes about one task, named by `params.taskId`: 2025-11-25 `notifications/tasks/status`
 * (on a session's stream) and 2026-07-28 `notifications/tasks` (Tasks extension, on a `subscriptions/listen` stream).
 */
export const TASK_PUSHES: ReadonlySet<string> = new Set(['notifications/tasks/status', 'notifications/tasks'])
/** Task requests whose answer carries the task's result: 2025-11-25 `tasks/result`, 2026-07-28 `tasks/get` (once it completed). */
export const TASK_RESULT_METHODS: ReadonlySet<string> = new Set(['tasks/result', 'tasks/get'])
const TASK_TTL_DEFAULT_MS = 24 * 3600 * 1000
const TASK_TTL_MAX_MS = 7 * 24 * 3600 * 1000

/**
 * The task a call's answer created (`CreateTaskResult`), with how long to remember it: in 2025-11-25 the task
 * under `task` (`ttl` in ms), in 2026-07-28 (Tasks extension, SEP-2663) the task's fields beside
 * `resultType: "task"`, in place of the call's result (`ttlMs`).
 */
export function createdTask(result: JsonObject, era: ProtocolEra): { taskId: string; ttlMs: number } | undefined {
  const modern = era === 'modern'
  const task = modern ? (getOwn(result, 'resultType') === 'task' ? result : undefined) : getOwn(result, 'task')
  if (!isJsonObject(task)) return undefined
  const taskId = getOwn(task, 'taskId')
  const ttl = getOwn(task, modern ? 'ttlMs' : 'ttl')
  if (typeof taskId !== 'string' || taskId.length === 0 || taskId.length > 512) return undefined
  const ttlMs = typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0 ? Math.min(Math.ceil(ttl), TASK_TTL_MAX_MS) : TASK_TTL_DEFAULT_MS
  return { taskId, ttlMs }
}

/**
 * For a request about a task (`tasks/result`, `tasks/get`, `tasks/cancel`), the tool the task runs, when
 * known (null: unreadable; false: not this verified caller's task, ToolGate.taskTool).
 */
export async function requestedTaskTool(tools: ToolGate | undefined, message: JsonRpcMessage): Promise<string | undefined | null | false> {
  if (!tools || !('method' in message) || !('id' in message) || !TASK_METHODS.has(message.method)) return undefined
  const taskId = message.params?.['taskId']
  if (typeof taskId === 'string') return tools.taskTool(taskId)
  return tools.init.identity !== undefined ? false : undefined // names no task the caller owns
}

/**
 * Whether a task whose record cannot be read is refused (a request) or withheld (a push): always but in
 * monitor mode, and in monitor mode too for a verified caller, since whose task it is could not be
 * checked and a task's ownership holds in monitor mode.
 */
export function unreadableTaskRefused(monitor: boolean, tools: ToolGate | undefined): boolean {
  return !monitor || tools?.init.identity !== undefined
}

/** What a task push gets: withheld, passed on as any notification (`plain`), or passed on as its tool's checks left it. */
export type TaskPush = { drop: true } | { plain: true } | { message: JsonRpcNotification; fitsOutput?: (structured: JsonValue) => boolean; tool: string }

/**
 * A push about a task (`TASK_PUSHES`): a 2026-07-28 `notifications/tasks`, whether it carries the task's
 * final result or only its status (with a status message or input requests), or a 2025-11-25
 * `notifications/tasks/status` on a session's stream. It gets the checks of the tool the task runs
 * (recorded when the call created it), as the task's `tasks/get` would. The tool's kill switch and access
 * lists withhold it (the stream going on) as they refuse that `tasks/get`, and a final result gets the
 * tool's output schema and budget. When that record cannot be read, the push is withheld as that `tasks/get` is refused
 * (`tool-pins-unavailable`, `unreadableTaskRefused`): none of them could apply. A verified caller gets only
 * pushes about tasks recorded as its own, in monitor mode too (an origin that sees one credential for
 * every client may push any client's task to each listener); a push naming no task is none of its own.
 * `now` gives the exchange's state as it stands once the task's record is read (an open stream's
 * re-check may stop a tool or switch the policy meanwhile): the tools stopped on their own, and whether
 * the policy is in monitor mode.
 */
export async function taskPush(tools: ToolGate, message: JsonRpcNotification, now: () => { killed: readonly string[]; monitor: boolean }): Promise<TaskPush> {
  const taskId = pushedTask(message)
  const tool = taskId !== undefined ? await tools.taskTool(taskId) : tools.init.identity !== undefined ? false : undefined
  const { killed, monitor } = now()
  if (tool === false) return { drop: true }
  if (tool === null && unreadableTaskRefused(monitor, tools)) return { drop: true }
  if (typeof tool !== 'string') return { plain: true }
  if (killed.includes(tool) || !tools.taskPushPermitted(tool, message.method)) return { drop: true }
  const checked = await tools.checkTaskNotification(message, tool)
  return { ...checked, tool }
}

/** The task a push (`TASK_PUSHES`) is about, when it names one the firewall could have recorded. */
function pushedTask(message: JsonRpcNotification): string | undefined {
  const taskId = message.params ? getOwn(message.params, 'taskId') : undefined
  return typeof taskId === 'string' && taskId.length > 0 && taskId.length <= 512 ? taskId : undefined
}
