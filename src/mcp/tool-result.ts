/**
 * Where a message carries a tool's final result: the one place that knows it, for the inspection
 * pipeline (a redacted structured content must still fit the tool's output schema), the tool gate and
 * the dry run (the output-schema check).
 */
import type { JsonRpcMessage } from './jsonrpc'
import { getOwn, isJsonObject } from './jsonrpc'

/** JSON pointer of a tool result inside its message. */
export type ToolResultPath = '/result' | '/result/result' | '/params/result'

/**
 * `/result` of a `tools/call` or `tasks/result` answer; `/result/result` of a `tasks/get` answer whose
 * 2026-07-28 task completed and carries its result; `/params/result` of a `notifications/tasks` push that
 * carries it. Null for any other message, or when the task carries no result object. `method` is the method
 * of the request a response answers.
 */
export function toolResultPath(message: JsonRpcMessage, method: string | undefined): ToolResultPath | null {
  if ('method' in message) return message.method === 'notifications/tasks' && message.params !== undefined && isJsonObject(getOwn(message.params, 'result')) ? '/params/result' : null
  if (!('result' in message)) return null
  if (method === 'tools/call' || method === 'tasks/result') return '/result'
  return method === 'tasks/get' && isJsonObject(getOwn(message.result, 'result')) ? '/result/result' : null
}
