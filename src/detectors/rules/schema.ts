/**
 * The rule format: what a rule pack in `rules/*.json` (and a tenant's custom rule) looks like.
 *
 * Every object is strict so a misspelt field is an error. `rules/rule.schema.json` is generated from
 * these schemas (`npx tsx scripts/gen-rule-schema.ts`) so editors can validate pack files.
 */
import { z } from 'zod'
import { FieldRoleSchema } from '../../inspect/roles'
import { ENCODINGS } from './decode'

/** Stable kebab-case id: lower-case words joined by single dashes, 3–64 characters. */
export const RuleId = z
  .string()
  .min(3)
  .max(64)
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be kebab-case: lower-case letters and digits joined by single dashes')
export type RuleId = z.infer<typeof RuleId>

/** What a rule detects. Injection-like kinds carry a score the pipeline combines; the others use actions. */
export const RuleKind = z.enum(['injection', 'secret', 'pii', 'unicode', 'exfiltration', 'shadowing'])
export type RuleKind = z.infer<typeof RuleKind>

export const RuleActionSchema = z.enum(['block', 'redact', 'strip', 'flag'])

/** One action for both directions, or one per direction (secrets: redact results, block requests). */
export const ActionSetting = z.union([
  RuleActionSchema,
  z
    .object({ client_to_server: RuleActionSchema, server_to_client: RuleActionSchema })
    .strict(),
])
export type ActionSetting = z.infer<typeof ActionSetting>

export const DirectionSchema = z.enum(['client_to_server', 'server_to_client'])

export { FieldRoleSchema }

/** Which fields a rule looks at. Absent lists mean "all". */
export const RuleTargets = z
  .object({
    directions: z.array(DirectionSchema).min(1).optional(),
    roles: z.array(FieldRoleSchema).min(1).optional(),
    /** Scan object keys too (default true). */
    keys: z.boolean().optional(),
    /** Scan the synthetic field joining a message's text blocks (default: injection-like kinds only). */
    joined: z.boolean().optional(),
  })
  .strict()
export type RuleTargets = z.infer<typeof RuleTargets>

/** Post-match checks that keep false positives down. All must pass for a match to count. */
export const Validator = z.discriminatedUnion('type', [
  /** Payment card check digit (ISO/IEC 7812). Non-digits are ignored. */
  z.object({ type: z.literal('luhn') }).strict(),
  /** IBAN: known country, its length, and the ISO 13616 mod-97 check. */
  z.object({ type: z.literal('iban') }).strict(),
  /** US SSN: area not 000/666/9xx, group not 00, serial not 0000, not a well-known advertising number. */
  z.object({ type: z.literal('ssn') }).strict(),
  /** Shannon entropy of the value in bits per character, at least `min`. */
  z.object({ type: z.literal('entropy'), min: z.number().min(0).max(8) }).strict(),
  /** At least `min` of the classes lower case, upper case, digit, other. */
  z.object({ type: z.literal('charset-mix'), min: z.number().int().min(1).max(4) }).strict(),
  /** At least one digit (random tokens almost always have one; words and identifiers often do not). */
  z.object({ type: z.literal('has-digit') }).strict(),
  /** Reject template placeholders: xxxx runs, `<…>`, `${…}`, `{{…}}`, `your_…`, `…_here`, `changeme`. */
  z.object({ type: z.literal('not-placeholder') }).strict(),
  /**
   * Reject hand-typed bodies: a run of at least `minRun` consecutive ascending or descending characters
   * of one class (`123456`, `klmnop`, `FEDCBA`). A random body of 100 base64url characters holds a run
   * of 6 with probability ~1e-7; example keys in docs and tests are usually typed as alphabet walks.
   */
  z.object({ type: z.literal('not-sequential'), minRun: z.number().int().min(4).max(32) }).strict(),
  /**
   * A value that starts with a provider's documented token prefix (`dapi`, `ghp_`, `sk_live_` …) is
   * shaped like that provider's tokens: its characters, and no alphabet walk (`not-sequential`, 6).
   * Otherwise it is a placeholder, a typo or an example (a real token is the provider rule's to report).
   * Length is not checked, so a provider that lengthens its tokens still passes.
   */
  z.object({ type: z.literal('vendor-prefix-format') }).strict(),
  /** Reject values containing any of these (case-insensitive) substrings. */
  z.object({ type: z.literal('deny'), values: z.array(z.string().min(1).max(100)).min(1).max(100) }).strict(),
  /** The value decodes (base64, hex or \x / \u escapes) to mostly printable text. */
  z
    .object({
      type: z.literal('decodes-to-text'),
      encoding: z.enum(['base64', 'hex', 'escapes']),
      minPrintable: z.number().min(0).max(1).optional(),
    })
    .strict(),
  /** A phone number: 7–15 digits (E.164), not one repeated digit, not a date or a time. */
  z.object({ type: z.literal('phone') }).strict(),
  /** A host name in the value is not one of the standard documentation / local names. */
  z.object({ type: z.literal('not-example-host') }).strict(),
  /** An IPv4 / IPv6 address that is public (not private, loopback, link-local, documentation). */
  z.object({ type: z.literal('public-ip') }).strict(),
])
export type Validator = z.infer<typeof Validator>

