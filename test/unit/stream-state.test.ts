import { env } from 'cloudflare:workers'
import { base64url } from 'jose'
import { describe, expect, it } from 'vitest'
import { resumedStream, streamIdPrefix } from '../../src/proxy/stream-state'
import type { StreamRequest } from '../../src/proxy/stream-state'

const requests: StreamRequest[] = [[7, 'tools/call', 'search'], ['a-1', 'tools/list']]

describe('stream state in SSE event ids', () => {
  it('carries the requests of a stream to the GET that resumes it, with the origin id intact', async () => {
    const prefix = await streamIdPrefix(env, 'acme', 'session-1', requests)
    expect(prefix).toMatch(/^mcpfw1~[A-Za-z0-9_-]+~[A-Za-z0-9_-]{22}~$/)
    expect(await resumedStream(env, 'acme', 'session-1', `${prefix}origin~id~with~tildes`)).toEqual({ requests, originId: 'origin~id~with~tildes', prefix })
    expect(await resumedStream(env, 'acme', 'session-1', `${prefix}`)).toMatchObject({ originId: '' })
  })

  it('refuses one issued for another session or tenant, or edited, and ignores ids not in its form', async () => {
    const prefix = (await streamIdPrefix(env, 'acme', 'session-1', requests)) ?? ''
    expect(await resumedStream(env, 'acme', 'session-2', `${prefix}e1`)).toBe('invalid')
    expect(await resumedStream(env, 'other', 'session-1', `${prefix}e1`)).toBe('invalid')
    expect(await resumedStream(env, 'acme', undefined, `${prefix}e1`)).toBe('invalid')
    const [, payload = '', mac = ''] = prefix.split('~')
    const edited = base64url.encode(JSON.stringify([[7, 'tools/call', 'harmless']]))
    expect(await resumedStream(env, 'acme', 'session-1', `mcpfw1~${edited}~${mac}~e1`)).toBe('invalid')
    expect(await resumedStream(env, 'acme', 'session-1', `mcpfw1~${payload}~AAAA~e1`)).toBe('invalid')
    expect(await resumedStream(env, 'acme', 'session-1', 'mcpfw1~garbage')).toBe('invalid')
    expect(await resumedStream(env, 'acme', 'session-1', 'srv:12')).toBeNull()
  })

  it('carries nothing without a session or requests', async () => {
    expect(await streamIdPrefix(env, 'acme', undefined, requests)).toBeNull()
    expect(await streamIdPrefix(env, 'acme', 'session-1', [])).toBeNull()
  })
})
