/**
 * Compiles the shipped packs plus a tenant's `RulesPolicy` into a `CompiledRuleSet`, once per policy
 * object (the tenant config is cached per isolate, so its identity is stable for a config version).
 * Shipped regexes are compiled once per isolate and shared by every tenant.
 */
import { isFirewallRuleId } from '../../inspect/rule-ids'
import type { Direction, FieldRole, RuleAction } from '../../inspect/types'
import { foldAccents } from './fold'
import { KeywordIndex } from './keywords'
import { NESTED_ENCODINGS } from './decode'
import { compileJs, compileRe2, type RegexMatcher } from './matcher'
import { builtinPacks, builtinRuleIds } from './packs'
import type { CustomRule, RulesLimits, RulesPolicy } from './policy'
import type { ActionSetting, DecodeSpec, PackName, RuleKind, RuleSpec } from './schema'
import { compileValidator, type ValidatorFn } from './validators'

export type ScanOn = 'normalized' | 'raw' | 'both'

export interface CompiledRule {
  readonly id: string
  readonly pack: PackName | 'custom'
  readonly kind: RuleKind
  readonly score: number
  readonly action: Readonly<Record<Direction, RuleAction>>
  /** Findings are reported with action `flag` and the action they would have had. */
  readonly monitor: boolean
  /** As `monitor`, for a decoding rule's findings that only a nested layer gives (`decode.nested` staged). */
  readonly nestedMonitor: boolean
  readonly directions: ReadonlySet<Direction> | null
  readonly roles: ReadonlySet<FieldRole> | null
  readonly keys: boolean
  readonly joined: boolean
  readonly on: ScanOn
  readonly keywords: readonly string[]
  readonly andKeywords: readonly string[]
  /** Keyword groups resolved against the set's `KeywordIndex`: ids, or strings checked with `includes`. */
  readonly prefilter: readonly KeywordGroup[]
  readonly matcher: RegexMatcher
  readonly validators: readonly ValidatorFn[]
  readonly decode: DecodeSpec | undefined
  readonly extend: 'token' | 'pem' | undefined
}

/** One any-of keyword group: indexed keyword ids, plus keywords the index does not hold (tenant rules). */
export interface KeywordGroup {
  readonly ids: readonly number[]
  readonly other: readonly string[]
}

/** The rules that apply to one kind of field, with the union of their keywords. */
export interface RuleBucket {
  readonly rules: readonly CompiledRule[]
  /**
   * For each kind of decoding rule in `rules`, the plain rules of that kind (no decoding of their own)
   * that apply here: what rescans the payloads those rules decode (injection rules the text a base64 blob
   * hides, secret rules the file it encodes).
   */
  readonly rescan: ReadonlyMap<RuleKind, readonly CompiledRule[]>
  /**
   * For each kind of decoding rule in `rules`, the base64 and hex rules of that kind that apply here:
   * what finds the inner layers of a payload decoded by a rule that reads nested encodings.
   */
  readonly nested: ReadonlyMap<RuleKind, readonly CompiledRule[]>
  readonly needsNormalized: boolean
  readonly needsRaw: boolean
  /**
   * The pre-filter turned around, so a field with a hundred rules and three keywords checks three rules'
   * keywords, not a hundred: for each indexed keyword id, the positions in `rules` of the rules whose
   * first keyword group holds it. Rules in `unfiltered` (their positions, ascending) are checked on every
   * field: no keywords, or keywords the index does not hold.
   */
  readonly byKeyword: ReadonlyMap<number, readonly number[]>
  readonly unfiltered: readonly number[]
  /** Some raw-only rule has indexed keywords, so the raw text's keywords are needed too. */
  readonly rawKeywords: boolean
}

export interface CompiledRuleSet {
  readonly rules: readonly CompiledRule[]
  readonly keywords: KeywordIndex
  readonly allowAny: ReadonlySet<string>
  readonly allowByRule: ReadonlyMap<string, ReadonlySet<string>>
  readonly limits: RulesLimits
  bucket(direction: Direction, role: FieldRole, isKey: boolean, joined: boolean): RuleBucket
}

/** Kinds whose findings carry a score the pipeline combines, and that also scan the joined field. */
export const SCORED_KINDS: ReadonlySet<RuleKind> = new Set(['injection', 'exfiltration', 'shadowing'])

const DEFAULT_ON: Readonly<Record<RuleKind, ScanOn>> = {
  injection: 'normalized',
  exfiltration: 'normalized',
  shadowing: 'normalized',
  secret: 'both',
  pii: 'both',
  unicode: 'raw',
}

const DEFAULT_ACTION: Readonly<Record<RuleKind, ActionSetting>> = {
  injection: 'block',
  exfiltration: 'block',
  shadowing: 'flag',
  secret: { client_to_server: 'block', server_to_client: 'redact' },
  pii: 'flag',
  unicode: 'strip',
}

function perDirection(a: ActionSetting): Record<Direction, RuleAction> {
  return typeof a === 'string' ? { client_to_server: a, server_to_client: a } : { ...a }
}

interface Overlay {
  action: ActionSetting
  score: number
  monitor: boolean
  /** Default: `monitor`. */
  nestedMonitor?: boolean
}

