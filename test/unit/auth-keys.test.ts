/**
 * Client API keys (hashed at rest, optional expiry) and identity assertions (ES256, derived per tenant,
 * verified with the exported helper).
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { decodeProtectedHeader } from 'jose'
import { issueClientKey, verifyClientKey } from '../../src/auth/api-keys'
import { identityJwks, signIdentityAssertion } from '../../src/auth/assertion'
import { ASSERTION_TYP, verifyIdentityAssertion } from '../../src/auth/assertion-verify'
import { keyring } from '../../src/auth/master-key'
import type { Keyring } from '../../src/auth/master-key'
import { kvAuthStore } from '../../src/auth/storage'

const randomKey = (): string => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
async function ring(setting: string): Promise<Keyring> {
  const r = await keyring({ SECRETS_MASTER_KEY: setting })
  if (!r) throw new Error('key ring did not parse')
  return r
}

describe('client API keys', () => {
  const store = kvAuthStore(env.CONFIG)

  it('issues a key once, stores only its SHA-256, and verifies it to its id', async () => {
    const issued = await issueClientKey(store, 'keys', { name: 'ci' })
    expect(issued.key).toMatch(/^mfk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
    expect(issued).toMatchObject({ id: issued.key.slice(4, 20), expiresAt: null, name: 'ci' })
    const raw = (await env.CONFIG.get(`clientkey:keys:${issued.id}`)) ?? ''
    expect(raw).not.toContain(issued.key.slice(21))
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(issued.key)))
    expect(JSON.parse(raw)).toMatchObject({ hash: [...digest].map((b) => b.toString(16).padStart(2, '0')).join('') })
    expect(await verifyClientKey(store, 'keys', issued.key)).toBe(issued.id)
  })

  it('refuses unknown, altered, other-tenant, expired and deleted keys', async () => {
    const issued = await issueClientKey(store, 'keys', {})
    const last = issued.key.at(-1) === 'A' ? 'B' : 'A'
    expect(await verifyClientKey(store, 'keys', `${issued.key.slice(0, -1)}${last}`)).toBeNull()
    expect(await verifyClientKey(store, 'keys', issued.key.replace(issued.id, '0000000000000000'))).toBeNull()
    expect(await verifyClientKey(store, 'other', issued.key)).toBeNull()
    expect(await verifyClientKey(store, 'keys', 'not-a-key')).toBeNull()

    const expiring = await issueClientKey(store, 'keys', { expiresAt: new Date(Date.now() + 60_000).toISOString() })
    expect(await verifyClientKey(store, 'keys', expiring.key)).toBe(expiring.id)
    expect(await verifyClientKey(store, 'keys', expiring.key, Date.now() + 61_000)).toBeNull()

    expect(await store.deleteClientKey('keys', issued.id)).toBe(true)
    expect(await store.deleteClientKey('keys', issued.id)).toBe(false)
    expect(await verifyClientKey(store, 'keys', issued.key)).toBeNull()
  })

  it('lists ids and dates only', async () => {
    const issued = await issueClientKey(store, 'listed', { name: 'laptop' })
    expect(await store.listClientKeys('listed')).toEqual([{ id: issued.id, createdAt: issued.createdAt, expiresAt: null, name: 'laptop' }])
  })
})

describe('identity assertions', () => {
  const audience = 'https://origin.example/mcp'

  it('signs ES256 with a per-tenant key that every isolate derives alike, verifiable with the helper', async () => {
    const master = randomKey()
    const r = await ring(master)
    const token = await signIdentityAssertion(r, 'acme', audience, { subject: 'user-42', authMode: 'jwt', scope: 'mcp:read' })
    const jwks = await identityJwks(r, 'acme')
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: ASSERTION_TYP, kid: jwks.keys[0]?.kid })
    // Another isolate (a fresh ring from the same secret) publishes the same key.
    expect(await identityJwks(await ring(`1:${master}`), 'acme')).toEqual(jwks)
    expect(jwks.keys[0]).not.toHaveProperty('d')

    const who = await verifyIdentityAssertion(token, { keys: jwks, tenantId: 'acme', audience })
    expect(who).toMatchObject({ subject: 'user-42', authMode: 'jwt', scope: 'mcp:read' })
    expect(who.claims.exp - who.claims.iat).toBe(120)
    expect(who.claims.iss).toBe('urn:mcp-firewall:acme')
  })

  it('does not verify for another audience or tenant, with another tenant’s keys, or once expired', async () => {
    const r = await ring(randomKey())
    const token = await signIdentityAssertion(r, 'acme', audience, { subject: 'k1', authMode: 'apiKey' })
    const keys = await identityJwks(r, 'acme')
    await expect(verifyIdentityAssertion(token, { keys, tenantId: 'acme', audience: 'https://other.example/mcp' })).rejects.toThrow(/aud/)
    await expect(verifyIdentityAssertion(token, { keys, tenantId: 'other', audience })).rejects.toThrow(/iss/)
    await expect(verifyIdentityAssertion(token, { keys: await identityJwks(r, 'other'), tenantId: 'acme', audience })).rejects.toThrow(/key/i)
    await expect(verifyIdentityAssertion(token, { keys, tenantId: 'acme', audience, currentDate: new Date(Date.now() + 130_000) })).rejects.toThrow(/exp/)
  })

  it('publishes one key per master-key version, current first, and signs with the current one', async () => {
    const [k1, k2] = [randomKey(), randomKey()]
    const old = await identityJwks(await ring(`1:${k1}`), 'acme')
    const rotated = await ring(`2:${k2},1:${k1}`)
    const jwks = await identityJwks(rotated, 'acme')
    expect(jwks.keys).toHaveLength(2)
    expect(jwks.keys[1]).toEqual(old.keys[0])
    const token = await signIdentityAssertion(rotated, 'acme', audience, { subject: 's', authMode: 'jwt' })
    expect(decodeProtectedHeader(token).kid).toBe(jwks.keys[0]?.kid)
  })
})
