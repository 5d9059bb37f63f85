/**
 * `RulesPolicy`: the tenant's settings for the rule packs (mounted at `policy.rules` in the tenant
 * config). Strict throughout; custom rules are compiled with re2js whenever a config is read and
 * rejected if they do not compile. Their examples are checked only when a config is written
 * (`RulesPolicyWrite`, `rulesWriteIssues`): whether an example fires depends on this deploy's engine.
 */
import { z } from 'zod'
import { isFirewallRuleId } from '../../inspect/rule-ids'
import { compileLoneRule, compileRules, customRuleId, type CompiledRuleSet } from './compile'
import { textField } from './field'
import { compileRe2 } from './matcher'
import { builtinRuleIds } from './packs'
import { scanField } from './scan'
import { ActionSetting, expandExample, PackName, RuleId, RuleSpec } from './schema'
import { newBudget } from './work-budget'

/** Per-pack switches. */
export const PackSettings = z
  .object({
    /** Turn the pack on or off (default: the pack file's `enabled`). */
    enabled: z.boolean().optional(),
    /** Action for every rule of the pack (default: each rule's own, then the pack's `defaultAction`). */
    action: ActionSetting.optional(),
    /** `monitor`: findings are logged with the action they would have had, never enforced. */
    mode: z.enum(['enforce', 'monitor']).default('enforce'),
    /**
     * Staging: enforce only rules whose `since` is at most this pack version; newer or changed rules
     * run in monitor mode until the tenant raises it. Absent: enforce every rule.
     */
    enforceVersion: z.number().int().min(1).optional(),
  })
  .strict()
export type PackSettings = z.infer<typeof PackSettings>

/** Per-rule override, keyed by rule id. `disabled: false` turns on an off-by-default rule. */
export const RuleOverride = z
  .object({
    disabled: z.boolean().optional(),
    action: ActionSetting.optional(),
    score: z.number().min(0).max(1).optional(),
  })
  .strict()
export type RuleOverride = z.infer<typeof RuleOverride>

/** A known-good value that no rule reports: exact match anywhere, or exact match for one rule. */
export const AllowEntry = z.union([
  z.string().min(1).max(2000),
  z.object({ rule: RuleId, value: z.string().min(1).max(2000) }).strict(),
])
export type AllowEntry = z.infer<typeof AllowEntry>

/**
 * A tenant rule: the shipped format (RE2 syntax), examples optional but checked when the config is
 * written (`customRuleExampleIssues`). What is checked here holds on every read, since the runtime
 * depends on it: the pattern compiles on RE2, within the program size, folded as it runs.
 */
export const CustomRule = RuleSpec.extend({
  examples: z
    .object({ match: z.array(z.string().max(20_000)).max(50).default([]), noMatch: z.array(z.string().max(20_000)).max(50).default([]) })
    .strict()
    .prefault({}),
}).superRefine((rule, ctx) => {
  // As in the shipped packs: one says which group is reported, the other where the report starts.
  if (rule.group !== undefined && rule.startGroup !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['startGroup'], message: 'group and startGroup are exclusive' })
    return
  }
  try {
    compileRe2(rule.pattern, rule.flags, { group: rule.group, startGroup: rule.startGroup })
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    ctx.addIssue({ code: 'custom', path: ['pattern'], message: `pattern does not compile on RE2: ${why}${jsOnlyHint(why)}` })
    return
  }
  try {
    loneSet(rule)
  } catch (err) {
    // The pattern as it runs has its accents folded, which can undo a range valid as written (`[ÿ-ā]` is
    // `[y-a]`): an issue when saved, not an exception out of validation.
    const why = err instanceof Error ? err.message : String(err)
    const message = `pattern does not compile on RE2 once its accents are folded (spell accented letters out instead of ranging over them): ${why}`
    ctx.addIssue({ code: 'custom', path: ['pattern'], message })
  }
})
export type CustomRule = z.infer<typeof CustomRule>

/** An issue a write must not have, with its path from where the checked value is mounted. */
export interface WriteIssue {
  path: Array<string | number>
  message: string
}

/** The rule alone, as the engine runs it; a decoded match is rescanned with the shipped rules. */
function loneSet(rule: RuleSpec): CompiledRuleSet {
  return compileLoneRule(rule, RulesLimits.parse({}), compileRules(defaultRulesPolicy()).rules)
}

