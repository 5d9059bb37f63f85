import { describe, expect, it } from 'vitest'
import { checkRequestMetadataHeaders, decodeHeaderValue, encodeHeaderValue, paramBindings, rewriteParamHeaders } from '../../src/mcp/headers2026'
import type { JsonObject, JsonRpcMessage } from '../../src/mcp/jsonrpc'

const b64 = (s: string) => `=?base64?${btoa(String.fromCharCode(...new TextEncoder().encode(s)))}?=`

function call(name: string, args: JsonObject): JsonRpcMessage {
  return { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }
}

describe('encodeHeaderValue / decodeHeaderValue', () => {
  it.each([
    ['us-west1', 'us-west1'],
    ['two words', 'two words'],
    ['Hello, 世界', '=?base64?SGVsbG8sIOS4lueVjA==?='],
    [' padded ', '=?base64?IHBhZGRlZCA=?='],
    ['line1\nline2', '=?base64?bGluZTEKbGluZTI=?='],
    ['=?base64?literal?=', '=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?='],
    ['tab\there', '=?base64?dGFiCWhlcmU=?='],
    ['', '=?base64??='],
  ])('%j ↔ %s', (value, encoded) => {
    expect(encodeHeaderValue(value)).toBe(encoded)
    expect(decodeHeaderValue(encoded)).toBe(value)
  })

  it.each([
    ['non-canonical base64 padding bits', '=?base64?QR==?='],
    ['base64 without padding', '=?base64?QQ?='],
    ['characters outside the base64 alphabet', '=?base64?%%%%?='],
    ['base64 of invalid UTF-8', `=?base64?${btoa('\xff\xfe')}?=`],
    ['a control character in a plain value', 'a\x01b'],
    ['a Latin-1 byte in a plain value', 'caf\xe9'],
  ])('refuses %s', (_name, raw) => {
    expect(decodeHeaderValue(raw)).toBeNull()
  })

  it('reads a value that only starts like the sentinel as plain text', () => {
    expect(decodeHeaderValue('=?base64?abc')).toBe('=?base64?abc')
  })
})

