/**
 * Cross-tool shadowing in a definition (mcp-protocol.md §6.3): text that names a tool this server does
 * not define, above all inside a directive about using it ("whenever you call `send_email` …", "use this
 * instead of `bank_transfer`"). A malicious server needs no call to act: its description alone steers
 * how the agent uses another server's tools.
 *
 * Only identifier-shaped names count (`send_email`, `sendEmail`, and quoted `send-email`),
 * so prose like "the search tool" is not a tool name. Runs on re2js (linear time): definitions are
 * attacker text and these patterns are scanned only when a definition is first seen or changes.
 */
import { RE2JS } from 're2js'
import type { Finding } from '../inspect/types'
import type { FirewallRuleId } from '../inspect/rule-ids'

/** Rule ids of the findings this check makes. */
export const FOREIGN_DIRECTIVE = 'tool-shadowing-directive' satisfies FirewallRuleId
export const FOREIGN_MENTION = 'tool-foreign-reference' satisfies FirewallRuleId

// Unquoted, only snake_case and camelCase count: kebab-case is too often English ("third-party", "built-in").
const IDENT = '(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+)'
// Quoted names must look like identifiers too: "instead of 'fields'" names a parameter or a value, not a tool.
const QUOTED = '[`\'"]((?:[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)+|[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+))[`\'"]'
const NAME = `(?:${QUOTED}|(${IDENT}))`

/** "whenever you call X", "before using X", "instead of X", "rather than calling X". */
const DIRECTIVE = RE2JS.compile(
  `(?i:\\b(?:(?:whenever|every time|each time|any ?time|before|after|when)\\s+(?:you\\s+|the\\s+(?:assistant|agent|model|ai|llm)\\s+|claude\\s+)?(?:use|uses|using|call|calls|calling|invoke|invokes|invoking|run|runs|running)|(?:instead of|rather than|in place of)(?:\\s+(?:using|calling|invoking))?)\\s+(?:the\\s+|a\\s+|any\\s+)?)${NAME}`,
)
/** "the send_email tool", "the `transfer` function". */
const MENTION = RE2JS.compile(`${NAME}\\s+(?i:tool|function|mcp tool)\\b`)

/**
 * A word every match of the pattern holds (case-insensitive): texts without one are not scanned. Plain
 * alternations of literals, linear on V8; re2js is several times slower and most strings of a definition
 * (schema keys, enum values, short descriptions) hold none of them.
 */
const DIRECTIVE_WORDS = /when|time|before|after|instead|rather|place/iu
const MENTION_WORDS = /tool|function/iu

/** The names a text refers to in a directive, and those it only mentions as tools. */
export function referencedTools(text: string): { directive: string[]; mention: string[] } {
  return {
    directive: DIRECTIVE_WORDS.test(text) ? captures(DIRECTIVE, text) : [],
    mention: MENTION_WORDS.test(text) ? captures(MENTION, text) : [],
  }
}

function captures(re: RE2JS, text: string): string[] {
  const out: string[] = []
  const m = re.matcher(text)
  let from = 0
  while (out.length < 20 && from <= text.length && m.find(from)) {
    const name = m.group(1) ?? m.group(2)
    if (name) out.push(name)
    from = m.end() === m.start() ? m.end() + 1 : m.end()
  }
  return out
}

/** `send-email`, `send_email` and `sendEmail` are the same name for this check. */
export function looseName(name: string): string {
  return name.replace(/[_\-.]/g, '').toLowerCase()
}

/**
 * Findings for tool names in `text` (at `path`) that are not among `known` (this server's tools, prompts
 * and the definition's own name, loosely compared). A directive naming a foreign tool is a `block`-level
 * shadowing signal (the definition is held for review); a bare mention is flagged only.
 */
export function foreignReferences(text: string, path: string, known: Pick<ReadonlySet<string>, 'has'>): Finding[] {
  if (text.length < 8) return []
  const { directive, mention } = referencedTools(text)
  const foreign = (n: string) => !known.has(looseName(n))
  const findings: Finding[] = []
  const d = directive.find(foreign)
  if (d !== undefined) findings.push({ ruleId: FOREIGN_DIRECTIVE, kind: 'shadowing', path, score: 0.6, action: 'block' })
  else {
    const m = mention.find(foreign)
    if (m !== undefined) findings.push({ ruleId: FOREIGN_MENTION, kind: 'shadowing', path, score: 0.3, action: 'flag' })
  }
  return findings
}