/**
 * The examples of a custom rule (one that parsed as `CustomRule`) this engine does not confirm. Run when a
 * config is written, never when a stored one is read: a deploy that changes the normalisation, or the
 * shipped rules a decoding rule's examples are rescanned with, can make an accepted example fail, and the
 * tenant's traffic must not fail closed for it.
 */
export function customRuleExampleIssues(rule: CustomRule): WriteIssue[] {
  // Examples run through the engine as traffic would (normalised, folded text; validators; decoding),
  // in the first direction and role the rule targets. A decoded example is rescanned with the shipped
  // rules, as under the default policy (in traffic: with the tenant's own).
  const set = loneSet(rule)
  const direction = rule.targets.directions?.[0] ?? 'server_to_client'
  const role = rule.targets.roles?.[0] ?? 'tool-result'
  const id = customRuleId(rule.id)
  const firesIn = (s: string, on: CompiledRuleSet): boolean => scanField(on, textField(s, role), direction, newBudget()).some((f) => f.ruleId === id)
  const fires = (s: string): boolean => firesIn(s, set)
  const out: WriteIssue[] = []
  rule.examples.match.forEach((ex, i) => {
    const text = expandExample(ex)
    if (!fires(text)) out.push({ path: ['examples', 'match', i], message: `example does not match${keywordHint(rule, text, firesIn)}` })
  })
  rule.examples.noMatch.forEach((ex, i) => {
    if (fires(expandExample(ex))) out.push({ path: ['examples', 'noMatch', i], message: 'example matches' })
  })
  return out
}

/**
 * Why a match example the pattern itself matches did not fire: the keyword pre-filter kept the pattern
 * from running on it (a rule whose keywords never occur in its matches never fires in traffic either).
 * Empty when the pattern does not match it.
 */
function keywordHint(rule: RuleSpec, text: string, firesIn: (s: string, set: CompiledRuleSet) => boolean): string {
  if (rule.keywords.length === 0 && rule.andKeywords === undefined) return ''
  const { andKeywords: _, ...withoutAnd } = rule
  if (!firesIn(text, loneSet({ ...withoutAnd, keywords: [] }))) return ''
  const missing = rule.andKeywords !== undefined && firesIn(text, loneSet(withoutAnd)) ? 'andKeywords' : 'keywords'
  return `: the pattern matches it, but none of the rule's ${missing} occurs in it (the pattern runs only on text that holds one)`
}

/**
 * JavaScript regex syntax RE2 does not have, by the fragment RE2's error quotes: its own message names
 * something else (a lookbehind is an "invalid named capture", a backreference an "invalid escape").
 */
