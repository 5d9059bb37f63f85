/**
 * The master key ring (`SECRETS_MASTER_KEY`, a Worker secret) and the per-tenant keys derived from it.
 *
 * Format: comma-separated `<version>:<base64>` entries of at least 32 random bytes each
 * (`openssl rand -base64 32`); a bare base64 value is version 1. The first entry is current: it encrypts
 * new secrets and signs identity assertions. Every entry decrypts and is published in the identity JWKS,
 * which is what makes rotation possible (src/auth/README.md, "Rotating the master key").
 *
 * Per-tenant keys are HKDF-SHA-256(master, salt = "mcp-edge-firewall/hkdf/v1",
 * info = "<purpose>:<tenant id>"), so one tenant's key says nothing about another's.
 */
import { z } from 'zod'
import { base64url } from 'jose'

/** Why a derived key exists; part of the HKDF `info`, so keys for different purposes never coincide. */
export type KeyPurpose = 'tenant-secrets' | 'identity-assertion' | 'stream-state' | 'session-binding'

export interface MasterKey {
  /** 1..255, written into every envelope (and assertion `kid`) made with this key. */
  readonly version: number
  /** HKDF base key; the raw bytes are not kept. */
  readonly key: CryptoKey
}

export interface Keyring {
  readonly current: MasterKey
  readonly byVersion: ReadonlyMap<number, MasterKey>
}

const SALT = new TextEncoder().encode('mcp-edge-firewall/hkdf/v1')
const MAX_DERIVED = 10_000

const KeyBytes = z
  .string()
  .regex(/^[A-Za-z0-9+/_-]+={0,2}$/, 'must be base64')
  .transform((s, ctx) => {
    try {
      return base64url.decode(s.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'))
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be base64' })
      return z.NEVER
    }
  })
  .refine((b) => b.byteLength >= 32, 'must be at least 32 bytes')

const Entry = z.string().transform((s, ctx) => {
  const m = /^(?:(\d{1,3}):)?(.+)$/.exec(s.trim())
  const version = Number(m?.[1] ?? '1')
  if (!Number.isInteger(version) || version < 1 || version > 255) {
    ctx.addIssue({ code: 'custom', message: 'key version must be 1..255' })
    return z.NEVER
  }
  const bytes = KeyBytes.safeParse(m?.[2] ?? '')
  if (!bytes.success) {
    ctx.addIssue({ code: 'custom', message: `key ${version}: ${bytes.error.issues[0]?.message ?? 'invalid'}` })
    return z.NEVER
  }
  return { version, bytes: bytes.data }
})

/** `SECRETS_MASTER_KEY` parsed: one or more entries, versions unique. */
export const MasterKeySetting = z
  .string()
  .min(1)
  .transform((s) => s.split(',').filter((e) => e.trim() !== ''))
  .pipe(z.array(Entry).min(1))
  .refine((entries) => new Set(entries.map((e) => e.version)).size === entries.length, 'key versions must be unique')

let memo: { raw: string; ring: Promise<Keyring | null> } | undefined

/**
 * The key ring from the environment, or `null` when `SECRETS_MASTER_KEY` is unset or malformed (the
 * reason is logged once per isolate, never the value). Parsed once per isolate.
 */
export function keyring(env: { SECRETS_MASTER_KEY?: string }): Promise<Keyring | null> {
  const raw = env.SECRETS_MASTER_KEY ?? ''
  if (memo?.raw !== raw) memo = { raw, ring: buildKeyring(raw) }
  return memo.ring
}

async function buildKeyring(raw: string): Promise<Keyring | null> {
  if (raw.trim() === '') return null
  const parsed = MasterKeySetting.safeParse(raw)
  if (!parsed.success) {
    console.error(JSON.stringify({ event: 'secrets_master_key_invalid', issues: parsed.error.issues.map((i) => i.message) }))
    return null
  }
  const keys = await Promise.all(
    parsed.data.map(async ({ version, bytes }) => ({
      version,
      key: await crypto.subtle.importKey('raw', bytes, 'HKDF', false, ['deriveBits']),
    })),
  )
  const [current] = keys
  if (!current) return null
  return { current, byVersion: new Map(keys.map((k) => [k.version, k])) }
}

/** `length` bytes of HKDF-SHA-256 output for one tenant and purpose. */
export async function deriveBytes(master: MasterKey, purpose: KeyPurpose, tenantId: string, length: number): Promise<Uint8Array> {
  const info = new TextEncoder().encode(`${purpose}:${tenantId}`)
  const bits = await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: SALT, info }, master.key, length * 8)
  return new Uint8Array(bits)
}

/**
 * A per-isolate memo of keys derived from a key ring (derivation costs a few crypto calls; requests
 * are many). Entries are keyed `<version>:<tenant>` and dropped with the ring.
 */
export class DerivedKeys<T> {
  readonly #byRing = new WeakMap<Keyring, Map<string, Promise<T>>>()

  get(ring: Keyring, master: MasterKey, tenantId: string, make: () => Promise<T>): Promise<T> {
    let entries = this.#byRing.get(ring)
    if (!entries) this.#byRing.set(ring, (entries = new Map()))
    const id = `${master.version}:${tenantId}`
    const hit = entries.get(id)
    if (hit) return hit
    if (entries.size >= MAX_DERIVED) entries.clear()
    const made = make()
    entries.set(id, made)
    made.catch(() => entries.delete(id))
    return made
  }
}