function group(index: KeywordIndex, keywords: readonly string[]): KeywordGroup {
  const ids: number[] = []
  const other: string[] = []
  for (const k of keywords) {
    const id = index.id(k)
    if (id === undefined) other.push(k)
    else ids.push(id)
  }
  return { ids, other }
}

/**
 * A rule as it runs: one that reads the normalised text reads it with accents folded (`fold.ts`), so its
 * pattern and keywords are folded too (`règles` → `regles`); a raw-only rule is as written.
 */
function asRun<T extends RuleSpec>(spec: T): T {
  if ((spec.on ?? DEFAULT_ON[spec.kind]) === 'raw') return spec
  const keywords = spec.keywords.map(foldAccents)
  const andKeywords = spec.andKeywords?.map(foldAccents)
  return { ...spec, pattern: foldAccents(spec.pattern), keywords, ...(andKeywords ? { andKeywords } : {}) }
}

function build(written: RuleSpec, pack: PackName | 'custom', matcher: RegexMatcher, o: Overlay): CompiledRule {
  const spec = asRun(written)
  const t = spec.targets
  const index = builtinKeywords()
  const prefilter = [spec.keywords, spec.andKeywords ?? []].filter((g) => g.length > 0).map((g) => group(index, g))
  return {
    id: spec.id,
    pack,
    kind: spec.kind,
    score: o.score,
    action: perDirection(o.action),
    monitor: o.monitor,
    nestedMonitor: o.nestedMonitor ?? o.monitor,
    directions: t.directions ? new Set(t.directions) : null,
    roles: t.roles ? new Set(t.roles) : null,
    keys: t.keys ?? true,
    joined: t.joined ?? SCORED_KINDS.has(spec.kind),
    on: spec.on ?? DEFAULT_ON[spec.kind],
    keywords: spec.keywords,
    andKeywords: spec.andKeywords ?? [],
    prefilter,
    matcher,
    validators: spec.validators.map(compileValidator),
    decode: spec.decode,
    extend: spec.extend,
  }
}

let keywordIndex: KeywordIndex | undefined

/** One keyword automaton per isolate over every shipped keyword (tenant keywords fall back to `includes`). */
function builtinKeywords(): KeywordIndex {
  keywordIndex ??= new KeywordIndex(builtinPacks().flatMap((p) => p.rules.map(asRun).flatMap((r) => [...r.keywords, ...(r.andKeywords ?? [])])))
  return keywordIndex
}

// Shipped regexes compiled once per isolate, keyed by rule id.
const builtinMatchers = new Map<string, RegexMatcher>()

function builtinMatcher(spec: RuleSpec): RegexMatcher {
  let m = builtinMatchers.get(spec.id)
  if (m === undefined) {
    m = compileJs(asRun(spec).pattern, spec.flags, { group: spec.group, startGroup: spec.startGroup })
    builtinMatchers.set(spec.id, m)
  }
  return m
}

/**
 * The id a tenant rule runs and reports under. A write refuses a custom rule taking an id a shipped rule
 * or the firewall itself reports, but a release can add that id after the config was saved, and the
 * stored config must keep serving: such a rule runs as `custom:<id>` (a rule id holds no colon), so its
 * findings are never counted, allow-listed or singled out as the other's.
 */
export function customRuleId(id: string): string {
  return builtinRuleIds().has(id) || isFirewallRuleId(id) ? `custom:${id}` : id
}

function customRule(spec: CustomRule, policy: RulesPolicy): CompiledRule | null {
  const o = policy.rules[spec.id]
  if (o?.disabled ?? !spec.enabled) return null
  // Tenant patterns run on re2js only, whatever they look like (linear time).
  const matcher = compileRe2(asRun(spec).pattern, spec.flags, { group: spec.group, startGroup: spec.startGroup })
  return build({ ...spec, id: customRuleId(spec.id) }, 'custom', matcher, {
    action: o?.action ?? spec.action ?? DEFAULT_ACTION[spec.kind],
    score: o?.score ?? spec.score,
    monitor: false,
  })
}

function compileSet(policy: RulesPolicy): CompiledRuleSet {
  // Custom rules running under another id (`customRuleId`). The override and the allow entries keyed by
  // their id were written when it named only the tenant's rule: they stay with it, and the shipped rule
  // of that id runs with its pack's settings.
  const renamed = new Map<string, string>()
  for (const r of policy.customRules) if (customRuleId(r.id) !== r.id) renamed.set(r.id, customRuleId(r.id))
  const rules: CompiledRule[] = []
  for (const pack of builtinPacks()) {
    const ps = policy.packs[pack.pack]
    const packOn = ps.enabled ?? pack.enabled
    for (const spec of pack.rules) {
      const o = renamed.has(spec.id) ? undefined : policy.rules[spec.id]
      const enabled = o?.disabled !== undefined ? !o.disabled : packOn && spec.enabled
      if (!enabled) continue
      const staged = ps.enforceVersion !== undefined && spec.since > ps.enforceVersion
      const nestedStaged = ps.enforceVersion !== undefined && (spec.decode?.nested ?? 0) > ps.enforceVersion
      rules.push(
        build(spec, pack.pack, builtinMatcher(spec), {
          action: o?.action ?? ps.action ?? spec.action ?? pack.defaultAction,
          score: o?.score ?? spec.score,
          monitor: ps.mode === 'monitor' || staged,
          nestedMonitor: ps.mode === 'monitor' || staged || nestedStaged,
        }),
      )
    }
  }
  for (const spec of policy.customRules) {
    const r = customRule(spec, policy)
    if (r !== null) rules.push(r)
  }
  const allow = policy.allow.map((a) => (typeof a === 'string' ? a : { ...a, rule: renamed.get(a.rule) ?? a.rule }))
  return assemble(rules, allow, policy.limits)
}

