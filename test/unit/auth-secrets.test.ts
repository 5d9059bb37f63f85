/**
 * Tenant secrets: the master key ring, AES-GCM envelopes bound to tenant and name, key versions and
 * re-encryption after a master-key rotation. Keys are generated per test run, never fixed.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { base64url } from 'jose'
import { MasterKeySetting, keyring } from '../../src/auth/master-key'
import type { Keyring } from '../../src/auth/master-key'
import { kvAuthStore } from '../../src/auth/storage'
import type { AuthStore } from '../../src/auth/storage'
import { SecretInput, decryptSecret, encryptSecret, envelopeKeyVersion, putSecret, readSecret, reencryptSecrets } from '../../src/tenant/secrets'

const randomKey = (): string => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))

async function ring(setting: string): Promise<Keyring> {
  const r = await keyring({ SECRETS_MASTER_KEY: setting })
  if (!r) throw new Error('key ring did not parse')
  return r
}

describe('SECRETS_MASTER_KEY', () => {
  it('parses versioned entries, first is current; a bare value is version 1', async () => {
    const [a, b] = [randomKey(), randomKey()]
    const two = await ring(`2:${b}, 1:${a}`)
    expect(two.current.version).toBe(2)
    expect([...two.byVersion.keys()]).toEqual([2, 1])
    expect((await ring(a)).current.version).toBe(1)
  })

  it.each([
    ['too short', `1:${btoa('short')}`, 'key 1: must be at least 32 bytes'],
    ['not base64', '1:not base64!', 'key 1: must be base64'],
    ['version 0', `0:${randomKey()}`, 'key version must be 1..255'],
    ['version 256', `256:${randomKey()}`, 'key version must be 1..255'],
  ])('refuses a malformed setting (%s)', (_name, setting, message) => {
    const parsed = MasterKeySetting.safeParse(setting)
    expect(parsed.success).toBe(false)
    expect(parsed.error?.issues.map((i) => i.message)).toEqual([message])
  })

  it('refuses duplicate versions', () => {
    const parsed = MasterKeySetting.safeParse(`1:${randomKey()},1:${randomKey()}`)
    expect(parsed.error?.issues.map((i) => i.message)).toEqual(['key versions must be unique'])
  })

  it('is absent (null) when unset, empty or malformed, so secret features fail closed', async () => {
    expect(await keyring({})).toBeNull()
    expect(await keyring({ SECRETS_MASTER_KEY: '' })).toBeNull()
    expect(await keyring({ SECRETS_MASTER_KEY: 'x' })).toBeNull()
  })
})

describe('secret envelopes', () => {
  it('round-trips, with the format and key version bytes in the clear and the value nowhere', async () => {
    const r = await ring(`7:${randomKey()}`)
    const value = `origin-token-${crypto.randomUUID()} ü 🔑`
    const envelope = await encryptSecret(r, 'acme', 'origin-token', value)
    const bytes = base64url.decode(envelope)
    expect([bytes[0], bytes[1]]).toEqual([1, 7])
    expect(bytes.byteLength).toBe(2 + 12 + new TextEncoder().encode(value).byteLength + 16)
    expect(envelopeKeyVersion(envelope)).toBe(7)
    expect(envelope).not.toContain(value.slice(0, 12))
    expect(await decryptSecret(r, 'acme', 'origin-token', envelope)).toBe(value)
    // A fresh IV every time.
    expect(await encryptSecret(r, 'acme', 'origin-token', value)).not.toBe(envelope)
  })

  it('does not open for another tenant, another name, another master key, or after tampering', async () => {
    const r = await ring(randomKey())
    const envelope = await encryptSecret(r, 'acme', 'a', 'value')
    expect(await decryptSecret(r, 'other', 'a', envelope)).toBeNull()
    expect(await decryptSecret(r, 'acme', 'b', envelope)).toBeNull()
    expect(await decryptSecret(await ring(randomKey()), 'acme', 'a', envelope)).toBeNull()
    const bytes = base64url.decode(envelope)
    for (const i of [1, 5, bytes.byteLength - 1]) {
      const tampered = bytes.slice()
      tampered[i] = (tampered[i] ?? 0) ^ 1
      expect(await decryptSecret(r, 'acme', 'a', base64url.encode(tampered))).toBeNull()
    }
    expect(await decryptSecret(r, 'acme', 'a', 'not-an-envelope')).toBeNull()
  })

  it('rotates: old envelopes open while the old key is in the ring, and re-encryption moves them to the new key', async () => {
    const [k1, k2] = [randomKey(), randomKey()]
    const store = kvAuthStore(env.CONFIG)
    const v1 = await ring(`1:${k1}`)
    await putSecret(store, v1, 'rot', 'one', 'first value')
    await putSecret(store, v1, 'rot', 'two', 'second value')
    const before = await store.getSecret('rot', 'one')

    const both = await ring(`2:${k2},1:${k1}`)
    expect(await readSecret(store, both, 'rot', 'one')).toBe('first value')
    expect(await reencryptSecrets(store, both, 'rot')).toEqual({ reencrypted: 2, current: 0, unreadable: [], changed: [] })
    expect(await reencryptSecrets(store, both, 'rot')).toEqual({ reencrypted: 0, current: 2, unreadable: [], changed: [] })
    const after = await store.getSecret('rot', 'one')
    expect(envelopeKeyVersion(after?.envelope ?? '')).toBe(2)
    expect(after?.updatedAt).toBe(before?.updatedAt)

    const onlyNew = await ring(`2:${k2}`)
    expect(await readSecret(store, onlyNew, 'rot', 'one')).toBe('first value')
    expect(await readSecret(store, onlyNew, 'rot', 'two')).toBe('second value')
    expect(await readSecret(store, v1, 'rot', 'one')).toBe('unreadable')
    expect(await readSecret(store, onlyNew, 'rot', 'three')).toBe('missing')
  })

  it('re-encryption never puts back a value replaced or deleted while it worked (no compare-and-swap in KV)', async () => {
    const [k1, k2] = [randomKey(), randomKey()]
    const kv = kvAuthStore(env.CONFIG)
    const v1 = await ring(`1:${k1}`)
    const both = await ring(`2:${k2},1:${k1}`)
    await putSecret(kv, v1, 'race', 'replaced', 'old value')
    await putSecret(kv, v1, 'race', 'deleted', 'old value')
    await putSecret(kv, v1, 'race', 'quiet', 'old value')
    // Another admin request lands between the pass's first read of a secret and its write.
    const reads = new Map<string, number>()
    const racing: AuthStore = {
      ...kv,
      async getSecret(tenantId, name) {
        const got = await kv.getSecret(tenantId, name)
        reads.set(name, (reads.get(name) ?? 0) + 1)
        if (reads.get(name) === 1 && name === 'replaced') await putSecret(kv, both, tenantId, name, 'new value')
        if (reads.get(name) === 1 && name === 'deleted') await kv.deleteSecret(tenantId, name)
        return got
      },
    }
    const result = await reencryptSecrets(racing, both, 'race')
    expect({ ...result, changed: [...result.changed].sort() }).toEqual({ reencrypted: 1, current: 0, unreadable: [], changed: ['deleted', 'replaced'] })
    expect(await readSecret(kv, both, 'race', 'replaced')).toBe('new value')
    expect(await readSecret(kv, both, 'race', 'deleted')).toBe('missing')
    expect(await readSecret(kv, both, 'race', 'quiet')).toBe('old value')
    expect(envelopeKeyVersion((await kv.getSecret('race', 'quiet'))?.envelope ?? '')).toBe(2)
  })

  it('opens every value the API accepts, up to its 16 K characters of any script', async () => {
    const store = kvAuthStore(env.CONFIG)
    const r = await ring(randomKey())
    // 16,384 UTF-16 units are up to 49,152 UTF-8 bytes: the envelope grows with the bytes, not the characters.
    for (const [name, value] of [['ascii', 'a'.repeat(16 * 1024)], ['latin', 'é'.repeat(16 * 1024)], ['cjk', '鍵'.repeat(16 * 1024)], ['emoji', '🔑'.repeat(8 * 1024)]] as const) {
      expect(SecretInput.safeParse({ value }).success).toBe(true)
      await putSecret(store, r, 'big', name, value)
      expect((await readSecret(store, r, 'big', name)) === value, name).toBe(true)
    }
  })

  it('stores only the envelope under secret:<tenant>:<name>, and a malformed stored value reads as missing', async () => {
    const store = kvAuthStore(env.CONFIG)
    const r = await ring(randomKey())
    await putSecret(store, r, 'kv', 'hook', 'webhook-signing-value')
    const raw = await env.CONFIG.getWithMetadata('secret:kv:hook', 'text')
    expect(raw.value).not.toContain('webhook-signing-value')
    expect(JSON.parse(raw.value ?? '{}')).toMatchObject({ schema: 1, envelope: expect.any(String), updatedAt: expect.any(String) })
    expect(raw.metadata).toEqual({ updatedAt: expect.any(String) })
    await env.CONFIG.put('secret:kv:broken', '{"schema":1,"envelope":"!!"}')
    expect(await readSecret(store, r, 'kv', 'broken')).toBe('missing')
  })
})
