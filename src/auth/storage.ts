/**
 * Where client keys and encrypted tenant secrets live, behind one small interface so the storage can
 * move (e.g. into the tenant's Durable Object) without touching the callers.
 *
 * KV layout (namespace `CONFIG`):
 * - `secret:<tenant>:<name>` → `StoredSecret` JSON; KV metadata `{ updatedAt }` for listing.
 * - `clientkey:<tenant>:<keyId>` → `ClientKeyRecord` JSON (SHA-256 of the key, never the key);
 *   KV metadata `{ createdAt, expiresAt, name? }` for listing.
 *
 * Every value read back is validated; a malformed one is treated as absent (fail closed: an unreadable
 * key authenticates nobody, an unreadable secret makes the endpoint refuse with a configuration error).
 */
import { z } from 'zod'
import { Envelope } from '../tenant/secrets'

export const StoredSecret = z
  .object({
    schema: z.literal(1),
    envelope: Envelope,
    updatedAt: z.string(),
  })
  .strict()
export type StoredSecret = z.infer<typeof StoredSecret>

export const SecretSummary = z.object({ name: z.string(), updatedAt: z.string() }).strict()
export type SecretSummary = z.infer<typeof SecretSummary>

export const ClientKeyRecord = z
  .object({
    schema: z.literal(1),
    id: z.string(),
    /** Lower-case hex SHA-256 of the whole presented key. */
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    name: z.string().optional(),
  })
  .strict()
export type ClientKeyRecord = z.infer<typeof ClientKeyRecord>

export const ClientKeySummary = z
  .object({ id: z.string(), createdAt: z.string(), expiresAt: z.string().nullable(), name: z.string().optional() })
  .strict()
export type ClientKeySummary = z.infer<typeof ClientKeySummary>

/** Storage for one firewall's client keys and tenant secrets. */
export interface AuthStore {
  getSecret(tenantId: string, name: string): Promise<StoredSecret | null>
  putSecret(tenantId: string, name: string, value: StoredSecret): Promise<void>
  /** False when there was nothing to delete. */
  deleteSecret(tenantId: string, name: string): Promise<boolean>
  listSecrets(tenantId: string): Promise<SecretSummary[]>
  getClientKey(tenantId: string, keyId: string): Promise<ClientKeyRecord | null>
  putClientKey(tenantId: string, record: ClientKeyRecord): Promise<void>
  deleteClientKey(tenantId: string, keyId: string): Promise<boolean>
  listClientKeys(tenantId: string): Promise<ClientKeySummary[]>
}

export const secretKey = (tenantId: string, name: string): string => `secret:${tenantId}:${name}`
export const clientKeyKey = (tenantId: string, keyId: string): string => `clientkey:${tenantId}:${keyId}`

/** The KV implementation. Tenant ids and names contain no `:`, so a prefix never spans tenants. */
export function kvAuthStore(kv: KVNamespace): AuthStore {
  return {
    getSecret: (t, name) => readJson(kv, secretKey(t, name), StoredSecret),
    async putSecret(t, name, value) {
      await kv.put(secretKey(t, name), JSON.stringify(value), { metadata: { updatedAt: value.updatedAt } })
    },
    deleteSecret: (t, name) => deleteIfPresent(kv, secretKey(t, name)),
    async listSecrets(t) {
      const prefix = secretKey(t, '')
      return listSummaries(kv, prefix, async (name, metadata) => {
        const meta = z.object({ updatedAt: z.string() }).safeParse(metadata)
        if (meta.success) return { name, updatedAt: meta.data.updatedAt }
        const stored = await readJson(kv, prefix + name, StoredSecret)
        return stored ? { name, updatedAt: stored.updatedAt } : null
      })
    },
    getClientKey: (t, id) => readJson(kv, clientKeyKey(t, id), ClientKeyRecord),
    async putClientKey(t, record) {
      const { id, createdAt, expiresAt, name } = record
      await kv.put(clientKeyKey(t, id), JSON.stringify(record), { metadata: { createdAt, expiresAt, ...(name !== undefined ? { name } : {}) } })
    },
    deleteClientKey: (t, id) => deleteIfPresent(kv, clientKeyKey(t, id)),
    async listClientKeys(t) {
      const prefix = clientKeyKey(t, '')
      return listSummaries(kv, prefix, async (id, metadata) => {
        const meta = ClientKeySummary.omit({ id: true }).safeParse(metadata)
        if (meta.success) return { id, ...meta.data }
        const record = await readJson(kv, prefix + id, ClientKeyRecord)
        return record ? { id, createdAt: record.createdAt, expiresAt: record.expiresAt, ...(record.name !== undefined ? { name: record.name } : {}) } : null
      })
    },
  }
}

async function readJson<T>(kv: KVNamespace, key: string, schema: z.ZodType<T>): Promise<T | null> {
  const raw = await kv.get(key, 'text')
  if (raw === null) return null
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    return null
  }
  const parsed = schema.safeParse(value)
  return parsed.success ? parsed.data : null
}

async function deleteIfPresent(kv: KVNamespace, key: string): Promise<boolean> {
  if ((await kv.get(key, 'text')) === null) return false
  await kv.delete(key)
  return true
}

async function listSummaries<T>(kv: KVNamespace, prefix: string, summarise: (suffix: string, metadata: unknown) => Promise<T | null>): Promise<T[]> {
  const out: T[] = []
  for await (const key of keysUnder(kv, prefix)) {
    const item = await summarise(key.name.slice(prefix.length), key.metadata)
    if (item !== null) out.push(item)
  }
  return out
}

/** Every KV key under `prefix`, page after page. */
export async function* keysUnder(kv: KVNamespace, prefix: string): AsyncGenerator<KVNamespaceListKey<unknown>> {
  let cursor: string | undefined
  for (;;) {
    const page = await kv.list({ prefix, ...(cursor ? { cursor } : {}) })
    yield* page.keys
    if (page.list_complete) return
    cursor = page.cursor
  }
}
