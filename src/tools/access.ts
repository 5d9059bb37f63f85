/**
 * Who may see and use which tools, prompts and resources: the tenant's allow / deny globs, narrowed by
 * the lists of every `byIdentity` entry whose glob matches the verified identity. Names come from the
 * JSON-RPC body only (`params.name`, `params.uri`, list entries), never from 2026 `Mcp-Name` headers.
 */
import { globMatch } from '../inspect/policy'
import type { NameLists, ToolsPolicy } from './policy'

/** What a name belongs to: tools and prompts by name, resources by URI. */
export type AccessKind = 'tools' | 'prompts' | 'resources'

/** A compiled access policy. */
export interface Access {
  /** True when `name` of `kind` is visible and usable for `identity` (undefined: no verified identity). */
  permits(kind: AccessKind, name: string, identity: string | undefined): boolean
  /** False when nothing is restricted, so callers can skip the walk. */
  readonly active: boolean
}

/**
 * The spellings of a resource URI the lists judge: as sent, percent-decoded (an origin that decodes its
 * path reads `%65tc/passwd` as `etc/passwd`; decoded until stable, so `%252e` counts too), and each of
 * those as an SDK origin resolves it (`new URL(uri).toString()`: scheme and special hosts lower-cased,
 * `.`, `..` and `%2e%2e` segments removed). Every spelling must pass, so a deny glob that matches any of
 * them refuses the URI and an allow list must match them all: neither `FIXTURE://readme`, nor
 * `…/public/../private/key`, nor `…/%70rivate/key` steps around a glob. A URI that does not parse is
 * judged as sent and decoded.
 * @example resourceSpellings('FIXTURE://docs/public/../key') // ['FIXTURE://docs/public/../key', 'fixture://docs/key']
 */
function resourceSpellings(uri: string): string[] {
  const spellings = new Set<string>()
  for (const form of decodings(uri)) {
    spellings.add(form)
    if (URL.canParse(form)) spellings.add(new URL(form).toString())
  }
  return [...spellings]
}

/** `uri` and its percent-decodings, each decoding applied to the last until nothing changes (at most 4). */
function decodings(uri: string): string[] {
  const forms = [uri]
  for (let i = 0; i < 4; i++) {
    const last = forms[forms.length - 1]!
    const next = percentDecoded(last)
    if (next === last) break
    forms.push(next)
  }
  return forms
}

/** Every well-formed `%XX` run decoded as UTF-8; a run that is not valid UTF-8 is decoded byte by byte as Latin-1. */
function percentDecoded(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run)
    } catch {
      return run.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    }
  })
}

function passes(lists: NameLists | undefined, name: string): boolean {
  if (!lists) return true
  if (lists.allow && !lists.allow.some((g) => globMatch(g, name))) return false
  return !lists.deny.some((g) => globMatch(g, name))
}

/**
 * Compiles the access part of a tools policy.
 * @example compileAccess(policy).permits('tools', 'delete_repo', 'ci-bot') // false with byIdentity { "ci-*": { tools: { deny: ["delete_*"] } } }
 */
export function compileAccess(policy: ToolsPolicy): Access {
  const tenant: Record<AccessKind, NameLists> = {
    tools: { deny: policy.deny, ...(policy.allow ? { allow: policy.allow } : {}) },
    prompts: policy.prompts,
    resources: policy.resources,
  }
  const identities = Object.entries(policy.byIdentity)
  const restricts = (l: NameLists): boolean => l.allow !== undefined || l.deny.length > 0
  const active =
    Object.values(tenant).some(restricts) || identities.some(([, lists]) => [lists.tools, lists.prompts, lists.resources].some((l) => l !== undefined && restricts(l)))
  // Identity globs are matched once per identity, not once per name.
  const matched = new Map<string, Array<(typeof identities)[number][1]>>()
  const entriesFor = (identity: string) => {
    let hit = matched.get(identity)
    if (!hit) {
      hit = identities.filter(([glob]) => globMatch(glob, identity)).map(([, lists]) => lists)
      if (matched.size > 1_000) matched.clear()
      matched.set(identity, hit)
    }
    return hit
  }
  return {
    active,
    permits(kind, name, identity) {
      const spellings = kind === 'resources' ? resourceSpellings(name) : [name]
      if (!spellings.every((n) => passes(tenant[kind], n))) return false
      if (identity === undefined || identities.length === 0) return true
      return entriesFor(identity).every((lists) => spellings.every((n) => passes(lists[kind], n)))
    },
  }
}
