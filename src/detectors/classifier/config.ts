/**
 * `ClassifierPolicy`: a tenant's settings for the injection classifier, mounted at
 * `policy.classifier` of the tenant config. Strict throughout, so a misspelt option is an error.
 *
 * @example
 * { "enabled": true, "threshold": 0.7, "action": "block",
 *   "secondStage": { "url": "https://guard.vendor.example/v1/classify", "timeoutMs": 800,
 *                    "band": [0.5, 0.8], "failMode": "open", "secret": "guard-token" } }
 */
import { z } from 'zod'
import { FIELD_ROLES, FieldRoleSchema } from '../../inspect/roles'
import type { FieldRole } from '../../inspect/types'
import { SecretName } from '../../tenant/secret-name'

/**
 * Roles the classifier scores unless the tenant lists its own: every role but client → server
 * `arguments` (DLP's job) and the catch-all `other`.
 */
export const DEFAULT_CLASSIFIER_ROLES: readonly FieldRole[] = FIELD_ROLES.filter((r) => r !== 'arguments' && r !== 'other')

export const ClassifierRole = FieldRoleSchema
export type ClassifierRole = z.infer<typeof ClassifierRole>

/**
 * The optional second stage, asked only about fields whose classifier score falls in `band`: either a
 * tenant-run HTTPS classifier (`url`, contract in `README.md` beside this file) or a Workers AI guard
 * model (`workersAi`). Batched calls per message, bounded per call and per client request
 * (`SECOND_STAGE_LIMITS` in second-stage-budget.ts).
 */
export const SecondStageConfig = z
  .object({
    /** HTTPS endpoint implementing the JSON contract. https only (http and private hosts in local development only). */
    url: z.string().url().max(2048).optional(),
    /** Workers AI model run through the Worker's `AI` binding instead of an endpoint. */
    workersAi: z.object({ model: z.string().min(1).max(200).default('@cf/meta/llama-guard-3-8b') }).strict().optional(),
    /** Name of a tenant secret sent as `Authorization: Bearer <value>` to `url`. */
    secret: SecretName.optional(),
    /** Whole-call timeout in milliseconds; past it the call counts as failed. */
    timeoutMs: z.number().int().min(50).max(10_000).default(1_000),
    /** [lo, hi): classifier scores in this band are sent; others are decided by the classifier alone. */
    // An array rather than a tuple: configs cross Durable Object RPC, which does not keep tuple types.
    band: z
      .array(z.number().min(0).max(1))
      .length(2)
      .default([0.5, 0.8])
      .refine((b) => (b[0] ?? 0) < (b[1] ?? 0), 'band must be [lo, hi] with lo < hi'),
    /** On timeout, error or a malformed answer: `closed` treats the field as an injection, `open` keeps the classifier's score. */
    failMode: z.enum(['closed', 'open']).default('closed'),
    /** Characters of each field sent (around the classifier's best window). */
    maxChars: z.number().int().min(256).max(32_768).default(4_000),
  })
  .strict()
  .refine((s) => (s.url === undefined) !== (s.workersAi === undefined), 'set exactly one of url and workersAi')
  .refine((s) => s.secret === undefined || s.url !== undefined, 'secret applies to url only')
export type SecondStageConfig = z.infer<typeof SecondStageConfig>

export const ClassifierPolicy = z
  .object({
    /** Turn the classifier off for this tenant. */
    enabled: z.boolean().default(true),
    /**
     * The classifier's own block point on its 0..1 score (default: the model's, which sits at the
     * pipeline's `injectionThreshold`). Scores are rescaled so the classifier alone blocks exactly at
     * this value; rule findings in the same field still add to it.
     */
    threshold: z.number().gt(0).lt(1).optional(),
    /**
     * `threshold` for one field role, overriding it there, e.g. `{ "prompt": 0.97 }` for a server whose
     * prompt templates read like system prompts ("You are DevBot… always call get_context first") while
     * tool results keep the default. Same scale and rescaling as `threshold`.
     */
    roleThresholds: z.partialRecord(ClassifierRole, z.number().gt(0).lt(1)).optional(),
    /** `block`: scores count toward the injection threshold. `flag`: findings are logged with score 0 and never block. */
    action: z.enum(['block', 'flag']).default('block'),
    /** Field roles to score. */
    roles: z.array(ClassifierRole).min(1).max(13).default([...DEFAULT_CLASSIFIER_ROLES]),
    /** Optional second opinion for the uncertain band. */
    secondStage: SecondStageConfig.optional(),
  })
  .strict()
export type ClassifierPolicy = z.infer<typeof ClassifierPolicy>
export type ClassifierPolicyInput = z.input<typeof ClassifierPolicy>
