/**
 * Names that pass for another tool's or prompt's name (mcp-protocol.md §6.3): `send_email\u200b`,
 * `sеnd_email` (Cyrillic е) or `SEND_EMAIL` next to `send_email`. Models and people pick tools by name,
 * so a look-alike served beside the real one can take its calls. Part of the definition scan: such a
 * name is held for review even on first sight.
 */
import type { Finding } from '../inspect/types'
import { normalize } from '../inspect/normalize'
import { confusableToAscii } from '../detectors/confusables'
import type { FirewallRuleId } from '../inspect/rule-ids'

/** Rule ids of the findings this check makes. */
export const NAME_INVISIBLE = 'tool-name-invisible' satisfies FirewallRuleId
export const NAME_LOOKALIKE = 'tool-name-lookalike' satisfies FirewallRuleId

// Format and control characters and everything Unicode says to render as nothing: a name holding one
// reads as another name (or as itself with a payload).
const INVISIBLE = /[\p{Cf}\p{Cc}\p{Default_Ignorable_Code_Point}]/u

/**
 * What a name looks like: the detection text (invisibles dropped, NFKC), every look-alike letter mapped
 * to ASCII (a name is one identifier, so not only inside mixed words), lower-cased.
 * @example nameSkeleton('SЕND_email\u200b') // 'send_email'
 */
export function nameSkeleton(name: string): string {
  const text = normalize(name).text
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const ascii = confusableToAscii(text.charCodeAt(i))
    out += ascii === undefined ? text[i] : String.fromCharCode(ascii)
  }
  return out.toLowerCase()
}

/** The names of one kind (the list being checked and the pins) by skeleton, for `lookalikeFindings`. */
export function namesBySkeleton(names: Iterable<string>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  for (const name of names) {
    const skeleton = nameSkeleton(name)
    const same = out.get(skeleton)
    if (same) same.add(name)
    else out.set(skeleton, new Set([name]))
  }
  return out
}

/**
 * Findings for a definition's name (at `path`): an invisible or format character in it, and another
 * name in `others` (see `namesBySkeleton`) that differs from it but looks the same. Both hold it.
 */
export function lookalikeFindings(name: string, path: string, others: ReadonlyMap<string, ReadonlySet<string>>): Finding[] {
  const findings: Finding[] = []
  if (INVISIBLE.test(name)) findings.push({ ruleId: NAME_INVISIBLE, kind: 'unicode', path, score: 1, action: 'block' })
  const alike = others.get(nameSkeleton(name))
  if (alike && [...alike].some((n) => n !== name)) findings.push({ ruleId: NAME_LOOKALIKE, kind: 'shadowing', path, score: 1, action: 'block' })
  return findings
}
