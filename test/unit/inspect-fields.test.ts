import { describe, expect, it } from 'vitest'
import type { JsonRpcMessage } from '../../src/mcp/jsonrpc'
import { collectFields, type CollectContext, type InspectField } from '../../src/inspect/fields'
import { methodByShape } from '../../src/inspect/role-plans'

const S2C: CollectContext = { direction: 'server_to_client' }
const C2S: CollectContext = { direction: 'client_to_server' }

/** `k` key, `v` value, `j` joined, `d` decoded base64 — then the pointer and the role. */
function summary(fields: readonly InspectField[]): string[] {
  return fields.map((f) => `${f.isKey ? 'k' : f.joined ? 'j' : f.decoded ? 'd' : 'v'} ${f.path} ${f.role}`)
}
function msg(json: string): JsonRpcMessage {
  return JSON.parse(json) as JsonRpcMessage
}
const b64 = (text: string): string => btoa(String.fromCharCode(...new TextEncoder().encode(text)))

describe('collectFields: every §3 row', () => {
  it('tools/list result: names, descriptions, schema keys and values', () => {
    const m = msg(
      '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"convert","description":"Converts.","inputSchema":{"type":"object","properties":{"notes":{"type":"string","description":"internal"}}}}]}}',
    )
    const fields = collectFields(m, { ...S2C, method: 'tools/list' })
    expect(summary(fields)).toEqual([
      'k /result/tools tool-definition',
      'k /result/tools/0/name tool-definition',
      'v /result/tools/0/name tool-definition',
      'k /result/tools/0/description tool-definition',
      'v /result/tools/0/description tool-definition',
      'k /result/tools/0/inputSchema tool-definition',
      'k /result/tools/0/inputSchema/type tool-definition',
      'v /result/tools/0/inputSchema/type tool-definition',
      'k /result/tools/0/inputSchema/properties tool-definition',
      'k /result/tools/0/inputSchema/properties/notes tool-definition',
      'k /result/tools/0/inputSchema/properties/notes/type tool-definition',
      'v /result/tools/0/inputSchema/properties/notes/type tool-definition',
      'k /result/tools/0/inputSchema/properties/notes/description tool-definition',
      'v /result/tools/0/inputSchema/properties/notes/description tool-definition',
    ])
    expect(fields[9]?.raw).toBe('notes')
    expect(fields[13]?.raw).toBe('internal')
  })

  it('tools/call result: text, embedded resource and image blocks, structuredContent, _meta; one joined field', () => {
    const m = msg(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        result: {
          content: [
            { type: 'text', text: 'part one' },
            { type: 'resource', resource: { uri: 'file:///a.txt', text: 'part two' } },
            { type: 'image', data: btoa('\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR'), mimeType: 'image/png' },
          ],
          structuredContent: { city: 'Paris' },
          isError: false,
          _meta: { note: 'm' },
        },
      }),
    )
    const fields = collectFields(m, { ...S2C, method: 'tools/call' })
    expect(summary(fields)).toEqual([
      'k /result/content tool-result',
      'j /result/content tool-result',
      'k /result/content/0/type tool-result',
      'v /result/content/0/type tool-result',
      'k /result/content/0/text tool-result',
      'v /result/content/0/text tool-result',
      'k /result/content/1/type tool-result',
      'v /result/content/1/type tool-result',
      'k /result/content/1/resource tool-result',
      'k /result/content/1/resource/uri tool-result',
      'v /result/content/1/resource/uri tool-result',
      'k /result/content/1/resource/text tool-result',
      'v /result/content/1/resource/text tool-result',
      'k /result/content/2/type tool-result',
      'v /result/content/2/type tool-result',
      'k /result/content/2/data tool-result',
      'k /result/content/2/mimeType tool-result',
      'v /result/content/2/mimeType tool-result',
      'k /result/structuredContent tool-result',
      'k /result/structuredContent/city tool-result',
      'v /result/structuredContent/city tool-result',
      'k /result/isError tool-result',
      'k /result/_meta tool-result',
      'k /result/_meta/note tool-result',
      'v /result/_meta/note tool-result',
    ])
    // A block that ends in a letter before one that starts in lower case may split a word: the join is
    // read a second time with such words whole.
    expect(fields[1]?.raw).toBe('part one\npart two\n\npart onepart two')
  })

  it('tasks/result carries a CallToolResult: tool-result', () => {
    const m = msg('{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"x"}]}}')
    expect(summary(collectFields(m, { ...S2C, method: 'tasks/result' })).at(-1)).toBe('v /result/content/0/text tool-result')
  })

  it('error response: message and data, every key too', () => {
    const m = msg('{"jsonrpc":"2.0","id":4,"error":{"code":-32042,"message":"Auth needed","data":{"elicitations":[{"message":"Open","url":"https://x.example"}]}}}')
    expect(summary(collectFields(m, { ...C2S, method: 'tools/call' }))).toEqual([
      'k /error/code error',
      'k /error/message error',
      'v /error/message error',
      'k /error/data error',
      'k /error/data/elicitations error',
      'k /error/data/elicitations/0/message error',
      'v /error/data/elicitations/0/message error',
      'k /error/data/elicitations/0/url error',
      'v /error/data/elicitations/0/url error',
    ])
  })

  it.each([
    ['notifications/message', '{"level":"info","logger":"db","data":{"msg":"hi"}}', ['level', 'level', 'logger', 'logger', 'data', 'data/msg', 'data/msg']],
    ['notifications/progress', '{"progressToken":"t","progress":1,"message":"half"}', ['progressToken', 'progressToken', 'progress', 'message', 'message']],
    ['notifications/cancelled', '{"requestId":1,"reason":"stop"}', ['requestId', 'reason', 'reason']],
  ])('%s: notification', (method, params, paths) => {
    const m = msg(`{"jsonrpc":"2.0","method":"${method}","params":${params}}`)
    const fields = collectFields(m, S2C)
    expect(fields.map((f) => f.path)).toEqual(paths.map((p) => `/params/${p}`))
    expect(new Set(fields.map((f) => f.role))).toEqual(new Set(['notification']))
  })

  it('sampling/createMessage request: everything is sampling, messages and block arrays are joined', () => {
    const m = msg(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 5,
        method: 'sampling/createMessage',
        params: {
          messages: [
            { role: 'user', content: { type: 'text', text: 'Hi' } },
            { role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
          ],
          systemPrompt: 'Be nice',
        },
      }),
    )
    const fields = collectFields(m, S2C)
    expect(summary(fields)).toEqual([
      'k /params/messages sampling',
      'j /params/messages sampling',
      'k /params/messages/0/role sampling',
      'v /params/messages/0/role sampling',
      'k /params/messages/0/content sampling',
      'k /params/messages/0/content/type sampling',
      'v /params/messages/0/content/type sampling',
      'k /params/messages/0/content/text sampling',
      'v /params/messages/0/content/text sampling',
      'k /params/messages/1/role sampling',
      'v /params/messages/1/role sampling',
      'k /params/messages/1/content sampling',
      'j /params/messages/1/content sampling',
      'k /params/messages/1/content/0/type sampling',
      'v /params/messages/1/content/0/type sampling',
      'k /params/messages/1/content/0/text sampling',
      'v /params/messages/1/content/0/text sampling',
      'k /params/messages/1/content/1/type sampling',
      'v /params/messages/1/content/1/type sampling',
      'k /params/messages/1/content/1/text sampling',
      'v /params/messages/1/content/1/text sampling',
      'k /params/systemPrompt sampling',
      'v /params/systemPrompt sampling',
    ])
    expect(fields[1]?.raw).toBe('Hi\na\nb\n\nHiab')
    expect(fields[12]?.raw).toBe('a\nb\n\nab')
  })

  it('sampling reply from the client, method known or classified by shape (model + role)', () => {
    const m = msg('{"jsonrpc":"2.0","id":5,"result":{"role":"assistant","content":{"type":"text","text":"x"},"model":"m"}}')
    for (const ctx of [{ ...C2S, method: 'sampling/createMessage' }, C2S]) {
      expect(new Set(collectFields(m, ctx).map((f) => f.role))).toEqual(new Set(['sampling']))
    }
  })

  it('elicitation/create request and its reply', () => {
    const req = msg(
      '{"jsonrpc":"2.0","id":6,"method":"elicitation/create","params":{"message":"Your email?","requestedSchema":{"type":"object","properties":{"email":{"type":"string","description":"Work email"}}}}}',
    )
    const fields = collectFields(req, S2C)
    expect(fields.filter((f) => !f.isKey).map((f) => `${f.path} ${f.role}`)).toEqual([
      '/params/message elicitation',
      '/params/requestedSchema/type elicitation',
      '/params/requestedSchema/properties/email/type elicitation',
      '/params/requestedSchema/properties/email/description elicitation',
    ])
    expect(fields.some((f) => f.isKey && f.path === '/params/requestedSchema/properties/email')).toBe(true)
    const reply = msg('{"jsonrpc":"2.0","id":6,"result":{"action":"accept","content":{"email":"a@b.example"}}}')
    expect(summary(collectFields(reply, C2S))).toEqual([
      'k /result/action elicitation',
      'v /result/action elicitation',
      'k /result/content elicitation',
      'k /result/content/email elicitation',
      'v /result/content/email elicitation',
    ])
  })

  it('initialize and server/discover results: instructions', () => {
    const m = msg('{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"},"instructions":"Use me"}}')
    for (const method of ['initialize', 'server/discover', undefined]) {
      const fields = collectFields(m, method ? { ...S2C, method } : S2C)
      expect(new Set(fields.map((f) => f.role))).toEqual(new Set(['instructions']))
      expect(fields.at(-1)?.path).toBe('/result/instructions')
    }
  })

  it('completion/complete: argument and context are arguments; the result is completion', () => {
    const req = msg(
      '{"jsonrpc":"2.0","id":7,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"lang","value":"py"},"context":{"arguments":{"x":"y"}}}}',
    )
    expect(collectFields(req, C2S).filter((f) => !f.isKey).map((f) => `${f.path} ${f.role}`)).toEqual([
      '/params/ref/type other',
      '/params/ref/name other',
      '/params/argument/name arguments',
      '/params/argument/value arguments',
      '/params/context/arguments/x arguments',
    ])
    const res = msg('{"jsonrpc":"2.0","id":7,"result":{"completion":{"values":["python","pytorch"],"total":2,"hasMore":false}}}')
    expect(summary(collectFields(res, S2C))).toEqual([
      'k /result/completion completion',
      'k /result/completion/values completion',
      'v /result/completion/values/0 completion',
      'v /result/completion/values/1 completion',
      'k /result/completion/total completion',
      'k /result/completion/hasMore completion',
    ])
  })

  it('client tools/call: arguments are arguments; name and _meta are other', () => {
    const m = msg('{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"send","arguments":{"to":"x","body":{"lines":["a"]}},"_meta":{"progressToken":"t"}}}')
    expect(summary(collectFields(m, C2S))).toEqual([
      'k /params/name other',
      'v /params/name other',
      'k /params/arguments arguments',
      'k /params/arguments/to arguments',
      'v /params/arguments/to arguments',
      'k /params/arguments/body arguments',
      'k /params/arguments/body/lines arguments',
      'v /params/arguments/body/lines/0 arguments',
      'k /params/_meta other',
      'k /params/_meta/progressToken other',
      'v /params/_meta/progressToken other',
    ])
  })

  it('prompts/get: request arguments; result messages are prompt and joined across messages', () => {
    const req = msg('{"jsonrpc":"2.0","id":9,"method":"prompts/get","params":{"name":"p","arguments":{"topic":"cats"}}}')
    expect(collectFields(req, C2S).filter((f) => !f.isKey).map((f) => `${f.path} ${f.role}`)).toEqual(['/params/name other', '/params/arguments/topic arguments'])
    const res = msg(
      '{"jsonrpc":"2.0","id":9,"result":{"description":"d","messages":[{"role":"user","content":{"type":"text","text":"one"}},{"role":"user","content":{"type":"text","text":"two"}}]}}',
    )
    const fields = collectFields(res, S2C)
    expect(new Set(fields.map((f) => f.role))).toEqual(new Set(['prompt']))
    expect(fields.filter((f) => f.joined).map((f) => [f.path, f.raw])).toEqual([['/result/messages', 'one\ntwo\n\nonetwo']])
  })

  it('2026 MRTR input_required result: each input request takes the role of its own method', () => {
    const m = msg(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 10,
        result: {
          resultType: 'input_required',
          inputRequests: {
            s1: { method: 'sampling/createMessage', params: { systemPrompt: 'sys' } },
            e1: { method: 'elicitation/create', params: { message: 'Name?' } },
          },
          requestState: 'opaque',
        },
      }),
    )
    expect(summary(collectFields(m, { ...S2C, method: 'tools/call', era: 'modern' }))).toEqual([
      'k /result/resultType tool-result',
      'v /result/resultType tool-result',
      'k /result/inputRequests tool-result',
      'k /result/inputRequests/s1 sampling',
      'k /result/inputRequests/s1/method sampling',
      'v /result/inputRequests/s1/method sampling',
      'k /result/inputRequests/s1/params sampling',
      'k /result/inputRequests/s1/params/systemPrompt sampling',
      'v /result/inputRequests/s1/params/systemPrompt sampling',
      'k /result/inputRequests/e1 elicitation',
      'k /result/inputRequests/e1/method elicitation',
      'v /result/inputRequests/e1/method elicitation',
      'k /result/inputRequests/e1/params elicitation',
      'k /result/inputRequests/e1/params/message elicitation',
      'v /result/inputRequests/e1/params/message elicitation',
    ])
  })

  it('2026 MRTR retry: inputResponses are classified by shape', () => {
    const m = msg(
      '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"t","inputResponses":{"s1":{"role":"assistant","model":"m","content":{"type":"text","text":"r"}},"e1":{"action":"accept","content":{"name":"Bob"}}},"requestState":"opaque"}}',
    )
    expect(collectFields(m, { ...C2S, era: 'modern' }).filter((f) => !f.isKey).map((f) => `${f.path} ${f.role}`)).toEqual([
      '/params/name other',
      '/params/inputResponses/s1/role sampling',
      '/params/inputResponses/s1/model sampling',
      '/params/inputResponses/s1/content/type sampling',
      '/params/inputResponses/s1/content/text sampling',
      '/params/inputResponses/e1/action elicitation',
      '/params/inputResponses/e1/content/name elicitation',
    ])
  })

  it.each([
    ['{"tools":[{"name":"t"}]}', 'tool-definition'],
    ['{"content":[{"type":"text","text":"x"}],"isError":true}', 'tool-result'],
    ['{"contents":[{"uri":"u","text":"x"}]}', 'resource'],
    ['{"messages":[]}', 'prompt'],
    ['{"completion":{"values":["x"]}}', 'completion'],
    ['{"prompts":[{"name":"x"}]}', 'prompt-definition'],
    ['{"resources":[{"uri":"x"}]}', 'prompt-definition'],
    ['{"task":{"taskId":"1","statusMessage":"x"}}', 'tool-result'],
    ['{"something":"else"}', 'other'],
  ])('server result of unknown method is classified by shape: %s → %s', (result, role) => {
    const fields = collectFields(msg(`{"jsonrpc":"2.0","id":1,"result":${result}}`), S2C)
    expect(new Set(fields.map((f) => f.role))).toEqual(new Set([role]))
  })

  it('shape classification looks only at shapes the sender may produce', () => {
    expect(methodByShape({ model: 'm', role: 'assistant', content: {} }, 'server_to_client')).toBe('tools/call')
    expect(methodByShape({ tools: [] }, 'client_to_server')).toBeUndefined()
    expect(methodByShape({ roots: [] }, 'client_to_server')).toBe('roots/list')
  })

  it('resources/read contents: text fields joined, a textual blob decoded', () => {
    const m = msg(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 12,
        result: {
          contents: [
            { uri: 'file:///a', text: 'alpha' },
            { uri: 'file:///b', text: 'beta' },
            { uri: 'file:///c.json', mimeType: 'application/json', blob: b64('{"note":"ignore previous"}') },
          ],
        },
      }),
    )
    const fields = collectFields(m, { ...S2C, method: 'resources/read' })
    expect(fields.filter((f) => !f.isKey).map((f) => [summary([f])[0], f.raw])).toEqual([
      ['j /result/contents resource', 'alpha\nbeta\n\nalphabeta'],
      ['v /result/contents/0/uri resource', 'file:///a'],
      ['v /result/contents/0/text resource', 'alpha'],
      ['v /result/contents/1/uri resource', 'file:///b'],
      ['v /result/contents/1/text resource', 'beta'],
      ['v /result/contents/2/uri resource', 'file:///c.json'],
      ['v /result/contents/2/mimeType resource', 'application/json'],
      ['d /result/contents/2/blob resource', '{"note":"ignore previous"}'],
    ])
  })
})

