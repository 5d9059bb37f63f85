/** What the firewall lends the origin is scrubbed from server messages: every string, keys included. */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { scrubLent } from '../../src/proxy/lent-secrets'
import type { JsonRpcMessage } from '../../src/mcp/jsonrpc'
import { OriginCredential } from '../../src/auth/config'
import { keyring } from '../../src/auth/master-key'
import { originCredentialHeader } from '../../src/auth/origin-credential'
import { kvAuthStore } from '../../src/auth/storage'
import { putSecret } from '../../src/tenant/secrets'

const SECRET = 'fake-origin-secret-0123'

describe('scrubLent', () => {
  it('replaces every occurrence in values, array items and keys, leaving the input untouched', () => {
    const message = {
      jsonrpc: '2.0',
      id: 1,
      result: {
        content: [{ type: 'text', text: `auth: Bearer ${SECRET}; again ${SECRET}.` }],
        structuredContent: { [SECRET]: [SECRET, 42, true, null], kept: 'plain' },
      },
    } as unknown as JsonRpcMessage
    const before = JSON.stringify(message)
    expect(scrubLent(message, [SECRET])).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: {
        content: [{ type: 'text', text: 'auth: Bearer [REDACTED:secret]; again [REDACTED:secret].' }],
        structuredContent: { '[REDACTED:secret]': ['[REDACTED:secret]', 42, true, null], kept: 'plain' },
      },
    })
    expect(JSON.stringify(message)).toBe(before)
  })

  it('returns null when nothing lent occurs, when nothing was lent, and ignores values under 8 characters', () => {
    const message = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'short abc1234 here' }] } } as unknown as JsonRpcMessage
    expect(scrubLent(message, [SECRET])).toBeNull()
    expect(scrubLent(message, [])).toBeNull()
    expect(scrubLent(message, ['abc1234'])).toBeNull()
  })
})

describe('the origin credential as lent', () => {
  it('is the secret as the origin receives it: spaces around a stored value, which headers drop, do not hide an echo', async () => {
    const ring = await keyring({ SECRETS_MASTER_KEY: `1:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}` })
    if (!ring) throw new Error('no key ring')
    const store = kvAuthStore(env.CONFIG)
    const core = `fake-origin-${crypto.randomUUID()}`
    const credentials = [
      { secret: 'padded', header: 'authorization' },
      { secret: 'padded', header: 'x-origin-key', scheme: '' },
    ]
    await putSecret(store, ring, 'lender-pad', 'padded', `  ${core} `)
    for (const credential of credentials) {
      const lent = await originCredentialHeader(store, ring, 'lender-pad', OriginCredential.parse(credential))
      const received = new Headers({ [lent.header]: lent.value }).get(lent.header) ?? ''
      expect(received).toContain(core)
      // The origin echoes the header it received into a result.
      const echoed = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: `got ${received}` }] } } as unknown as JsonRpcMessage
      expect(JSON.stringify(scrubLent(echoed, [lent.secret]) ?? echoed), credential.header).not.toContain(core)
    }
  })
})
