/**
 * Tenant secrets (origin credentials, webhook signing secrets), encrypted at rest.
 *
 * Each value is sealed with AES-256-GCM under a key derived for its tenant from the master key ring
 * (src/auth/master-key.ts, HKDF info `tenant-secrets:<tenant>`). The envelope is base64url of
 *
 *     [0x01 format] [key version] [12-byte IV] [ciphertext ‖ 16-byte tag]
 *
 * and the additional data binds it to `<tenant>:<name>` and its two header bytes, so a ciphertext copied
 * to another tenant or name, or given another key version, fails to open. The key version lets a new
 * master key be introduced while old envelopes still open; `reencryptSecrets` moves them to the current key.
 * Values are never returned by the API and never logged.
 */
import { z } from 'zod'
import { base64url } from 'jose'
import { DerivedKeys, deriveBytes } from '../auth/master-key'
import type { Keyring, MasterKey } from '../auth/master-key'
import type { AuthStore } from '../auth/storage'

/** Secret names appear in storage keys and config references. */
import { SecretName } from './secret-name'
export { SecretName }

/** Longest value, in UTF-16 units (as JavaScript counts a string's length). */
const MAX_VALUE_CHARS = 16 * 1024

/** The body of `PUT /admin/v1/tenants/:id/secrets/:name`. */
export const SecretInput = z.object({ value: z.string().min(1).max(MAX_VALUE_CHARS) }).strict()
export type SecretInput = z.infer<typeof SecretInput>

const FORMAT = 0x01
const IV_BYTES = 12
const TAG_BYTES = 16
const HEADER_BYTES = 2
/** A UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4). */
const MAX_VALUE_BYTES = MAX_VALUE_CHARS * 3

/** A sealed value as stored: base64url, at least header + IV + tag, at most that around the longest value. */
export const Envelope = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url')
  .min(Math.ceil(((HEADER_BYTES + IV_BYTES + TAG_BYTES) * 4) / 3))
  .max(Math.ceil(((HEADER_BYTES + IV_BYTES + MAX_VALUE_BYTES + TAG_BYTES) * 4) / 3))
export type Envelope = z.infer<typeof Envelope>

const aesKeys = new DerivedKeys<CryptoKey>()

function tenantKey(ring: Keyring, master: MasterKey, tenantId: string): Promise<CryptoKey> {
  return aesKeys.get(ring, master, tenantId, async () => {
    const raw = await deriveBytes(master, 'tenant-secrets', tenantId, 32)
    return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
  })
}

function additionalData(tenantId: string, name: string, header: Uint8Array): Uint8Array {
  const label = new TextEncoder().encode(`mcp-edge-firewall/secret:${tenantId}:${name}:`)
  const out = new Uint8Array(label.byteLength + header.byteLength)
  out.set(label)
  out.set(header, label.byteLength)
  return out
}

/** Seals `plaintext` for `<tenant>:<name>` under the ring's current key. */
export async function encryptSecret(ring: Keyring, tenantId: string, name: string, plaintext: string): Promise<Envelope> {
  const master = ring.current
  const header = new Uint8Array([FORMAT, master.version])
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: additionalData(tenantId, name, header) },
    await tenantKey(ring, master, tenantId),
    new TextEncoder().encode(plaintext),
  )
  const out = new Uint8Array(HEADER_BYTES + IV_BYTES + sealed.byteLength)
  out.set(header)
  out.set(iv, HEADER_BYTES)
  out.set(new Uint8Array(sealed), HEADER_BYTES + IV_BYTES)
  return base64url.encode(out)
}

/** The master key version an envelope was sealed with, or null when it is not an envelope. */
export function envelopeKeyVersion(envelope: string): number | null {
  const bytes = decodeEnvelope(envelope)
  return bytes ? (bytes[1] ?? null) : null
}

/**
 * Opens an envelope for `<tenant>:<name>`. Null when it cannot be opened: malformed, sealed with a key
 * version the ring no longer holds, tampered with, or made for another tenant or name.
 */
export async function decryptSecret(ring: Keyring, tenantId: string, name: string, envelope: string): Promise<string | null> {
  const bytes = decodeEnvelope(envelope)
  const master = bytes ? ring.byVersion.get(bytes[1] ?? 0) : undefined
  if (!bytes || !master) return null
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES), additionalData: additionalData(tenantId, name, bytes.subarray(0, HEADER_BYTES)) },
      await tenantKey(ring, master, tenantId),
      bytes.subarray(HEADER_BYTES + IV_BYTES),
    )
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(plain)
  } catch {
    return null
  }
}

function decodeEnvelope(envelope: string): Uint8Array | null {
  if (!Envelope.safeParse(envelope).success) return null
  let bytes: Uint8Array
  try {
    bytes = base64url.decode(envelope)
  } catch {
    return null
  }
  if (bytes.byteLength < HEADER_BYTES + IV_BYTES + TAG_BYTES || bytes[0] !== FORMAT) return null
  return bytes
}

/** Encrypts and stores a tenant secret (create or replace). */
export async function putSecret(store: AuthStore, ring: Keyring, tenantId: string, name: SecretName, value: string, now = new Date()): Promise<void> {
  const envelope = await encryptSecret(ring, tenantId, name, value)
  await store.putSecret(tenantId, name, { schema: 1, envelope, updatedAt: now.toISOString() })
}

/** Reads and opens a tenant secret: the value, `missing`, or `unreadable` (see `decryptSecret`). */
export async function readSecret(store: AuthStore, ring: Keyring, tenantId: string, name: SecretName): Promise<string | 'missing' | 'unreadable'> {
  const stored = await store.getSecret(tenantId, name)
  if (!stored) return 'missing'
  return (await decryptSecret(ring, tenantId, name, stored.envelope)) ?? 'unreadable'
}

/**
 * What a re-encryption pass did: secrets moved to the current key, already current, unreadable, or
 * changed by another writer while the pass worked on them (left to that writer; run the pass again).
 */
export interface ReencryptResult {
  reencrypted: number
  current: number
  unreadable: string[]
  changed: string[]
}

/**
 * Re-seals every secret of a tenant that is not under the ring's current key version (step 3 of a
 * master-key rotation). Secrets that cannot be opened are left untouched and named in the result.
 */
export async function reencryptSecrets(store: AuthStore, ring: Keyring, tenantId: string): Promise<ReencryptResult> {
  const result: ReencryptResult = { reencrypted: 0, current: 0, unreadable: [], changed: [] }
  for (const { name } of await store.listSecrets(tenantId)) {
    const stored = await store.getSecret(tenantId, name)
    if (!stored) continue
    if (envelopeKeyVersion(stored.envelope) === ring.current.version) {
      result.current += 1
      continue
    }
    const value = await decryptSecret(ring, tenantId, name, stored.envelope)
    if (value === null) {
      result.unreadable.push(name)
      continue
    }
    const envelope = await encryptSecret(ring, tenantId, name, value)
    // KV has no compare-and-swap. Read again just before writing: a secret replaced or deleted since the
    // first read is left to whoever changed it, so the pass never puts back an old value (the window left
    // is one KV round trip; writes made in another location may take up to KV's propagation delay to show).
    const latest = await store.getSecret(tenantId, name)
    if (latest?.envelope !== stored.envelope) {
      result.changed.push(name)
      continue
    }
    // The value's updatedAt is kept: re-encryption changes the key, not the secret.
    await store.putSecret(tenantId, name, { ...stored, envelope })
    result.reencrypted += 1
  }
  return result
}