describe('checkRequestMetadataHeaders', () => {
  const ok = { ok: true } as const
  const echo = call('echo', { region: 'us-west1', count: 42, verbose: true, note: 'Hello, 世界', meta: { a: 1 }, gone: null })
  it.each<[string, Record<string, string>, JsonRpcMessage, { ok: true } | { ok: false; reason: string }]>([
    ['a plain tools/call', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo' }, echo, ok],
    ['matching param headers of every type', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', 'Mcp-Param-Region': 'us-west1', 'mcp-param-COUNT': '42', 'Mcp-Param-Verbose': 'true' }, echo, ok],
    ['an integer written as 42.0', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', 'Mcp-Param-Count': '42.0' }, echo, ok],
    ['a base64 param header', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', 'Mcp-Param-Note': b64('Hello, 世界') }, echo, ok],
    ['a base64 Mcp-Name', { 'Mcp-Method': 'tools/call', 'Mcp-Name': b64('héllo') }, call('héllo', {}), ok],
    ['an unknown param header (forwarded unchecked)', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', 'Mcp-Param-Tenant': 'acme' }, echo, ok],
    ['a resources/read', { 'Mcp-Method': 'resources/read', 'Mcp-Name': 'file:///a.txt' }, { jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'file:///a.txt' } }, ok],
    ['a prompts/get', { 'Mcp-Method': 'prompts/get', 'Mcp-Name': 'greet' }, { jsonrpc: '2.0', id: 2, method: 'prompts/get', params: { name: 'greet' } }, ok],
    ['a Tasks extension tasks/get', { 'Mcp-Method': 'tasks/get', 'Mcp-Name': 'task-1' }, { jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { taskId: 'task-1' } }, ok],
    ['a Tasks extension tasks/update', { 'Mcp-Method': 'tasks/update', 'Mcp-Name': 'task-1' }, { jsonrpc: '2.0', id: 2, method: 'tasks/update', params: { taskId: 'task-1', inputResponses: {} } }, ok],
    ['a notification', { 'Mcp-Method': 'notifications/initialized' }, { jsonrpc: '2.0', method: 'notifications/initialized' }, ok],
    ['missing Mcp-Method', {}, echo, { ok: false, reason: 'missing Mcp-Method header' }],
    ['a notification without Mcp-Method (required of requests only)', {}, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }, ok],
    ['a notification without Mcp-Method naming another tool in Mcp-Name', { 'Mcp-Name': 'other' }, { jsonrpc: '2.0', method: 'tools/call', params: { name: 'echo' } }, { ok: false, reason: 'Mcp-Name does not match params.name' }],
    ['a notification with a different Mcp-Method', { 'Mcp-Method': 'tools/call' }, { jsonrpc: '2.0', method: 'notifications/cancelled' }, { ok: false, reason: 'Mcp-Method does not match the body method' }],
    ['a different Mcp-Method', { 'Mcp-Method': 'tools/list', 'Mcp-Name': 'echo' }, echo, { ok: false, reason: 'Mcp-Method does not match the body method' }],
    ['a differently-cased Mcp-Method value', { 'Mcp-Method': 'Tools/Call', 'Mcp-Name': 'echo' }, echo, { ok: false, reason: 'Mcp-Method does not match the body method' }],
    ['missing Mcp-Name', { 'Mcp-Method': 'tools/call' }, echo, { ok: false, reason: 'missing Mcp-Name header' }],
    ['a different Mcp-Name', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'safe_tool' }, echo, { ok: false, reason: 'Mcp-Name does not match params.name' }],
    ['a base64 Mcp-Name hiding a different tool', { 'Mcp-Method': 'tools/call', 'Mcp-Name': b64('safe_tool') }, echo, { ok: false, reason: 'Mcp-Name does not match params.name' }],
    ['a malformed base64 Mcp-Name', { 'Mcp-Method': 'tools/call', 'Mcp-Name': '=?base64?ZWNobw?=' }, echo, { ok: false, reason: 'malformed Mcp-Name header' }],
    ['a different resource uri', { 'Mcp-Method': 'resources/read', 'Mcp-Name': 'file:///public' }, { jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'file:///etc/passwd' } }, { ok: false, reason: 'Mcp-Name does not match params.uri' }],
    ['a tasks/cancel naming another task', { 'Mcp-Method': 'tasks/cancel', 'Mcp-Name': 'task-2' }, { jsonrpc: '2.0', id: 2, method: 'tasks/cancel', params: { taskId: 'task-1' } }, { ok: false, reason: 'Mcp-Name does not match params.taskId' }],
    ['a tasks/get without Mcp-Name', { 'Mcp-Method': 'tasks/get' }, { jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { taskId: 'task-1' } }, { ok: false, reason: 'missing Mcp-Name header' }],
    ['Mcp-Name on tools/list', { 'Mcp-Method': 'tools/list', 'Mcp-Name': 'x' }, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { ok: false, reason: 'Mcp-Name is not defined for tools/list' }],
    ['a mismatched param', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', 'Mcp-Param-Region': 'eu-west1' }, echo, { ok: false, reason: 'Mcp-Param-region does not match its argument' }],
    ['a mismatched base64 param', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', 'Mcp-Param-Note': b64('Hello, world') }, echo, { ok: false, reason: 'Mcp-Param-note does not match its argument' }],
    ['a mismatched integer', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', 'Mcp-Param-Count': '0x2A' }, echo, { ok: false, reason: 'Mcp-Param-count does not match its argument' }],
    ['a boolean in upper case', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', 'Mcp-Param-Verbose': 'TRUE' }, echo, { ok: false, reason: 'Mcp-Param-verbose does not match its argument' }],
    ['a param header for an object argument', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', 'Mcp-Param-Meta': '[object Object]' }, echo, { ok: false, reason: 'Mcp-Param-meta does not match its argument' }],
    ['a param header for a null argument', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', 'Mcp-Param-Gone': 'null' }, echo, { ok: false, reason: 'Mcp-Param-gone sent without its argument' }],
    ['a malformed param header', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', 'Mcp-Param-Region': '=?base64?!!!!?=' }, echo, { ok: false, reason: 'malformed Mcp-Param-region header' }],
    ['a header matching two arguments', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'x', 'Mcp-Param-Id': '1' }, call('x', { id: '1', ID: '2' }), { ok: false, reason: 'Mcp-Param-id matches several arguments' }],
    ['a header naming an inherited member', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'x', 'Mcp-Param-Constructor': 'x' }, call('x', {}), ok],
    ['a method named like an Object.prototype member', { 'Mcp-Method': 'constructor' }, { jsonrpc: '2.0', id: 4, method: 'constructor' }, ok],
    ['a client response', { 'Mcp-Method': 'x' }, { jsonrpc: '2.0', id: 1, result: {} }, { ok: false, reason: 'clients must not send responses in 2026-07-28' }],
  ])('%s', (_name, h, message, expected) => {
    expect(checkRequestMetadataHeaders(new Headers(h), message)).toEqual(expected)
  })

  describe('with bindings from the tool schema', () => {
    const bindings = [{ header: 'TenantId', path: ['tenant', 'id'] }]
    const message = call('query', { tenant: { id: 'acme' }, sql: 'select 1' })
    it.each<[string, Record<string, string>, { ok: true } | { ok: false; reason: string }]>([
      ['a matching nested binding', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'query', 'Mcp-Param-TenantId': 'acme' }, { ok: true }],
      ['a mismatched nested binding', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'query', 'Mcp-Param-TenantId': 'evil' }, { ok: false, reason: 'Mcp-Param-tenantid does not match its argument' }],
      ['a bound value sent without its header', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'query' }, { ok: false, reason: 'missing Mcp-Param-TenantId header' }],
      ['an unbound header named like an argument', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'query', 'Mcp-Param-TenantId': 'acme', 'Mcp-Param-Sql': 'drop' }, { ok: true }],
    ])('%s', (_name, h, expected) => {
      expect(checkRequestMetadataHeaders(new Headers(h), message, { bindings })).toEqual(expected)
    })
  })
})

describe('rewriteParamHeaders', () => {
  it('recomputes name and params from a redacted body, drops the rest, leaves other headers alone', () => {
    const original = new Headers({
      'Mcp-Method': 'tools/call',
      'Mcp-Name': 'send',
      'Mcp-Param-To': 'alice@example.com',
      'Mcp-Param-Secret': 'sk-123',
      'Mcp-Param-Tenant': 'acme',
      Authorization: 'Bearer t',
    })
    const redacted = call('send', { to: '[REDACTED] ü', body: 'hi' })
    const out = rewriteParamHeaders(original, redacted)
    expect([...out.entries()]).toEqual([
      ['authorization', 'Bearer t'],
      ['mcp-method', 'tools/call'],
      ['mcp-name', 'send'],
      ['mcp-param-to', b64('[REDACTED] ü')],
    ])
    expect(checkRequestMetadataHeaders(out, redacted)).toEqual({ ok: true })
    expect(original.get('Mcp-Param-To')).toBe('alice@example.com')
  })

  it('adds bound headers and drops Mcp-Name on methods without one', () => {
    const bindings = [{ header: 'Region', path: ['region'] }]
    const out = rewriteParamHeaders(new Headers({ 'Mcp-Method': 'tools/call', 'Mcp-Name': 'x' }), call('x', { region: 'eu' }), { bindings })
    expect(out.get('Mcp-Param-Region')).toBe('eu')
    const list = rewriteParamHeaders(new Headers({ 'Mcp-Name': 'x' }), { jsonrpc: '2.0', id: 1, method: 'tools/list' })
    expect([...list.entries()]).toEqual([['mcp-method', 'tools/list']])
  })
})

describe('x-mcp-header bindings from an input schema', () => {
  it('finds them at any depth of properties and skips values no header could carry', () => {
    const schema = {
      type: 'object',
      'x-mcp-header': 'Root', // the arguments object itself mirrors nothing
      properties: {
        region_code: { type: 'string', 'x-mcp-header': 'Region' },
        target: { type: 'object', properties: { zone: { type: 'string', 'x-mcp-header': 'Zone' } } },
        bad: { type: 'string', 'x-mcp-header': 'has space' },
        plain: { type: 'string' },
      },
    }
    expect(paramBindings(schema)).toEqual([
      { header: 'Region', path: ['region_code'] },
      { header: 'Zone', path: ['target', 'zone'] },
    ])
    expect(paramBindings(undefined)).toEqual([])
  })
})
