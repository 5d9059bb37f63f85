/**
 * The RPC contract of `TenantConfigAuthority`: argument schemas (validated inside the object, since a
 * Durable Object is a trust boundary) and result types (tagged unions, never thrown errors).
 */
import { z } from 'zod'
import { TenantId } from './config'
import type { TenantConfig } from './config'
import { Actor, KeyId } from './keys'
import type { IssuedKey, KeyInfo } from './keys'
import type { FieldIssue } from './issues'

/** Versions kept per tenant; older ones are dropped (and can no longer be rolled back to). */
export const RETAINED_VERSIONS = 20

/**
 * A write's precondition: `version` is `If-Match: <n>`, `exists` is `If-Match: *`, `absent` is
 * `If-None-Match: *`, `any` is no header (unconditional, still serialised and recorded).
 */
export const Expect = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('any') }).strict(),
  z.object({ kind: z.literal('exists') }).strict(),
  z.object({ kind: z.literal('absent') }).strict(),
  z.object({ kind: z.literal('version'), version: z.number().int().min(0) }).strict(),
])
export type Expect = z.infer<typeof Expect>

const Base = { tenant: TenantId, actor: Actor }

/** Replace the whole config, or only its `policy`. Values are re-validated by the object. */
export const WriteInput = z
  .object({
    ...Base,
    expect: Expect,
    change: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('config'), config: z.unknown() }).strict(),
      z.object({ kind: z.literal('policy'), policy: z.unknown() }).strict(),
    ]),
  })
  .strict()
export type WriteInput = z.infer<typeof WriteInput>

/** Make a retained version current again, as a new version. */
export const RollbackInput = z.object({ ...Base, expect: Expect, version: z.number().int().min(1) }).strict()
export type RollbackInput = z.infer<typeof RollbackInput>

/** Delete the tenant (operator only): purge, release hostnames, unpublish, tombstone the id. */
export const RemoveInput = z.object({ ...Base, expect: Expect }).strict()
export type RemoveInput = z.infer<typeof RemoveInput>

export const CreateKeyInput = z
  .object({ ...Base, label: z.string().min(1).max(100).nullable(), expiresInDays: z.number().int().min(1).max(365) })
  .strict()
export type CreateKeyInput = z.infer<typeof CreateKeyInput>

export const RotateKeyInput = z
  .object({ ...Base, keyId: KeyId, expiresInDays: z.number().int().min(1).max(365).nullable(), graceSeconds: z.number().int().min(0).max(86_400) })
  .strict()
export type RotateKeyInput = z.infer<typeof RotateKeyInput>

export const RevokeKeyInput = z.object({ ...Base, keyId: KeyId }).strict()
export type RevokeKeyInput = z.infer<typeof RevokeKeyInput>

/** The current config and who wrote it. */
export interface TenantRecord {
  tenant: string
  version: number
  updatedAt: string
  updatedBy: string
  config: TenantConfig
}

/** One entry of the version history. */
export interface VersionInfo {
  version: number
  createdAt: string
  /** `operator` or `key:<keyId>`. */
  actor: string
  action: 'create' | 'update' | 'policy' | 'rollback'
  rollbackOf: number | null
}

export interface VersionRecord extends VersionInfo {
  config: TenantConfig
}

/** `invalid`: the stored config no longer passes today's schema (only a full replace by the operator fixes it). */
export type ReadResult = { status: 'absent' } | { status: 'deleted' } | { status: 'invalid'; version: number } | { status: 'active'; record: TenantRecord }

export type Refusal =
  | { ok: false; error: 'not_found' | 'tenant_deleted' | 'forbidden' | 'version_not_found' | 'origin_loop' }
  | { ok: false; error: 'version_mismatch'; current: number }
  | { ok: false; error: 'host_conflict' | 'invalid_config'; issues: FieldIssue[] }

export type WriteResult = { ok: true; created: boolean; published: boolean; record: TenantRecord } | Refusal

export type RemoveResult = { ok: true; published: boolean } | Refusal

export type KeyResult<T> = { ok: true; value: T } | { ok: false; error: 'not_found' | 'forbidden' | 'key_inactive' | 'too_many_keys' }

export type IssueKeyResult = KeyResult<IssuedKey>
export type KeyInfoResult = KeyResult<KeyInfo>
