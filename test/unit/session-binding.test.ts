import { describe, expect, it } from 'vitest'
import { keyring } from '../../src/auth/master-key'
import type { Keyring } from '../../src/auth/master-key'
import { bindSessionId, boundSessionId } from '../../src/auth/session-binding'
import type { SessionOwner } from '../../src/auth/session-binding'

/** A fresh master key of `version`, made at run time. */
function masterKey(version: number): string {
  return `${version}:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`
}

async function ring(...entries: string[]): Promise<Keyring> {
  const built = await keyring({ SECRETS_MASTER_KEY: entries.join(',') })
  if (!built) throw new Error('key ring refused')
  return built
}

const alice: SessionOwner = { tenantId: 'acme', mode: 'apiKey', identity: 'key-alice' }
const ORIGIN_ID = '6c7f2a9e-1f0b-4c3e-9a51-2d8f7b0e4a13'

describe('session ids bound to the verified client', () => {
  it("carry the origin's id to the client that got them, in visible ASCII", async () => {
    const keys = await ring(masterKey(1))
    const id = await bindSessionId(keys, alice, ORIGIN_ID)
    expect(id).toMatch(/^mcpfs1~1~[A-Za-z0-9_-]{22}~/)
    expect(id).toMatch(/^[\x21-\x7e]+$/)
    expect(id.endsWith(`~${ORIGIN_ID}`)).toBe(true)
    expect(await boundSessionId(keys, alice, id)).toBe(ORIGIN_ID)
    expect(await bindSessionId(keys, alice, ORIGIN_ID)).toBe(id) // the same on every response
    const tildes = await bindSessionId(keys, alice, 'a~b~c')
    expect(await boundSessionId(keys, alice, tildes)).toBe('a~b~c')
  })

  it('are refused to another identity, tenant or auth mode', async () => {
    const keys = await ring(masterKey(1))
    const id = await bindSessionId(keys, alice, ORIGIN_ID)
    expect(await boundSessionId(keys, { ...alice, identity: 'key-mallory' }, id)).toBeNull()
    expect(await boundSessionId(keys, { ...alice, tenantId: 'other' }, id)).toBeNull()
    expect(await boundSessionId(keys, { ...alice, mode: 'jwt' }, id)).toBeNull()
  })

  it('are refused when edited or not in their form', async () => {
    const keys = await ring(masterKey(1))
    const id = await bindSessionId(keys, alice, ORIGIN_ID)
    const [, version = '', mac = ''] = id.split('~')
    const flipped = `${mac.slice(0, -1)}${mac.endsWith('A') ? 'Q' : 'A'}`
    for (const edited of [
      ORIGIN_ID,
      `mcpfs1~${version}~${flipped}~${ORIGIN_ID}`,
      `mcpfs1~${version}~${mac}~${ORIGIN_ID}x`,
      `mcpfs1~0${version}~${mac}~${ORIGIN_ID}`,
      `mcpfs1~2~${mac}~${ORIGIN_ID}`,
      `mcpfs1~${version}~${mac}~`,
      `mcpfs1~${version}~${mac.slice(1)}~${ORIGIN_ID}`,
      `mcpfs1~${version}~${mac}~${ORIGIN_ID} `,
      `${id}\u00e9`,
      '',
    ]) {
      expect(await boundSessionId(keys, alice, edited)).toBeNull()
    }
  })

  it('outlive a key rotation while the old key stays in the ring, and end when it leaves', async () => {
    const [one, two] = [masterKey(1), masterKey(2)]
    const before = await bindSessionId(await ring(one), alice, ORIGIN_ID)
    const rotating = await ring(two, one)
    expect(await boundSessionId(rotating, alice, before)).toBe(ORIGIN_ID)
    const after = await bindSessionId(rotating, alice, ORIGIN_ID)
    expect(after).toMatch(/^mcpfs1~2~/) // responses move the client to the current key
    const rotated = await ring(two)
    expect(await boundSessionId(rotated, alice, after)).toBe(ORIGIN_ID)
    expect(await boundSessionId(rotated, alice, before)).toBeNull()
  })
})
