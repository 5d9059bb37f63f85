/**
 * A tenant's policy compiled for the hot path: detectors built, globs turned into matchers. Compiled
 * once per (tenant, config version) per isolate, and only a tenant's newest version is kept: a config
 * holds up to 256 KiB of rules and allow-lists, so one tenant writing many versions must not fill the
 * isolate with the old ones.
 */
import type { TenantConfig } from '../tenant/config'
import type { Detector } from './types'
import { invisibleUnicodeDetector } from '../detectors/invisible-unicode'
import { createRulesDetector } from '../detectors/rules'
import { createClassifierDetector } from '../detectors/classifier'

export interface CompiledPolicy {
  readonly tenantId: string
  readonly version: number
  readonly detectors: readonly Detector[]
  readonly injectionThreshold: number
  readonly monitor: boolean
  readonly revealRuleIds: boolean
  readonly unicode: TenantConfig['policy']['unicode']
  /** True when a tool name is on the tenant's deny-list. */
  readonly isToolDenied: (name: string) => boolean
  /** The classifier's settings, its optional second stage among them. */
  readonly classifier: TenantConfig['policy']['classifier']
}

/** Per tenant: the compiled policy of the newest config version this isolate compiled. */
const compiled = new Map<string, CompiledPolicy>()
const MAX_COMPILED = 1_000

/** The compiled policy of a tenant's config version, from the isolate cache when present. */
export function compilePolicy(tenantId: string, version: number, config: TenantConfig): CompiledPolicy {
  const hit = compiled.get(tenantId)
  if (hit?.version === version) return hit
  const policy = buildPolicy(tenantId, version, config)
  if (hit && hit.version > version) return policy // an older version still being served: not kept
  if (!hit && compiled.size >= MAX_COMPILED) compiled.clear()
  compiled.set(tenantId, policy)
  return policy
}

/**
 * The kept policy when it is of `version`, else one built and not kept. For a dry run of the stored config:
 * the authority may hold a newer version than this isolate's traffic still reads from KV, and caching it
 * would leave that traffic compiling its own version on every request until KV caught up.
 */
export function keptOrBuiltPolicy(tenantId: string, version: number, config: TenantConfig): CompiledPolicy {
  const hit = compiled.get(tenantId)
  return hit?.version === version ? hit : buildPolicy(tenantId, version, config)
}

/** How many compiled policies the isolate keeps (tests). */
export function compiledPolicyCount(): number {
  return compiled.size
}

/** A policy compiled and not kept (a dry run's proposed config: every one differs). */
export function buildPolicy(tenantId: string, version: number, config: TenantConfig): CompiledPolicy {
  const p = config.policy
  const detectors: Detector[] = []
  if (p.unicode !== 'off') detectors.push(invisibleUnicodeDetector)
  detectors.push(createRulesDetector(p.rules))
  if (p.classifier.enabled) detectors.push(createClassifierDetector({ policy: p.classifier, injectionThreshold: p.injectionThreshold }))
  return {
    tenantId,
    version,
    detectors,
    injectionThreshold: p.injectionThreshold,
    monitor: p.monitor,
    revealRuleIds: p.revealRuleIds,
    unicode: p.unicode,
    isToolDenied: globMatcher(p.tools.deny),
    classifier: p.classifier,
  }
}

/** Matches a name against any of the `*` / `?` globs. */
export function globMatcher(globs: readonly string[]): (name: string) => boolean {
  if (globs.length === 0) return () => false
  return (name) => globs.some((g) => globMatch(g, name))
}

/**
 * Wildcard match in O(pattern × name) time with no regex: on a mismatch only the most recent `*` is
 * retried, so no glob can make matching exponential.
 */
export function globMatch(glob: string, name: string): boolean {
  let g = 0
  let n = 0
  let star = -1
  let mark = 0
  while (n < name.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === name[n])) {
      g++
      n++
    } else if (g < glob.length && glob[g] === '*') {
      star = g++
      mark = n
    } else if (star !== -1) {
      g = star + 1
      n = ++mark
    } else return false
  }
  while (g < glob.length && glob[g] === '*') g++
  return g === glob.length
}