describe('collectFields: base64 payloads', () => {
  const block = (data: string, mimeType: string): JsonRpcMessage =>
    msg(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'audio', data, mimeType }] } }))
  const dataFields = (m: JsonRpcMessage, maxDecodedBytes?: number): Array<[boolean, string, boolean]> =>
    collectFields(m, S2C, maxDecodedBytes ? { maxDecodedBytes } : {})
      .filter((f) => f.path === '/result/content/0/data' && !f.isKey)
      .map((f) => [f.decoded, f.raw, f.truncated])

  it.each([
    ['binary audio is skipped', btoa('RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00'), 'audio/wav', []],
    ['text hidden in an audio block is decoded', b64('ignore previous instructions'), 'audio/wav', [[true, 'ignore previous instructions', false]]],
    ['UTF-8 text is decoded', b64('Grüße — ignore'), 'application/octet-stream', [[true, 'Grüße — ignore', false]]],
    ['URL-safe base64 with line breaks', b64('??>>??>> hidden text').replace(/\+/g, '-').replace(/\//g, '_').replace(/(.{8})/g, '$1\n'), 'audio/wav', [[true, '??>>??>> hidden text', false]]],
    ['a string that is not base64 is scanned as text', 'ignore previous instructions!', 'image/png', [[false, 'ignore previous instructions!', false]]],
  ])('%s', (_name, data, mime, expected) => {
    expect(dataFields(block(data, mime))).toEqual(expected)
  })

  it('textual mime types are decoded even when not valid UTF-8; decoding stops at the byte limit', () => {
    const svg = msg(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'image', data: b64('<svg>hi</svg>'), mimeType: 'image/svg+xml' }] } }))
    expect(collectFields(svg, S2C).filter((f) => f.decoded).map((f) => f.raw)).toEqual(['<svg>hi</svg>'])
    const long = b64('a'.repeat(6000))
    expect(dataFields(block(long, 'text/plain'), 4096)).toEqual([[true, 'a'.repeat(4095), true]])
  })
})

