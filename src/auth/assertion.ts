/**
 * Signing identity assertions (format in ./assertion-verify.ts). ES256 rather than HS256 so origins
 * verify with a public key and can never mint an identity themselves, and no shared secret has to be
 * handed to them.
 *
 * The signing key is derived, not stored: HKDF (info `identity-assertion:<tenant>`) gives 48 bytes that
 * are reduced to a P-256 scalar as in FIPS 186-5 A.2.1, and WebCrypto computes the public point on
 * import. Every isolate therefore has the same key without coordination, and a master-key rotation
 * rotates it (the JWKS lists one key per master-key version).
 */
import { SignJWT, calculateJwkThumbprint } from 'jose'
import type { JSONWebKeySet, JWK } from 'jose'
import { DerivedKeys, deriveBytes } from './master-key'
import type { Keyring, MasterKey } from './master-key'
import { ASSERTION_TTL_SEC, ASSERTION_TYP, assertionIssuer } from './assertion-verify'
import { fromHex, hex } from '../hex'

interface SigningKey {
  privateKey: CryptoKey
  publicJwk: JWK
  kid: string
}

/** The order of the P-256 group. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
/** PKCS #8 `PrivateKeyInfo` for an EC P-256 key without the optional public key, up to the 32-byte scalar. */
const PKCS8_P256_PREFIX = new Uint8Array([
  0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
  0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
])

const signingKeys = new DerivedKeys<SigningKey>()

function signingKey(ring: Keyring, master: MasterKey, tenantId: string): Promise<SigningKey> {
  return signingKeys.get(ring, master, tenantId, async () => {
    const seed = await deriveBytes(master, 'identity-assertion', tenantId, 48)
    const d = (BigInt(`0x${hex(seed)}`) % (P256_N - 1n)) + 1n
    const der = new Uint8Array(PKCS8_P256_PREFIX.byteLength + 32)
    der.set(PKCS8_P256_PREFIX)
    der.set(fromHex(d.toString(16).padStart(64, '0')) as Uint8Array, PKCS8_P256_PREFIX.byteLength)
    const extractable = await crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])
    const jwk = await crypto.subtle.exportKey('jwk', extractable)
    if (typeof jwk !== 'object' || !('x' in jwk) || !jwk.x || !jwk.y) throw new Error('P-256 key without a public point')
    const publicJwk: JWK = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }
    const kid = await calculateJwkThumbprint(publicJwk, 'sha256')
    const privateKey = await crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
    return { privateKey, publicJwk: { ...publicJwk, kid, alg: 'ES256', use: 'sig' }, kid }
  })
}

/** Who the firewall vouches for. */
export interface AssertedIdentity {
  subject: string
  authMode: 'apiKey' | 'jwt'
  scope?: string
}

/** Signs a fresh assertion for one origin request (`aud` = the origin URL). */
export async function signIdentityAssertion(ring: Keyring, tenantId: string, audience: string, who: AssertedIdentity, now = Date.now()): Promise<string> {
  const key = await signingKey(ring, ring.current, tenantId)
  const iat = Math.floor(now / 1000)
  return new SignJWT({ auth: who.authMode, ...(who.scope !== undefined ? { scope: who.scope } : {}) })
    .setProtectedHeader({ alg: 'ES256', typ: ASSERTION_TYP, kid: key.kid })
    .setIssuer(assertionIssuer(tenantId))
    .setSubject(who.subject)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_TTL_SEC)
    .setJti(crypto.randomUUID())
    .sign(key.privateKey)
}

/** The tenant's assertion verification keys, current first (served at `/t/<tenant>/jwks.json`). */
export async function identityJwks(ring: Keyring, tenantId: string): Promise<JSONWebKeySet> {
  const keys = [ring.current, ...[...ring.byVersion.values()].filter((m) => m !== ring.current)]
  return { keys: await Promise.all(keys.map(async (m) => (await signingKey(ring, m, tenantId)).publicJwk)) }
}
