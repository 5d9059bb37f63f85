import { describe, expect, it } from 'vitest'
import { detectProtocol, SUPPORTED_VERSIONS } from '../../src/mcp/era'
import { parseJsonBody, type ParsedBody } from '../../src/mcp/jsonrpc'

function body(json: unknown): ParsedBody {
  const parsed = parseJsonBody(JSON.stringify(json), { maxDepth: 16 })
  if (!parsed.ok) throw new Error(parsed.reason)
  return parsed.value
}

function headers(version?: string): Headers {
  return new Headers(version === undefined ? {} : { 'MCP-Protocol-Version': version })
}

const ping = { jsonrpc: '2.0', id: 1, method: 'ping' }
const initialize = (protocolVersion: unknown) => ({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion, capabilities: {} } })
const modernCall = (metaVersion: unknown) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/list',
  params: { _meta: { 'io.modelcontextprotocol/protocolVersion': metaVersion } },
})

describe('detectProtocol resolves', () => {
  it.each([
    ['a legacy header', headers('2025-06-18'), body(ping), { version: '2025-06-18', era: 'legacy', source: 'header' }],
    ['2024-11-05 by header', headers('2024-11-05'), undefined, { version: '2024-11-05', era: 'legacy', source: 'header' }],
    ['the modern header', headers('2026-07-28'), body(modernCall('2026-07-28')), { version: '2026-07-28', era: 'modern', source: 'header' }],
    ['the modern header without _meta version', headers('2026-07-28'), body(ping), { version: '2026-07-28', era: 'modern', source: 'header' }],
    ['a GET without header', headers(), undefined, { version: '2025-03-26', era: 'legacy', source: 'default' }],
    ['a request without header', headers(), body(ping), { version: '2025-03-26', era: 'legacy', source: 'default' }],
    ['initialize asking for 2025-06-18', headers(), body(initialize('2025-06-18')), { version: '2025-06-18', era: 'legacy', source: 'initialize' }],
    ['initialize asking for an unknown version', headers(), body(initialize('2099-01-01')), { version: '2025-11-25', era: 'legacy', source: 'initialize' }],
    ['initialize asking for the modern version', headers(), body(initialize('2026-07-28')), { version: '2025-11-25', era: 'legacy', source: 'initialize' }],
    ['initialize with a non-string version', headers(), body(initialize(42)), { version: '2025-11-25', era: 'legacy', source: 'initialize' }],
    ['initialize with a header (header wins)', headers('2025-03-26'), body(initialize('2025-11-25')), { version: '2025-03-26', era: 'legacy', source: 'header' }],
    ['a matching _meta version without header', headers(), body(modernCall('2025-03-26')), { version: '2025-03-26', era: 'legacy', source: 'default' }],
  ])('%s', (_name, h, b, expected) => {
    expect(detectProtocol(h, b)).toEqual({ ok: true, ...expected })
  })
})

describe('detectProtocol refuses', () => {
  const supported = [...SUPPORTED_VERSIONS]
  it.each([
    ['a garbage header', headers('banana'), undefined, { code: -32000, reason: 'unsupported MCP-Protocol-Version' }],
    ['an old unknown revision', headers('2024-10-07'), undefined, { code: -32000, reason: 'unsupported MCP-Protocol-Version' }],
    ['an empty header', headers(''), undefined, { code: -32000, reason: 'unsupported MCP-Protocol-Version' }],
    ['a future revision', headers('2027-01-01'), undefined, { code: -32022, reason: 'unsupported protocol version', data: { supported } }],
    ['an unreleased date between eras', headers('2026-01-01'), body(ping), { code: -32022, reason: 'unsupported protocol version', data: { supported } }],
    ['a modern header with a different _meta version', headers('2026-07-28'), body(modernCall('2025-11-25')), { code: -32020, reason: 'MCP-Protocol-Version does not match params._meta protocolVersion' }],
    ['a modern header with a non-string _meta version', headers('2026-07-28'), body(modernCall(20260728)), { code: -32020, reason: 'MCP-Protocol-Version does not match params._meta protocolVersion' }],
    ['a modern _meta version without header', headers(), body(modernCall('2026-07-28')), { code: -32020, reason: 'MCP-Protocol-Version does not match params._meta protocolVersion' }],
    ['a legacy header with a modern _meta version', headers('2025-11-25'), body(modernCall('2026-07-28')), { code: -32020, reason: 'MCP-Protocol-Version does not match params._meta protocolVersion' }],
  ])('%s', (_name, h, b, expected) => {
    expect(detectProtocol(h, b)).toEqual({ ok: false, status: 400, ...expected })
  })
})

describe('batches by version', () => {
  const batch = body([ping, { jsonrpc: '2.0', method: 'notifications/progress', params: {} }])
  it.each([
    [undefined, { ok: true, version: '2025-03-26', era: 'legacy', source: 'default' }],
    ['2025-03-26', { ok: true, version: '2025-03-26', era: 'legacy', source: 'header' }],
    ['2024-11-05', { ok: false, status: 400, code: -32600, reason: 'JSON-RPC batches are not allowed in 2024-11-05' }],
    ['2025-06-18', { ok: false, status: 400, code: -32600, reason: 'JSON-RPC batches are not allowed in 2025-06-18' }],
    ['2025-11-25', { ok: false, status: 400, code: -32600, reason: 'JSON-RPC batches are not allowed in 2025-11-25' }],
    ['2026-07-28', { ok: false, status: 400, code: -32600, reason: 'JSON-RPC batches are not allowed in 2026-07-28' }],
  ])('header %s', (version, expected) => {
    expect(detectProtocol(headers(version), batch)).toEqual(expected)
  })

  it('refuses initialize inside a batch', () => {
    expect(detectProtocol(headers(), body([initialize('2025-03-26'), ping]))).toEqual({
      ok: false,
      status: 400,
      code: -32600,
      reason: 'initialize must not be part of a batch',
    })
  })

  it('checks _meta in every batch element', () => {
    expect(detectProtocol(headers(), body([ping, { ...modernCall('2026-07-28'), id: 2 }]))).toEqual({
      ok: false,
      status: 400,
      code: -32020,
      reason: 'MCP-Protocol-Version does not match params._meta protocolVersion',
    })
  })
})
