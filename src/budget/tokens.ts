/**
 * What a budget counts: o200k tokens (gpt-tokenizer's `o200k_base`, the encoding of GPT-4o-class models)
 * of the text that enters a model's context, and of the arguments a model wrote. These are not any
 * provider's billed tokens (those add chat framing, images and the provider's own tokenizer); they are
 * a stable, exact measure of how much text the firewall let through.
 *
 * Counted, per MCP message (2025-11-25 schema; text of `text` content blocks and embedded text resources):
 *
 * | direction | message | text |
 * |---|---|---|
 * | client → server | `tools/call`, `prompts/get` request | `params.arguments`, as compact JSON |
 * | client → server | reply to `sampling/createMessage` (2026 MRTR: in `params.inputResponses`) | the sampled `content` (a `tool_use` block's input as JSON) |
 * | server → client | `tools/call`, `tasks/result` result | `content` text or `structuredContent` JSON, whichever has more tokens |
 * | server → client | 2026 `tasks/get` result, `notifications/tasks` | the task's final `result`, counted as a tool result |
 * | server → client | a task: `tasks/get`, `tasks/cancel`, `tasks/update` result, the task a call answers with, `notifications/tasks`, `notifications/tasks/status`, each of `tasks/list` | the task's `statusMessage` |
 * | server → client | 2026 MRTR `input_required` result to any request | the sampling requests in `inputRequests` |
 * | server → client | `resources/read` result | `contents[].text` |
 * | server → client | `prompts/get` result | `description` and the messages' content |
 * | server → client | `sampling/createMessage` request | `systemPrompt` and the messages' content, `tool_use` inputs and `tool_result` results included |
 * | server → client | error response to any request | `error.message` and `error.data` (JSON unless a string) |
 *
 * Errors are counted because clients commonly hand a failed call's message to the model: an origin
 * answering with a 1 MB error would otherwise fill a context for free. Not counted: tool and prompt
 * listings, instructions, other notifications, and binary payloads (images, audio, blobs), which are not text
 * tokens.
 *
 * The tokenizer (about 2.4 MB of JavaScript) is imported on first use, not at Worker startup.
 */
import type { JsonRpcMessage } from '../mcp/jsonrpc'
import { methodByShape } from '../inspect/role-plans'
import { createCounter } from './o200k-count'
import type { Counter } from './o200k-count'
import { isRecord } from '../record'

let counter: Counter | undefined
let loading: Promise<void> | undefined

/**
 * Loads the o200k tokenizer once per isolate. Resolves when {@link countTokens} may be called.
 * Special-token strings such as `<|endoftext|>` are counted as ordinary text, never refused.
 * Counting goes through ./o200k-count (same counts as the library's `countTokens`, a fraction of the CPU).
 */
export function loadTokenizer(): Promise<void> {
  if (counter) return Promise.resolve()
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then(
    (m) => {
      counter = createCounter(m).count
    },
    (err: unknown) => {
      loading = undefined
      throw err
    },
  )
  return loading
}

/** True once {@link loadTokenizer} has resolved in this isolate. */
export function tokenizerLoaded(): boolean {
  return counter !== undefined
}

/** o200k tokens in `text`. Throws if the tokenizer is not loaded yet (await {@link loadTokenizer}). */
export function countTokens(text: string): number {
  if (!counter) throw new Error('tokenizer not loaded')
  return text.length === 0 ? 0 : counter(text)
}

/** Methods whose results put text into a model's context: a request for one needs token budget left. */
export const PRODUCING_METHODS: ReadonlySet<string> = new Set(['tools/call', 'tasks/result', 'resources/read', 'prompts/get'])

/**
 * The context texts of a message. `answers` is the method a response answers, when known (otherwise
 * it is recognised by shape, mcp-protocol.md §4.4 (b)).
 * @example contextTexts({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'hi' }] } }, 'server_to_client', 'tools/call') // ['hi']
 */
export function contextTexts(message: JsonRpcMessage, direction: 'client_to_server' | 'server_to_client', answers?: string): string[] {
  const out: string[] = []
  if ('method' in message) {
    const params = message.params
    if (!isRecord(params)) return out
    if (direction === 'client_to_server' && (message.method === 'tools/call' || message.method === 'prompts/get')) {
      if (params['arguments'] !== undefined) out.push(JSON.stringify(params['arguments']))
    } else if (direction === 'server_to_client' && message.method === 'sampling/createMessage') {
      samplingText(params, out)
    } else if (direction === 'server_to_client' && message.method === 'notifications/tasks') {
      taskResultText(params, out)
      statusText(params, out)
    } else if (direction === 'server_to_client' && message.method === 'notifications/tasks/status') {
      statusText(params, out)
    }
    // 2026-07-28 MRTR retry: the client's replies ride in the request; a sampled reply is context text.
    if (direction === 'client_to_server' && isRecord(params['inputResponses'])) {
      for (const reply of Object.values(params['inputResponses'])) if (isRecord(reply) && typeof reply['model'] === 'string') blocksText(reply['content'], out)
    }
    return out
  }
  if ('error' in message) {
    if (direction === 'server_to_client') errorText(message.error, out)
    return out
  }
  if (!isRecord(message.result)) return out
  const result = message.result
  const method = answers ?? methodByShape(result, direction)
  if (direction === 'client_to_server') {
    if (method === 'sampling/createMessage') blocksText(result['content'], out)
    return out
  }
  switch (method) {
    case 'tools/call':
      toolResultText(result, out)
      createdTaskText(result, out)
      break
    case 'tasks/result':
      toolResultText(result, out)
      break
    case 'tasks/get':
      taskResultText(result, out)
      statusText(result, out)
      if (isRecord(result['task'])) statusText(result['task'], out) // a created task recognised by shape
      break
    case 'tasks/cancel':
    case 'tasks/update':
      statusText(result, out)
      break
    case 'tasks/list':
      if (Array.isArray(result['tasks'])) for (const task of result['tasks']) if (isRecord(task)) statusText(task, out)
      break
    case 'resources/read':
      if (Array.isArray(result['contents'])) for (const c of result['contents']) if (isRecord(c) && typeof c['text'] === 'string') out.push(c['text'])
      break
    case 'prompts/get':
      if (typeof result['description'] === 'string') out.push(result['description'])
      messagesText(result['messages'], out)
      break
  }
  // 2026-07-28 MRTR: sampling requests a result carries put their prompts into a model's context too,
  // whatever request it answers (MRTR lets any request ask for input, not only a tool call).
  if (isRecord(result['inputRequests'])) {
    for (const asked of Object.values(result['inputRequests'])) {
      if (isRecord(asked) && asked['method'] === 'sampling/createMessage' && isRecord(asked['params'])) samplingText(asked['params'], out)
    }
  }
  return out
}

