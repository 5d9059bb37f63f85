/**
 * A `tools/call` result's `structuredContent` against the pinned `outputSchema`. A result that breaks
 * it becomes an `isError` result (the SDK client skips output validation for those, mcp-protocol.md
 * §4.6): its content blocks are kept, a note is added, the structured content is withheld. Members the
 * schema does not declare are findings either way.
 *
 * An error result is checked too when it carries structured content. Clients do not validate it, so
 * content the schema does not allow would reach the model unchecked: a channel for anything the origin
 * wants to smuggle out. The spec lets an error result omit structured content, so withholding it costs
 * the client nothing it was promised; its content blocks, which describe the error, stay.
 */
import type { JsonObject, JsonRpcResultResponse } from '../mcp/jsonrpc'
import { getOwn, isJsonObject } from '../mcp/jsonrpc'
import type { ProtocolEra } from '../mcp/era'
import type { CallMemo } from './call-check'
import { schemaFindings } from './call-check'
import { enforcing, recordVerdict, type ToolGateInit } from './context'

const NOTE = 'The tool result did not match the output schema the tool declared; the firewall withheld its structured content.'

/** The result to emit for a forwarded call. */
export function checkResult(init: ToolGateInit, memo: CallMemo, message: JsonRpcResultResponse): JsonRpcResultResponse {
  const mode = init.tools.schema.results
  const structured = getOwn(message.result, 'structuredContent')
  if (!memo.output || mode === 'off' || structured === undefined) return message
  const started = performance.now()
  const check = memo.output.check(structured)
  const findings = schemaFindings(check, '/result/structuredContent', 'schema-result-invalid')
  const replace = !check.valid && mode === 'isError'
  // Monitor mode records the rewrite that would have happened and passes the result as it came.
  recordVerdict(init, { direction: 'server_to_client', method: 'tools/call', tool: memo.tool, verdict: replace ? 'modify' : 'allow', findings, started })
  return replace && enforcing(init) ? withheldResult(message, init.era) : message
}

/**
 * A 2026-07-28 task's final result where the task carries it (`result` of a `tasks/get` answer or of a
 * `notifications/tasks`), checked as the call's own result would be: `task` with it replaced, or as it was.
 */
export function checkTaskResult(init: ToolGateInit, memo: CallMemo, task: JsonObject): JsonObject {
  const result = getOwn(task, 'result')
  if (!isJsonObject(result)) return task
  const checked = checkResult(init, memo, { jsonrpc: '2.0', id: 0, result })
  return checked.result === result ? task : { ...task, result: checked.result }
}

/** `message` as an `isError` result: its content blocks and a note, its structured content withheld. */
export function withheldResult(message: JsonRpcResultResponse, era: ProtocolEra): JsonRpcResultResponse {
  const content = getOwn(message.result, 'content')
  const result: JsonObject = { content: [...(Array.isArray(content) ? content : []), { type: 'text', text: NOTE }], isError: true }
  if (era === 'modern') result['resultType'] = 'complete'
  return { ...message, result }
}
