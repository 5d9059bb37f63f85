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
import type { JsonObject, JsonRpcMessage } from '../mcp/jsonrpc'
import { getOwn } from '../mcp/jsonrpc'
import type { ToolResultPath } from '../mcp/tool-result'
import { getAt, setAt } from '../inspect/pointer'
import type { ProtocolEra } from '../mcp/era'
import type { CallMemo } from './call-check'
import { schemaFindings } from './call-check'
import { enforcing, recordVerdict, type ToolGateInit } from './context'

const NOTE = 'The tool result did not match the output schema the tool declared; the firewall withheld its structured content.'

/**
 * The message to emit for one that carries a forwarded call's result at `at` (`toolResultPath`): a
 * `tools/call` or `tasks/result` answer, or a 2026-07-28 task's final result in its `tasks/get` answer or
 * `notifications/tasks` push, each checked as the call's own result.
 */
export function checkResult<M extends JsonRpcMessage>(init: ToolGateInit, memo: CallMemo, message: M, at: ToolResultPath): M {
  const mode = init.tools.schema.results
  const result = getAt(message, at) as JsonObject
  const structured = getOwn(result, 'structuredContent')
  if (!memo.output || mode === 'off' || structured === undefined) return message
  const started = performance.now()
  const check = memo.output.check(structured)
  const findings = schemaFindings(check, `${at}/structuredContent`, 'schema-result-invalid')
  const replace = !check.valid && mode === 'isError'
  // Monitor mode records the rewrite that would have happened and passes the result as it came.
  recordVerdict(init, { direction: 'server_to_client', method: 'tools/call', tool: memo.tool, verdict: replace ? 'modify' : 'allow', findings, started })
  return replace && enforcing(init) ? setAt(message, at, withheldToolResult(result, init.era)) : message
}

/** A tool result as an `isError` one: its content blocks and a note, its structured content withheld. */
export function withheldToolResult(toolResult: JsonObject, era: ProtocolEra): JsonObject {
  const content = getOwn(toolResult, 'content')
  const result: JsonObject = { content: [...(Array.isArray(content) ? content : []), { type: 'text', text: NOTE }], isError: true }
  if (era === 'modern') result['resultType'] = 'complete'
  return result
}
