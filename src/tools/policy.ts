/**
 * `ToolsPolicy`: a tenant's tool integrity settings, mounted at `policy.tools` of the tenant config
 * (docs/tool-integrity.md). Strict throughout, so a misspelt option is an error.
 *
 * @example
 * { "pinning": "enforce", "volatile": ["annotations.title"],
 *   "deny": ["debug_*"], "byIdentity": { "ci-*": { "tools": { "allow": ["read_*", "list_*"] } } },
 *   "requireApproval": ["delete_*", "transfer_funds"], "approvalByElicitation": true,
 *   "schema": { "arguments": "block", "results": "isError" } }
 */
import { z } from 'zod'

/** A `*` / `?` glob over a tool or prompt name, or a resource URI. */
export const NameGlob = z.string().min(1).max(200)
const Globs = z.array(NameGlob).max(500)

/**
 * One allow / deny pair. A name passes when it matches `allow` (or `allow` is absent) and does not
 * match `deny`.
 */
export const NameLists = z
  .object({
    /** When present, only names matching one of these globs are visible and callable. */
    allow: Globs.optional(),
    /** Names matching one of these globs are hidden from lists and refused on use. */
    deny: Globs.default([]),
  })
  .strict()
export type NameLists = z.infer<typeof NameLists>

/** The lists that apply to a verified identity on top of the tenant's (they can only narrow). */
export const IdentityLists = z
  .object({
    tools: NameLists.optional(),
    prompts: NameLists.optional(),
    /** Globs over resource URIs (`resources/list`, `resources/read`, `resources/subscribe`) and URI templates (`resources/templates/list`). */
    resources: NameLists.optional(),
  })
  .strict()
export type IdentityLists = z.infer<typeof IdentityLists>

/**
 * A definition field left out of the pin comparison, as a dotted path from the definition's root with
 * `*` for any one key: `annotations`, `annotations.title`, `inputSchema.properties.*.description`.
 */
export const VolatileField = z
  .string()
  .max(300)
  .regex(/^(?:title|description|inputSchema|outputSchema|annotations|arguments|mimeType)(?:\.[^.\s]{1,100}){0,10}$/, 'must be a dotted path from title, description, inputSchema, outputSchema, annotations, arguments or mimeType')

export const SchemaPolicy = z
  .object({
    /** `tools/call` arguments that break the pinned `inputSchema`: refuse (-32602), log only, or skip the check. */
    arguments: z.enum(['block', 'flag', 'off']).default('block'),
    /** `structuredContent` that breaks the pinned `outputSchema`: turn the result into `isError`, log only, or skip. */
    results: z.enum(['isError', 'flag', 'off']).default('isError'),
  })
  .strict()
export type SchemaPolicy = z.infer<typeof SchemaPolicy>

export const PinningMode = z.enum(['enforce', 'alert', 'off'])
export type PinningMode = z.infer<typeof PinningMode>

export const ToolsPolicy = z
  .object({
    /** Tool-name globs hidden from tools/list and refused on call, for everyone. */
    deny: Globs.default([]),
    /** When present, only tools matching one of these globs are visible and callable. */
    allow: Globs.optional(),
    prompts: NameLists.prefault({}),
    resources: NameLists.prefault({}),
    /** Lists per verified identity (key: a glob over the verified identity — an API key id or a token subject); they only narrow. */
    byIdentity: z
      .record(NameGlob, IdentityLists)
      .default({})
      .refine((r) => Object.keys(r).length <= 200, 'at most 200 identity entries'),
    /**
     * Rug-pull protection. `enforce`: changed and new-but-suspicious definitions are stripped from lists
     * and their calls refused until approved. `alert`: recorded and alerted, nothing stripped. `off`.
     */
    pinning: PinningMode.default('enforce'),
    /** Definition fields left out of the pin comparison (say, a description that embeds today's date). */
    volatile: z.array(VolatileField).max(50).default([]),
    /** Tool-name globs whose every call needs an approval granted through the admin API. */
    requireApproval: Globs.default([]),
    /** How long a granted call approval stays usable, in seconds. */
    approvalWindowSeconds: z.number().int().min(10).max(86_400).default(600),
    /**
     * A client that declares form elicitation may have its user confirm a `requireApproval` call instead
     * of an operator granting it (docs/tool-integrity.md, "Sensitive calls"). `false`: admin grants only.
     */
    approvalByElicitation: z.boolean().default(true),
    /**
     * How long the user has to answer that confirmation, in seconds: a legacy call's stream is held this
     * long, a 2026-07-28 challenge expires after it. The default stays under the SDK clients' 60 s request
     * timeout, so a late answer meets the firewall's refusal rather than the client's own timeout.
     */
    elicitationTimeoutSeconds: z.number().int().min(5).max(600).default(50),
    /** Checks against the server's own schemas (pinned `inputSchema` / `outputSchema`). */
    schema: SchemaPolicy.prefault({}),
  })
  .strict()
export type ToolsPolicy = z.infer<typeof ToolsPolicy>
