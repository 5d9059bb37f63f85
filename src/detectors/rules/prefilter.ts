/**
 * The keyword pre-filter: which rules of a bucket can match a field at all, from the keywords present in
 * its variants, before any regex runs.
 */
import type { CompiledRule, KeywordGroup, RuleBucket } from './compile'
import type { KeywordIndex } from './keywords'
import type { Variant } from './variants'

/** Keyword pre-filter on any of a rule's variants. */
export function passesFilter(variants: readonly Variant[], rule: CompiledRule, index: KeywordIndex): boolean {
  for (const v of variants) if (hasKeyword(v, rule, index)) return true
  return false
}

/**
 * Positions in `bucket.rules`, ascending, of the rules whose first keyword group occurs in the field plus
 * those checked on every field: a superset of the rules `passesFilter` lets through, found from the
 * keywords present rather than rule by rule. Without a keyword hit (most short fields) it is the bucket's
 * own list, so nothing is allocated.
 */
export function candidates(bucket: RuleBucket, norm: readonly Variant[], raw: readonly Variant[], index: KeywordIndex): readonly number[] {
  if (bucket.byKeyword.size === 0) return bucket.unfiltered
  let extra = addPresent(bucket, norm, index, undefined)
  if (bucket.rawKeywords && raw !== norm) extra = addPresent(bucket, raw, index, extra)
  if (extra === undefined) return bucket.unfiltered
  return [...new Set([...bucket.unfiltered, ...extra])].sort((a, b) => a - b)
}

function addPresent(bucket: RuleBucket, variants: readonly Variant[], index: KeywordIndex, into: number[] | undefined): number[] | undefined {
  for (const v of variants) {
    v.hits ??= index.scan(v.text)
    for (const id of v.hits.found) {
      const at = bucket.byKeyword.get(id)
      if (at !== undefined) (into ??= []).push(...at)
    }
  }
  return into
}

/** Keyword pre-filter: one keyword of every group (`keywords`, then `andKeywords`) occurs in the text. */
export function hasKeyword(v: Variant, rule: CompiledRule, index: KeywordIndex): boolean {
  for (const g of rule.prefilter) if (!anyOf(v, g, index)) return false
  return true
}

function anyOf(v: Variant, g: KeywordGroup, index: KeywordIndex): boolean {
  if (g.ids.length > 0) {
    v.hits ??= index.scan(v.text)
    for (const id of g.ids) if (v.hits.has(id)) return true
  }
  if (g.other.length > 0) {
    v.lower ??= v.text.toLowerCase()
    for (const k of g.other) if (v.lower.includes(k)) return true
  }
  return false
}

/** Whether every variant is shorter than the rule's shortest match (most keyword-less rules on short fields). */
export function tooShort(variants: readonly Variant[], least: number): boolean {
  for (const v of variants) if (v.text.length >= least) return false
  return true
}