/**
 * A tenant rule alone, as the engine runs it (folded pattern, the normalised or raw view it reads, its
 * validators and decoding): what its examples are checked against when the config is saved, so that an
 * example passes the check exactly when it would fire in traffic.
 */
export function compileLoneRule(spec: RuleSpec, limits: RulesLimits, rescanPool: readonly CompiledRule[]): CompiledRuleSet {
  const matcher = compileRe2(asRun(spec).pattern, spec.flags, { group: spec.group, startGroup: spec.startGroup })
  const rule = build({ ...spec, id: customRuleId(spec.id) }, 'custom', matcher, { action: spec.action ?? DEFAULT_ACTION[spec.kind], score: spec.score, monitor: false })
  return assemble([rule], [], limits, rescanPool)
}

/** `rescanPool`: the rules decoded payloads are rescanned with (the set's own, unless checking a lone rule). */
function assemble(rules: CompiledRule[], allow: RulesPolicy['allow'], limits: RulesLimits, rescanPool: readonly CompiledRule[] = rules): CompiledRuleSet {
  const allowAny = new Set<string>()
  const allowByRule = new Map<string, Set<string>>()
  for (const a of allow) {
    if (typeof a === 'string') allowAny.add(a)
    else {
      const s = allowByRule.get(a.rule) ?? new Set<string>()
      s.add(a.value)
      allowByRule.set(a.rule, s)
    }
  }

  // Per role, eight buckets: direction × key × joined (a string key per field cost more than the lookup).
  const buckets = new Map<FieldRole, Array<RuleBucket | undefined>>()
  return {
    rules,
    keywords: builtinKeywords(),
    allowAny,
    allowByRule,
    limits,
    bucket(direction, role, isKey, joined) {
      let byRole = buckets.get(role)
      if (byRole === undefined) {
        byRole = new Array<RuleBucket | undefined>(8)
        buckets.set(role, byRole)
      }
      const slot = (direction === 'client_to_server' ? 4 : 0) + (isKey ? 2 : 0) + (joined ? 1 : 0)
      let b = byRole[slot]
      if (b === undefined) {
        const targets = (r: CompiledRule): boolean =>
          (r.directions === null || r.directions.has(direction)) && (r.roles === null || r.roles.has(role))
        const selected = rules.filter((r) => targets(r) && (!isKey || r.keys) && (!joined || r.joined))
        // A decoded payload is text of its own, not a key or a joined view: any rule that targets the field rescans it.
        const rescan = new Map<RuleKind, CompiledRule[]>()
        const nested = new Map<RuleKind, CompiledRule[]>()
        for (const d of selected)
          if (d.decode !== undefined && !rescan.has(d.kind)) {
            rescan.set(d.kind, rescanPool.filter((r) => r.kind === d.kind && r.decode === undefined && targets(r)))
            nested.set(d.kind, rescanPool.filter((r) => r.kind === d.kind && r.decode !== undefined && NESTED_ENCODINGS.has(r.decode.encoding) && targets(r)))
          }
        b = {
          rules: selected,
          rescan,
          nested,
          needsNormalized: selected.some((r) => r.on !== 'raw'),
          needsRaw: selected.some((r) => r.on !== 'normalized'),
          ...keywordGate(selected),
        }
        byRole[slot] = b
      }
      return b
    },
  }
}

function keywordGate(rules: readonly CompiledRule[]): Pick<RuleBucket, 'byKeyword' | 'unfiltered' | 'rawKeywords'> {
  const byKeyword = new Map<number, number[]>()
  const unfiltered: number[] = []
  let rawKeywords = false
  rules.forEach((r, at) => {
    const first = r.prefilter[0]
    if (first === undefined || first.other.length > 0) {
      unfiltered.push(at)
      return
    }
    if (r.on === 'raw') rawKeywords = true
    for (const id of first.ids) byKeyword.set(id, [...(byKeyword.get(id) ?? []), at])
  })
  return { byKeyword, unfiltered, rawKeywords }
}

const cache = new WeakMap<RulesPolicy, CompiledRuleSet>()

/**
 * The compiled rule set for a parsed policy, cached by the policy object's identity (one compile
 * per config version per isolate).
 */
export function compileRules(policy: RulesPolicy): CompiledRuleSet {
  let set = cache.get(policy)
  if (set === undefined) {
    set = compileSet(policy)
    cache.set(policy, set)
  }
  return set
}
