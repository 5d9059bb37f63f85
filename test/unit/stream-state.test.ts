import { env } from 'cloudflare:workers'
import { base64url } from 'jose'
import { describe, expect, it } from 'vitest'
import { resumedStream, streamIdSealer } from '../../src/proxy/stream-state'
import type { EventIdSealer, StreamRequest } from '../../src/proxy/stream-state'

const requests: StreamRequest[] = [[7, 'tools/call', 'search'], ['a-1', 'tools/list']]

async function sealerFor(tenant: string, session: string, list: StreamRequest[] = requests): Promise<EventIdSealer> {
  const seal = await streamIdSealer(env, tenant, session, list)
  if (!seal) throw new Error('no sealer')
  return seal
}

/** The id's parts: requests, MAC, origin id. */
function parts(id: string): [string, string, string] {
  const [, payload = '', mac = '', ...rest] = id.split('~')
  return [payload, mac, rest.join('~')]
}

describe('stream state in SSE event ids', () => {
  it('carries the requests of a stream to the GET that resumes it, with the origin id intact', async () => {
    const seal = await sealerFor('acme', 'session-1')
    const id = await seal('origin~id~with~tildes')
    expect(id).toMatch(/^mcpfw2~[A-Za-z0-9_-]+~[A-Za-z0-9_-]{22}~origin~id~with~tildes$/)
    const resumed = await resumedStream(env, 'acme', 'session-1', id)
    expect(resumed).toMatchObject({ requests, originId: 'origin~id~with~tildes' })
    expect(await resumedStream(env, 'acme', 'session-1', await seal(''))).toMatchObject({ originId: '' })
    const long = `${'~'.repeat(8)}${'x'.repeat(248)}` // the longest id the relay passes, separators and all
    expect(await resumedStream(env, 'acme', 'session-1', await seal(long))).toMatchObject({ originId: long })
    // The resumed stream seals its ids for the same requests.
    if (resumed === null || resumed === 'invalid') throw new Error('not resumed')
    expect(await resumed.seal('next')).toBe(await seal('next'))
  })

  it('refuses one issued for another session or tenant, or edited, and ignores ids not in its form', async () => {
    const id = await (await sealerFor('acme', 'session-1'))('e1')
    expect(await resumedStream(env, 'acme', 'session-2', id)).toBe('invalid')
    expect(await resumedStream(env, 'other', 'session-1', id)).toBe('invalid')
    expect(await resumedStream(env, 'acme', undefined, id)).toBe('invalid')
    const [payload, mac] = parts(id)
    const edited = base64url.encode(JSON.stringify([[7, 'tools/call', 'harmless']]))
    expect(await resumedStream(env, 'acme', 'session-1', `mcpfw2~${edited}~${mac}~e1`)).toBe('invalid')
    const reordered = base64url.encode(JSON.stringify([...requests].reverse()))
    expect(await resumedStream(env, 'acme', 'session-1', `mcpfw2~${reordered}~${mac}~e1`)).toBe('invalid')
    expect(await resumedStream(env, 'acme', 'session-1', `mcpfw2~${payload}~AAAA~e1`)).toBe('invalid')
    expect(await resumedStream(env, 'acme', 'session-1', 'mcpfw2~garbage')).toBe('invalid')
    expect(await resumedStream(env, 'acme', 'session-1', 'srv:12')).toBeNull()
  })

  it("refuses a stream's requests and MAC before another origin id, another stream's or a made-up one", async () => {
    const call = await (await sealerFor('acme', 'session-1', [[7, 'tools/call', 'search']]))('call-stream:1')
    const list = await (await sealerFor('acme', 'session-1', [[7, 'tools/list']]))('list-stream:2')
    const [payload, mac] = parts(call)
    for (const originId of [parts(list)[2], 'call-stream:0', 'call-stream:1~x', `call-stream:1${'~'.repeat(3)}`, '']) {
      expect(await resumedStream(env, 'acme', 'session-1', `mcpfw2~${payload}~${mac}~${originId}`)).toBe('invalid')
    }
  })

  it('refuses an id in the form of a version that sealed the requests alone', async () => {
    const [payload, mac, originId] = parts(await (await sealerFor('acme', 'session-1'))('e1'))
    expect(await resumedStream(env, 'acme', 'session-1', `mcpfw1~${payload}~${mac}~${originId}`)).toBe('invalid')
  })

  it('carries nothing without a session or requests', async () => {
    expect(await streamIdSealer(env, 'acme', undefined, requests)).toBeNull()
    expect(await streamIdSealer(env, 'acme', 'session-1', [])).toBeNull()
  })
})