/** Decode the match and rescan the decoded text with the plain rules of the rule's kind (encoded-payload rules). */
export const DecodeSpec = z
  .object({
    encoding: z.enum(ENCODINGS),
    /** Minimum combined score of those rules on the decoded text for this rule to fire (0: any decoded text). */
    minScore: z.number().min(0).max(1).default(0.4),
    /**
     * The rule also reads base64 and hex nested in the text it decodes (base64 of base64, hex of base64),
     * up to three layers in all, from this pack version on. Staged like `since`, on its own: a tenant
     * pinned below it keeps the rule enforced on one layer and gets what only an inner layer gives as a
     * logged finding (`flag`). On a tenant rule any version turns it on. Absent: one layer.
     */
    nested: z.number().int().min(1).optional(),
  })
  .strict()
export type DecodeSpec = z.infer<typeof DecodeSpec>

const KeywordList = z
  .array(
    z
      .string()
      .min(1)
      .max(64)
      .refine((k) => k === k.toLowerCase(), 'keywords must be lower case'),
  )
  .max(512)

const ExampleList = z.array(z.string().max(20_000)).min(1).max(50)

/**
 * One rule. `pattern` is a regular expression source (JavaScript syntax for shipped packs, which are
 * linted against catastrophic backtracking; RE2 syntax for tenant rules, which run on re2js).
 */
export const RuleSpec = z
  .object({
    id: RuleId,
    /** The harm this rule guards against, in one or two sentences. */
    description: z.string().min(10).max(500),
    kind: RuleKind,
    /** 0..1. For injection-like kinds the pipeline combines scores (noisy-OR); others use 1. */
    score: z.number().min(0).max(1),
    /** The rule's own default action; the pack's `defaultAction` applies when absent. */
    action: ActionSetting.optional(),
    /** Off-by-default rules (e.g. IP addresses) ship with `enabled: false`; tenants turn them on. */
    enabled: z.boolean().default(true),
    targets: RuleTargets.default({}),
    /** Which text the regex runs on: normalised (homoglyphs, zero-width, encodings undone), raw, or both. */
    on: z.enum(['normalized', 'raw', 'both']).optional(),
    /** Lower-case substrings; the regex only runs when one occurs in the lower-cased text. Empty: always. */
    keywords: KeywordList,
    /** A second pre-filter group: when present, one of these must occur too (e.g. a verb and an object). */
    andKeywords: KeywordList.min(1).optional(),
    pattern: z.string().min(1).max(4000),
    /** Regex flags: any of i, m, s (u is always on for shipped packs). */
    flags: z.string().regex(/^[ims]{0,3}$/, 'flags may only contain i, m and s').default(''),
    /** Capture group (number or name) whose span is the finding (e.g. the value of key=value). */
    group: z.union([z.number().int().min(1).max(20), z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)]).optional(),
    /**
     * Capture group where the finding starts (it ends with the match): lets a pattern begin with a
     * literal anchor (fast to search for) and capture what precedes it in a lookbehind, e.g. an
     * e-mail's local part before `@`. Exclusive with `group`.
     */
    startGroup: z.number().int().min(1).max(20).optional(),
    validators: z.array(Validator).max(10).default([]),
    /**
     * Widen a match the pattern's length cap cut short, so redaction leaves no tail of the secret:
     * `token` over the characters of a token that follow, `pem` to the block's `-----END …-----` line.
     */
    extend: z.enum(['token', 'pem']).optional(),
    decode: DecodeSpec.optional(),
    /** Pack version in which the rule was added or last changed (for staged enforcement). */
    since: z.number().int().min(1).default(1),
    /**
     * Strings that must match and must not match. `{{}}` inside an example is removed before testing:
     * it keeps secret-shaped examples from looking like real tokens to repository secret scanners.
     */
    examples: z.object({ match: ExampleList, noMatch: ExampleList }).strict(),
    references: z.array(z.string().url()).max(10).optional(),
    /** Why the rule is shaped as it is (formats, exclusions, trade-offs): for rule authors and reviewers. */
    notes: z.string().min(10).max(2000).optional(),
  })
  .strict()
export type RuleSpec = z.infer<typeof RuleSpec>
export type RuleSpecInput = z.input<typeof RuleSpec>

/** Pack names shipped in `rules/`. */
export const PackName = z.enum(['injection', 'secrets', 'pii', 'unicode'])
export type PackName = z.infer<typeof PackName>

/** A pack file: one family of rules with a version so tenants can stage a new pack before enforcing it. */
export const RulePack = z
  .object({
    $schema: z.string().optional(),
    pack: PackName,
    /** Increases whenever a rule is added or changed (rules carry `since`). */
    version: z.number().int().min(1),
    description: z.string().min(10).max(1000),
    defaultAction: ActionSetting,
    /** Off-by-default packs ship with `enabled: false`. */
    enabled: z.boolean().default(true),
    rules: z.array(RuleSpec).min(1).max(500),
  })
  .strict()
  .superRefine((pack, ctx) => {
    const seen = new Set<string>()
    for (const [i, rule] of pack.rules.entries()) {
      if (rule.group !== undefined && rule.startGroup !== undefined)
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'startGroup'], message: 'group and startGroup are exclusive' })
      if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id ${rule.id}` })
      seen.add(rule.id)
      if (rule.since > pack.version)
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'since'], message: `since ${rule.since} is newer than the pack version` })
      if ((rule.decode?.nested ?? 0) > pack.version)
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'decode', 'nested'], message: `nested ${rule.decode?.nested} is newer than the pack version` })
    }
  })
export type RulePack = z.infer<typeof RulePack>
export type RulePackInput = z.input<typeof RulePack>

/** Removes the `{{}}` split markers from an example string (see `RuleSpec.examples`). */
export function expandExample(example: string): string {
  return example.split('{{}}').join('')
}
