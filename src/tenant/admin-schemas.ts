/**
 * Request and response shapes of the admin API. Requests are validated with these schemas; the
 * OpenAPI document (`/admin/v1/openapi.json`) is generated from the same ones.
 */
import { z } from 'zod'
import { PolicyConfig, TenantConfig } from './config'

/** Body of `POST /tenants/:id/rollback`. */
export const RollbackRequest = z.object({ version: z.number().int().min(1) }).strict()
export type RollbackRequest = z.infer<typeof RollbackRequest>

/**
 * Query of `GET /tenants/:id/events`: `kind` security (the default) or admin writes, and how many, newest
 * first. Strict like the other listings': a misspelt value read as the default would answer another question.
 */
export const EventsQuery = z
  .object({
    kind: z.enum(['security', 'admin']).default('security'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict()

const Who = z.string().describe('`operator` or `key:<keyId>`')

const TenantFields = z.object({
  id: z.string(),
  schema: z.literal(1),
  version: z.number().int(),
  updatedAt: z.string(),
  updatedBy: Who,
  config: TenantConfig,
})

/**
 * What the stored config would no longer pass if it were written now: custom-rule examples this deploy's
 * engine does not confirm, custom-rule ids a release gave a shipped rule or the firewall's own checks. The
 * config keeps serving as stored; the next write must fix them.
 */
const Warnings = z
  .array(z.object({ path: z.string(), message: z.string() }).strict())
  .optional()
  .describe('Checks the stored config would fail if written now (custom-rule examples after a deploy changed the engine, custom-rule ids a release since gave a shipped rule); it still serves')

/** A tenant's current config. `ETag` carries the version. */
export const TenantResponse = TenantFields.extend({ warnings: Warnings }).strict()

/** Answer of a write: the new current config, and whether KV already has it (else an alarm retries). */
export const WrittenTenantResponse = TenantFields.extend({ published: z.boolean() }).strict()

const PolicyFields = z.object({ id: z.string(), version: z.number().int(), updatedAt: z.string(), updatedBy: Who, policy: PolicyConfig })

export const PolicyResponse = PolicyFields.extend({ warnings: Warnings }).strict()

export const WrittenPolicyResponse = PolicyFields.extend({ published: z.boolean() }).strict()

export const VersionInfoSchema = z
  .object({
    version: z.number().int(),
    createdAt: z.string(),
    actor: Who,
    action: z.enum(['create', 'update', 'policy', 'rollback']),
    rollbackOf: z.number().int().nullable(),
  })
  .strict()

export const VersionsResponse = z
  .object({ id: z.string(), current: z.number().int(), versions: z.array(VersionInfoSchema).describe('Newest first; the last 20') })
  .strict()

export const VersionResponse = VersionInfoSchema.extend({ id: z.string(), config: TenantConfig }).strict()

export const TenantListResponse = z
  .object({
    tenants: z.array(
      z.object({ id: z.string(), createdAt: z.string(), deletedAt: z.string().nullable(), hosts: z.array(z.string()) }).strict(),
    ),
  })
  .strict()

export const EventsResponse = z.object({ events: z.array(z.record(z.string(), z.unknown())) }).strict()

/** Every error body: a code, and for validation failures one issue per bad field. */
export const ErrorResponse = z
  .object({
    error: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() }).strict()).optional(),
    message: z.string().optional().describe('What to change, where the error code alone does not say'),
    currentVersion: z.number().int().optional().describe('412 only: the version a retry should name in If-Match'),
  })
  .strict()
