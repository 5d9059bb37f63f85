/**
 * What the budget counts (src/budget/tokens.ts): the o200k tokens of context text, per message kind,
 * and nothing else. Runs in workerd, so the tokenizer's lazy import is exercised where it ships.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { contextTexts, countTokens, loadTokenizer, messageTokens, tokenizerLoaded } from '../../src/budget/tokens'
import type { JsonRpcMessage } from '../../src/mcp/jsonrpc'

beforeAll(async () => {
  await loadTokenizer()
})

const text = (t: string) => ({ type: 'text', text: t })
const result = (r: object, id = 1): JsonRpcMessage => ({ jsonrpc: '2.0', id, result: r as never })

describe('o200k counting', () => {
  it('loads lazily and counts exactly like o200k_base', () => {
    expect(tokenizerLoaded()).toBe(true)
    // Reference counts from gpt-tokenizer 4.0.0 o200k_base (tiktoken's o200k_base agrees).
    expect(countTokens('hello world')).toBe(2)
    expect(countTokens('The quick brown fox jumps over the lazy dog.')).toBe(10)
    expect(countTokens('')).toBe(0)
  })

  it('counts special-token strings as ordinary text instead of refusing them', () => {
    expect(countTokens('<|endoftext|>')).toBeGreaterThan(1)
  })
})

describe('context text per message', () => {
  const cases: Array<[string, JsonRpcMessage, 'client_to_server' | 'server_to_client', string | undefined, string[]]> = [
    ['tools/call arguments as compact JSON', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search', arguments: { q: 'cats', n: 3 } } }, 'client_to_server', undefined, ['{"q":"cats","n":3}']],
    ['prompts/get arguments', { jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'greet', arguments: { name: 'Ada' } } }, 'client_to_server', undefined, ['{"name":"Ada"}']],
    ['not tools/list or initialize', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, 'client_to_server', undefined, []],
    ['a client reply to sampling', result({ role: 'assistant', model: 'm', content: text('sampled answer') }), 'client_to_server', undefined, ['sampled answer']],
    ['tool result text and embedded resources, not images', result({ content: [text('a'), { type: 'image', data: 'AAAA', mimeType: 'image/png' }, { type: 'resource', resource: { uri: 'x:y', text: 'b' } }] }), 'server_to_client', 'tools/call', ['a', 'b']],
    ['structuredContent only when no text block carries it', result({ content: [], structuredContent: { k: 'v' } }), 'server_to_client', 'tools/call', ['{"k":"v"}']],
    ['structuredContent not twice', result({ content: [text('{"k":"v"}')], structuredContent: { k: 'v' } }), 'server_to_client', 'tools/call', ['{"k":"v"}']],
    ['resources/read text, not blobs', result({ contents: [{ uri: 'a', text: 'doc' }, { uri: 'b', blob: 'AAAA' }] }), 'server_to_client', 'resources/read', ['doc']],
    ['prompts/get description and messages', result({ description: 'd', messages: [{ role: 'user', content: text('m1') }, { role: 'assistant', content: [text('m2')] }] }), 'server_to_client', 'prompts/get', ['d', 'm1', 'm2']],
    ['sampling request system prompt and messages', { jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: { systemPrompt: 'sys', messages: [{ role: 'user', content: text('q') }], maxTokens: 10 } }, 'server_to_client', undefined, ['sys', 'q']],
    ['a result recognised by shape when its request is unknown', result({ content: [text('late')] }), 'server_to_client', undefined, ['late']],
    ['not tools/list results', result({ tools: [{ name: 't', description: 'long description', inputSchema: { type: 'object' } }] }), 'server_to_client', 'tools/list', []],
    ['not notifications', { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'log line' } }, 'server_to_client', undefined, []],
    ['not errors', { jsonrpc: '2.0', id: 1, error: { code: -1, message: 'failed badly' } }, 'server_to_client', 'tools/call', []],
  ]
  it.each(cases)('%s', (_name, message, direction, answers, expected) => {
    expect(contextTexts(message, direction, answers)).toEqual(expected)
    expect(messageTokens(message, direction, answers)).toBe(expected.reduce((n, t) => n + countTokens(t), 0))
  })
})