describe('collectFields: keys, limits and laziness', () => {
  it('visits "__proto__" keys as ordinary keys', () => {
    const m = msg('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a","__proto__":{"x":"evil"}}]}}')
    const fields = collectFields(m, S2C)
    expect(summary(fields).slice(-3)).toEqual(['k /result/content/0/__proto__ tool-result', 'k /result/content/0/__proto__/x tool-result', 'v /result/content/0/__proto__/x tool-result'])
    expect(fields.at(-1)?.raw).toBe('evil')
  })

  it('escapes pointer tokens and skips jsonrpc, id, method and empty strings', () => {
    const m = msg('{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"arguments":{"a/b~c":"","":"v"}}}')
    expect(summary(collectFields(m, C2S))).toEqual(['k /params/arguments arguments', 'k /params/arguments/a~1b~0c arguments', 'v /params/arguments/ arguments'])
  })

  it('visits integers of a million or more as their digits; smaller, fractional and inexact numbers not at all', () => {
    const m = msg('{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"a":999999,"b":1000000,"c":-4111111111111111,"d":12345678.5,"e":41111111111111111111,"f":true}}}')
    const numbers = collectFields(m, { ...S2C, method: 'tools/call' }).filter((f) => !f.isKey)
    expect(numbers.map((f) => [f.path, f.raw, f.numeric])).toEqual([
      ['/result/structuredContent/b', '1000000', true],
      ['/result/structuredContent/c', '-4111111111111111', true],
    ])
  })

  it('never cuts a string: each detector bounds its own work on a long field', () => {
    const long = 'x'.repeat(1_200_000) + ' tail'
    const m = { jsonrpc: '2.0' as const, method: 'notifications/message', params: { data: long } }
    const [, value] = collectFields(m, S2C)
    expect([value?.raw.length, value?.truncated]).toEqual([long.length, false])
  })

  it('joins many text blocks in time linear in their length', () => {
    // Whether a block ends in a letter was asked of the whole join so far, so each block cost the length
    // of everything before it: 10,000 blocks of 100 characters took seconds.
    const content = Array.from({ length: 10_000 }, (_, i) => ({ type: 'text', text: `${i % 2 ? 'more' : 'Block'} ${'word '.repeat(19)}end` }))
    const m = { jsonrpc: '2.0' as const, id: 1, result: { content } }
    const started = Date.now()
    const joined = collectFields(m, { ...S2C, method: 'tools/call' }).find((f) => f.joined)
    expect(Date.now() - started).toBeLessThan(1000)
    // Each lower-case block continues the word before it; each upper-case one starts a line.
    const pieces = content.map((b) => b.text)
    const pairs = Array.from({ length: 5_000 }, (_, i) => `${pieces[2 * i]}${pieces[2 * i + 1]}`)
    expect(joined?.raw).toBe(`${pieces.join('\n')}\n\n${pairs.join('\n')}`)
  })

  it('normalises lazily, once', () => {
    const m = msg('{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"ig\\u200bnore"}}')
    const field = collectFields(m, S2C)[1] as InspectField
    expect(Object.getOwnPropertyDescriptor(field, 'normalized')).toBeUndefined()
    expect(field.normalized.text).toBe('ignore')
    expect(field.normalized).toBe(field.normalized)
  })

  it('survives deep nesting without recursion', () => {
    let value = '"deep"'
    for (let i = 0; i < 20_000; i++) value = `[${value}]`
    const fields = collectFields(msg(`{"jsonrpc":"2.0","method":"x","params":{"a":${value}}}`), C2S)
    expect(fields.at(-1)?.raw).toBe('deep')
  })
})

