/** What the firewall lends the origin is scrubbed from server messages: every string, keys included. */
import { describe, expect, it } from 'vitest'
import { scrubLent } from '../../src/proxy/lent-secrets'
import type { JsonRpcMessage } from '../../src/mcp/jsonrpc'

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
