/**
 * Per-tenant admin keys and who may change what.
 *
 * A key is `mcpfw_<tenant>_<keyId>_<secret>` (16 hex id, 64 hex secret = 256 random bits). The tenant id
 * and key id are public (they name the key in URLs and in the version history); only the SHA-256 of the
 * whole key is stored, in the tenant's `TenantConfigAuthority`, and the key itself is returned once, when
 * it is created or rotated. The `mcpfw_` prefix lets secret scanners recognise a leaked key.
 *
 * Tenant keys may change their own tenant's config except the operator-only fields: `origin`, `hosts`,
 * `alerts.webhooks`, `policy.classifier.secondStage.url` and `.workersAi`, and every secret reference
 * (any property whose name contains "secret", at any depth).
 */
import { z } from 'zod'
import { TenantId } from './config'
import { fromHex, hex, sha256Hex } from '../hex'
import { isRecord } from '../record'

/** Public id of an admin key: 16 lower-case hex characters. */
export const KeyId = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex characters')
export type KeyId = z.infer<typeof KeyId>

const KEY_PATTERN = /^mcpfw_([a-z0-9-]{1,63})_([0-9a-f]{16})_([0-9a-f]{64})$/

/** Who made an admin call: the operator (ADMIN_TOKEN) or one tenant's admin key. */
export const Actor = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('operator') }).strict(),
  z.object({ kind: z.literal('key'), tenant: TenantId, keyId: KeyId }).strict(),
])
export type Actor = z.infer<typeof Actor>

/** How an actor is written in the version history and key records: `operator` or `key:<keyId>`. */
export function actorLabel(actor: Actor): string {
  return actor.kind === 'operator' ? 'operator' : `key:${actor.keyId}`
}

/** Body of `POST /tenants/:id/keys`. */
export const CreateKeyRequest = z
  .object({
    /** A name for people: which system or person holds the key. */
    label: z.string().min(1).max(100).optional(),
    /** Lifetime in days (default 90). Keys always expire. */
    expiresInDays: z.number().int().min(1).max(365).default(90),
  })
  .strict()
export type CreateKeyRequest = z.infer<typeof CreateKeyRequest>

/** Body of `POST /tenants/:id/keys/:keyId/rotate` (may be empty). */
export const RotateKeyRequest = z
  .object({
    /** Lifetime of the new key (operator only; a tenant key's rotation keeps the old expiry). */
    expiresInDays: z.number().int().min(1).max(365).optional(),
    /** How long the old key keeps working, so holders can switch over (default 0: revoked at once). */
    graceSeconds: z.number().int().min(0).max(86_400).default(0),
  })
  .strict()
export type RotateKeyRequest = z.infer<typeof RotateKeyRequest>

/** A key as listed: never the key or its hash. */
export const KeyInfo = z
  .object({
    id: KeyId,
    label: z.string().nullable(),
    status: z.enum(['active', 'expired', 'revoked']),
    createdAt: z.string(),
    createdBy: z.string(),
    expiresAt: z.string(),
    revokedAt: z.string().nullable(),
    revokedBy: z.string().nullable(),
    rotatedFrom: KeyId.nullable(),
  })
  .strict()
export type KeyInfo = z.infer<typeof KeyInfo>

/** A key as issued: its metadata plus the key itself, shown this once. */
export const IssuedKey = KeyInfo.extend({ key: z.string() }).strict()
export type IssuedKey = z.infer<typeof IssuedKey>

/** Fresh key material for a tenant: the key to hand out and the hash to store. */
export interface KeyMaterial {
  keyId: string
  key: string
  hash: string
}

/** Mints a new admin key for `tenant`. */
export async function newKey(tenant: string): Promise<KeyMaterial> {
  const keyId = hex(crypto.getRandomValues(new Uint8Array(8)))
  const key = `mcpfw_${tenant}_${keyId}_${hex(crypto.getRandomValues(new Uint8Array(32)))}`
  return { keyId, key, hash: await sha256Hex(key) } // SHA-256 of the whole key, hex
}

/** The tenant and key id a presented token claims, or null when it is not shaped like an admin key. */
export function parseKey(token: string): { tenant: string; keyId: string } | null {
  const m = KEY_PATTERN.exec(token)
  return m?.[1] && m[2] ? { tenant: m[1], keyId: m[2] } : null
}

/** Compares a presented key with a stored hash in constant time (both sides are 32-byte digests). */
export async function keyMatches(presented: string, storedHash: string): Promise<boolean> {
  const a = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(presented)))
  const b = fromHex(storedHash)
  return b !== null && a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b)
}

/**
 * The parts of a config only the operator may change: the origin, the hostnames, the alert webhooks
 * (where alerts signed with the operator's secret go, and which ones: a key could otherwise send them
 * elsewhere or silence them), the classifier's second-stage URL (it receives message text and the
 * operator's bearer secret: a key that could move it would have the firewall hand both to any host),
 * its Workers AI model (run and billed on the operator's account, whose limits every tenant shares: a
 * key that could turn it on would spend them, and fail other tenants' guard calls closed)
 * and every secret reference. Returned as one canonical JSON string so "changed" is a string comparison.
 */
export function operatorOnlyView(config: unknown): string {
  const root = isRecord(config) ? config : {}
  const alerts = isRecord(root['alerts']) ? root['alerts'] : {}
  const policy = isRecord(root['policy']) ? root['policy'] : {}
  const classifier = isRecord(policy['classifier']) ? policy['classifier'] : {}
  const stage = isRecord(classifier['secondStage']) ? classifier['secondStage'] : {}
  return canonical({
    origin: root['origin'] ?? null,
    hosts: root['hosts'] ?? [],
    webhooks: alerts['webhooks'] ?? [],
    secondStageUrl: stage['url'] ?? null,
    secondStageWorkersAi: stage['workersAi'] ?? null,
    secrets: secretReferences(config),
  })
}

/** True when `next` differs from `current` in a field only the operator may change. */
export function changesOperatorFields(current: unknown, next: unknown): boolean {
  return operatorOnlyView(current) !== operatorOnlyView(next)
}

/**
 * True when a raw (not yet validated) body sets a secret reference to anything but its current value.
 * Checked before schema validation so that a tenant key naming a secret is refused as forbidden (403)
 * even when the field is unknown to the schema.
 */
export function touchesSecretReferences(current: unknown, raw: unknown): boolean {
  const now = new Map(secretReferences(current))
  return secretReferences(raw).some(([path, value]) => now.get(path) !== value)
}

/**
 * Maps whose keys are names a tenant chooses (a rule pack, a rule id, an identity glob, a tool), never
 * fields: a `secrets` pack or an `aws-secret-access-key` rule is detection policy, not a reference.
 */
const NAME_MAPS = new Set(['/policy/rules/packs', '/policy/rules/rules', '/policy/tools/byIdentity', '/budget/perTool'])

/** `[path, canonical JSON]` of every property whose name mentions a secret, sorted by path. */
function secretReferences(value: unknown, path = ''): Array<[string, string]> {
  if (Array.isArray(value)) return value.flatMap((v, i) => secretReferences(v, `${path}/${i}`))
  if (!isRecord(value)) return []
  const out: Array<[string, string]> = []
  const names = NAME_MAPS.has(path)
  for (const [k, v] of Object.entries(value)) {
    const p = `${path}/${k}`
    if (!names && /secret/i.test(k)) out.push([p, canonical(v)])
    else out.push(...secretReferences(v, p))
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/** JSON with object keys sorted, so equal values give equal strings. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (isRecord(value)) {
    const keys = Object.keys(value).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
