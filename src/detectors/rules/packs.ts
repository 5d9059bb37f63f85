/**
 * The shipped rule packs, imported as JSON (the bundler inlines them; the Worker needs no parser) and
 * validated once per isolate on first use.
 */
import injection from '../../../rules/injection.json'
import pii from '../../../rules/pii.json'
import secrets from '../../../rules/secrets.json'
import unicode from '../../../rules/unicode.json'
import { RulePack } from './schema'

/** The raw pack files, in evaluation order. */
export const PACK_FILES: readonly unknown[] = [unicode, injection, secrets, pii]

let parsed: readonly RulePack[] | undefined

/** The shipped packs, parsed and defaulted. Throws (failing closed) if a pack file is invalid. */
export function builtinPacks(): readonly RulePack[] {
  parsed ??= PACK_FILES.map((p) => RulePack.parse(p))
  return parsed
}

let ids: ReadonlySet<string> | undefined

/** Every shipped rule id. */
export function builtinRuleIds(): ReadonlySet<string> {
  ids ??= new Set(builtinPacks().flatMap((p) => p.rules.map((r) => r.id)))
  return ids
}