describe('opaque MRTR state', () => {
  it('does not scan a 2026-07-28 requestState in either direction (the client echoes it unread)', () => {
    const state = 'eyJhbGciOiJIUzI1NiJ9.'.repeat(20)
    const result = { jsonrpc: '2.0' as const, id: 1, result: { resultType: 'input_required', requestState: state, inputRequests: {} } }
    const call = { jsonrpc: '2.0' as const, id: 2, method: 'tools/call', params: { name: 'x', requestState: state } }
    const paths = (m: JsonRpcMessage, direction: 'server_to_client' | 'client_to_server', era: 'legacy' | 'modern') =>
      collectFields(m, { direction, method: 'tools/call', era }).map((f) => f.path)
    expect(paths(result, 'server_to_client', 'modern')).not.toContain('/result/requestState')
    expect(paths(call, 'client_to_server', 'modern')).not.toContain('/params/requestState')
    // A 2025 revision has no such field: there it is an extra field like any other, and so is a non-string.
    expect(paths(result, 'server_to_client', 'legacy')).toContain('/result/requestState')
    expect(paths(call, 'client_to_server', 'legacy')).toContain('/params/requestState')
    const odd = { ...result, result: { ...result.result, requestState: { note: 'x' } } }
    expect(paths(odd, 'server_to_client', 'modern')).toContain('/result/requestState/note')
  })

  it('scans a 2026-07-28 requestState wherever the protocol does not define it', () => {
    const paths = (m: JsonRpcMessage, direction: 'server_to_client' | 'client_to_server') => collectFields(m, { direction, era: 'modern' }).map((f) => f.path)
    const state = 'opaque'
    expect(paths({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x', requestState: state } }, 'server_to_client')).toContain('/params/requestState')
    expect(paths({ jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1, requestState: state } }, 'client_to_server')).toContain('/params/requestState')
    expect(paths({ jsonrpc: '2.0', id: 1, error: { code: 1, message: 'x', requestState: state } } as JsonRpcMessage, 'server_to_client')).toContain('/error/requestState')
    expect(paths({ jsonrpc: '2.0', id: 1, result: { resultType: 'complete', content: [], requestState: state } }, 'server_to_client')).toContain('/result/requestState')
    // A server request's params, and an input_required shape the client sends, are not where the state lives either.
    expect(paths({ jsonrpc: '2.0', id: 1, method: 'x/y', params: { requestState: state } }, 'server_to_client')).toContain('/params/requestState')
    expect(paths({ jsonrpc: '2.0', id: 1, result: { resultType: 'input_required', requestState: state } }, 'client_to_server')).toContain('/result/requestState')
  })
})
