/**
 * Client API keys (`auth.mode: apiKey`). A key is `mfk_<id>_<secret>`: a 16-hex-digit id (so one storage
 * read finds its record) and 32 random bytes. Only the SHA-256 of the whole key is stored; 256 bits of
 * randomness make a salt or a slow hash unnecessary. The key is shown once, when issued.
 */
import { z } from 'zod'
import { base64url } from 'jose'
import type { AuthStore, ClientKeyRecord } from './storage'
import { hex, sha256Hex } from '../hex'

const KEY_FORMAT = /^mfk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/

export const ClientKeyId = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex digits')

/** The body of `POST /admin/v1/tenants/:id/client-keys`. */
export const ClientKeyInput = z
  .object({
    /** A label for operators (who holds the key). */
    name: z.string().min(1).max(100).optional(),
    /** When the key stops working (ISO 8601 with offset); absent = no expiry. */
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
export type ClientKeyInput = z.infer<typeof ClientKeyInput>

/** The one answer that contains the key. */
export interface IssuedClientKey {
  id: string
  key: string
  createdAt: string
  expiresAt: string | null
  name?: string
}

/** Creates and stores a new key; the returned `key` is not recoverable afterwards. */
export async function issueClientKey(store: AuthStore, tenantId: string, input: ClientKeyInput, now = new Date()): Promise<IssuedClientKey> {
  const id = hex(crypto.getRandomValues(new Uint8Array(8)))
  const key = `mfk_${id}_${base64url.encode(crypto.getRandomValues(new Uint8Array(32)))}`
  const record: ClientKeyRecord = {
    schema: 1,
    id,
    hash: await sha256Hex(key),
    createdAt: now.toISOString(),
    expiresAt: input.expiresAt ? new Date(input.expiresAt).toISOString() : null,
    ...(input.name !== undefined ? { name: input.name } : {}),
  }
  await store.putClientKey(tenantId, record)
  return { id, key, createdAt: record.createdAt, expiresAt: record.expiresAt, ...(record.name !== undefined ? { name: record.name } : {}) }
}

/** Checks a presented key: the key id when it is known, unexpired and matches its stored hash. */
export async function verifyClientKey(store: AuthStore, tenantId: string, presented: string, now = Date.now()): Promise<string | null> {
  return (await clientKeyRecord(store, tenantId, presented, now))?.id ?? null
}

/** {@link verifyClientKey}, with the stored record (its `expiresAt`) of the key that matched. */
export async function clientKeyRecord(store: AuthStore, tenantId: string, presented: string, now = Date.now()): Promise<ClientKeyRecord | null> {
  const id = KEY_FORMAT.exec(presented)?.[1]
  if (!id) return null
  const record = await store.getClientKey(tenantId, id)
  if (!record || record.id !== id) return null
  if (record.expiresAt !== null && !(Date.parse(record.expiresAt) > now)) return null
  const enc = new TextEncoder()
  return crypto.subtle.timingSafeEqual(enc.encode(await sha256Hex(presented)), enc.encode(record.hash)) ? record : null
}