/** o200k tokens of a message's context texts (see {@link contextTexts}). */
export function messageTokens(message: JsonRpcMessage, direction: 'client_to_server' | 'server_to_client', answers?: string): number {
  let n = 0
  for (const text of contextTexts(message, direction, answers)) n += countTokens(text)
  return n
}

/**
 * Whether `structured` has more tokens than `texts` together. Only counted when the two differ: no text
 * at all, or one text block carrying the same JSON (what the SDK server sends), needs no tokenizer pass.
 */
function moreTokens(structured: string, texts: readonly string[]): boolean {
  if (texts.length === 0) return true
  if (texts.length === 1 && texts[0] === structured) return false
  return countTokens(structured) > texts.reduce((n, t) => n + countTokens(t), 0)
}

/** An error's message and data: what a client shows its model when a call fails. */
function errorText(error: unknown, out: string[]): void {
  if (!isRecord(error)) return
  if (typeof error['message'] === 'string') out.push(error['message'])
  const data = error['data']
  if (typeof data === 'string') out.push(data)
  else if (data !== undefined) out.push(JSON.stringify(data))
}

/** A sampling request's system prompt and messages. */
function samplingText(params: Record<string, unknown>, out: string[]): void {
  if (typeof params['systemPrompt'] === 'string') out.push(params['systemPrompt'])
  messagesText(params['messages'], out)
}

function messagesText(messages: unknown, out: string[]): void {
  if (!Array.isArray(messages)) return
  for (const m of messages) if (isRecord(m)) blocksText(m['content'], out)
}

/**
 * A tool's result (a `tools/call` result, a sampling message's `tool_result` block): a client shows its
 * model the text blocks or the structured result, usually one mirroring the other. The larger of the two
 * is counted, so neither a small text beside a huge structured result nor the reverse passes uncounted,
 * and a mirrored pair is counted once.
 */
function toolResultText(result: Record<string, unknown>, out: string[]): void {
  const texts: string[] = []
  blocksText(result['content'], texts)
  const structured = result['structuredContent'] === undefined ? undefined : JSON.stringify(result['structuredContent'])
  out.push(...(structured !== undefined && moreTokens(structured, texts) ? [structured] : texts))
}

/** The final result a 2026-07-28 task carries (a `tasks/get` answer, a `notifications/tasks`): its tool's result. */
function taskResultText(task: Record<string, unknown>, out: string[]): void {
  if (isRecord(task['result'])) toolResultText(task['result'], out)
}

/**
 * A task's status message: the origin's own words about the task (2025-11-25 `Task.statusMessage`, the
 * 2026-07-28 Tasks extension's), which a client shows its user or model as it polls, like the result.
 */
function statusText(task: Record<string, unknown>, out: string[]): void {
  if (typeof task['statusMessage'] === 'string') out.push(task['statusMessage'])
}

/**
 * The task a call is answered with in place of its result (`CreateTaskResult`): under `task` in
 * 2025-11-25, beside `resultType: "task"` in 2026-07-28.
 */
function createdTaskText(result: Record<string, unknown>, out: string[]): void {
  if (isRecord(result['task'])) statusText(result['task'], out)
  else if (result['resultType'] === 'task') statusText(result, out)
}

/**
 * Text of a content block or an array of them: `text` blocks and embedded text resources, and in
 * sampling messages (2025-11-25) a `tool_use` block's input as compact JSON (what a model wrote, like
 * call arguments) and a `tool_result` block's result, which a sampling request hands the model as it is.
 */
function blocksText(content: unknown, out: string[]): void {
  const blocks = Array.isArray(content) ? content : [content]
  for (const b of blocks) {
    if (!isRecord(b)) continue
    if (b['type'] === 'text' && typeof b['text'] === 'string') out.push(b['text'])
    else if (b['type'] === 'resource' && isRecord(b['resource']) && typeof b['resource']['text'] === 'string') out.push(b['resource']['text'])
    else if (b['type'] === 'tool_use' && b['input'] !== undefined) out.push(JSON.stringify(b['input']))
    else if (b['type'] === 'tool_result') toolResultText(b, out)
  }
}