const JS_ONLY: ReadonlyArray<[RegExp, string]> = [
  [/`\\[1-9]/, 'RE2 has no backreferences'],
  [/`\\k`/, 'RE2 has no backreferences'],
  [/`\(\?<?[=!]/, 'RE2 has no lookahead or lookbehind'],
  [/`\(\?>/, 'RE2 has no atomic groups'],
  [/`[*+?}]\+`/, 'RE2 has no possessive quantifiers'],
  [/`\\u`/, 'RE2 writes a code point as \\x{…}'],
]

/** A hint after RE2's error when it is about JavaScript-only syntax, else empty. */
function jsOnlyHint(why: string): string {
  const hit = JS_ONLY.find(([re]) => re.test(why))
  return hit ? ` (${hit[1]})` : ''
}

/** Caps that keep one message from stalling the isolate. */
export const RulesLimits = z
  .object({
    /** Characters a rule reads at once; a longer field is read whole in overlapping windows of this size. */
    maxFieldChars: z.number().int().min(4096).max(8_388_608).default(1_048_576),
    /**
     * Regex work per message, in characters scanned × engine cost (1 for shipped rules, 8 for re2js); past
     * it the message is blocked (`rules-budget-exceeded`). The default admits a few megabytes of text
     * under every shipped rule, about half a second of CPU.
     */
    maxWorkPerMessage: z.number().int().min(100_000).max(2_000_000_000).default(400_000_000),
    /**
     * Wall time per message in ms. Inside Workers clocks only advance on I/O, so there the work cap is the
     * guard that holds; this one bounds Node (tests, the eval) and anything that yields.
     */
    maxMillisPerMessage: z.number().int().min(1).max(30_000).default(1000),
    /**
     * Matches reported per rule per field (values dropped by validators or the allow-list not counted).
     * One more from a rule that redacts, strips or blocks blocks the message (`rules-match-limit`).
     */
    maxMatchesPerRule: z.number().int().min(1).max(10_000).default(256),
  })
  .strict()
export type RulesLimits = z.infer<typeof RulesLimits>

const packsShape = Object.fromEntries(PackName.options.map((p) => [p, PackSettings.prefault({})])) as Record<
  PackName,
  z.ZodPrefault<typeof PackSettings>
>

/** The tenant's rule-pack policy, mounted by the tenant config at `policy.rules`. */
export const RulesPolicy = z
  .object({
    packs: z.object(packsShape).strict().prefault({}),
    rules: z.record(RuleId, RuleOverride).default({}),
    customRules: z.array(CustomRule).max(100).default([]),
    allow: z.array(AllowEntry).max(5000).default([]),
    limits: RulesLimits.prefault({}),
  })
  .strict()
  .superRefine((policy, ctx) => {
    // A custom rule with a shipped rule's id is refused when written (`rulesWriteIssues`), not here: a
    // release may ship a rule with the id of one a tenant already stored, which then runs as
    // `custom:<id>` (`customRuleId`). Two custom rules sharing an id only a write can cause.
    const builtin = builtinRuleIds()
    const custom = new Set<string>()
    policy.customRules.forEach((r, i) => {
      if (custom.has(r.id)) ctx.addIssue({ code: 'custom', path: ['customRules', i, 'id'], message: `rule id ${r.id} is already taken` })
      custom.add(r.id)
    })
    const known = (id: string): boolean => builtin.has(id) || custom.has(id)
    for (const id of Object.keys(policy.rules))
      if (!known(id)) ctx.addIssue({ code: 'custom', path: ['rules', id], message: `unknown rule id ${id}` })
    policy.allow.forEach((a, i) => {
      if (typeof a !== 'string' && !known(a.rule))
        ctx.addIssue({ code: 'custom', path: ['allow', i, 'rule'], message: `unknown rule id ${a.rule}` })
    })
  })
export type RulesPolicy = z.infer<typeof RulesPolicy>
/** The shape a tenant writes (defaults not yet applied). */
export type RulesPolicyInput = z.input<typeof RulesPolicy>

/**
 * What a write of the policy must pass besides `RulesPolicy`: the checks whose outcome depends on this
 * deploy (each custom rule's examples, and its id against the shipped rules' and the ids the firewall
 * reports itself, lists a release may extend). A stored config is read without them, so a deploy never
 * turns an accepted config into one that fails its tenant's traffic closed; the admin API reports them on
 * read as warnings.
 */
export function rulesWriteIssues(policy: RulesPolicy): WriteIssue[] {
  const builtin = builtinRuleIds()
  return policy.customRules.flatMap((rule, i) => {
    // A custom rule reporting under a shipped rule's or the firewall's own id would mix the tenant's
    // findings with those (events, alert counts, `ruleIds`), and overrides and allow entries naming it
    // could mean either. A stored one runs as `custom:<id>` until renamed.
    const id: WriteIssue[] = builtin.has(rule.id)
      ? [{ path: ['id'], message: `rule id ${rule.id} is taken by a shipped rule; choose another` }]
      : isFirewallRuleId(rule.id)
        ? [{ path: ['id'], message: `rule id ${rule.id} is one the firewall reports itself; choose another` }]
        : []
    return [...id, ...customRuleExampleIssues(rule)].map((w) => ({ path: ['customRules', i, ...w.path], message: w.message }))
  })
}

/**
 * A zod check adding `rulesWriteIssues` of the policy `rulesOf` finds in the value, under `at`. It runs
 * only on a value that passed everything else (the examples of a rule that does not compile cannot run).
 */
export function writeChecks<T>(rulesOf: (value: T) => RulesPolicy, at: Array<string | number>) {
  return (value: T, ctx: z.RefinementCtx<T>): void => {
    if (ctx.issues.length > 0) return
    for (const w of rulesWriteIssues(rulesOf(value))) ctx.addIssue({ code: 'custom', path: [...at, ...w.path], message: w.message })
  }
}

/** `RulesPolicy` as a write must pass it. */
export const RulesPolicyWrite = RulesPolicy.superRefine(writeChecks<RulesPolicy>((p) => p, []))

let defaultPolicy: RulesPolicy | undefined

/** The default policy (every shipped pack with its shipped settings). */
export function defaultRulesPolicy(): RulesPolicy {
  defaultPolicy ??= RulesPolicy.parse({})
  return defaultPolicy
}
