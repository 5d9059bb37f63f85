/**
 * How many real tool descriptions the definition scan holds for review at the default policy
 * (docs/tool-integrity.md, target ≤ 1 %), over ../shared/data/mcp_tool_descriptions (never copied into
 * the repository). Each tool description becomes a tool's `description`; each parameter description a
 * property `description` of an otherwise plain tool. A server's known tool names are the tool names of
 * its own repository's rows, so a description naming a sibling tool is not counted as shadowing.
 *
 *   npm run eval:tools -- [--data <dir>] [--verbose] [--no-classifier]
 */
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { JsonObject } from '../src/mcp/jsonrpc'
import { TenantConfig } from '../src/tenant/config'
import { compilePolicy } from '../src/inspect/policy'
import { createClassifierDetector } from '../src/detectors/classifier'
import { scanDefinition } from '../src/tools/scan'
import { looseName } from '../src/tools/shadowing'

interface Row {
  text: string
  source: string
  path: string
  tool_name: string | null
  kind: 'tool_description' | 'param_description' | 'description'
  balanced_subset: boolean
}

const argv = process.argv.slice(2)
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dataDir = argv.includes('--data') ? resolve(argv[argv.indexOf('--data') + 1] ?? '') : resolve(root, '../shared/data')
const verbose = argv.includes('--verbose')
const rows = readFileSync(join(dataDir, 'mcp_tool_descriptions/mcp_tool_descriptions.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Row)

const config = TenantConfig.parse({ origin: { url: 'https://origin.example/mcp' } })
const base = compilePolicy('eval', 1, config)
// The classifier is part of the default policy once wired into compilePolicy; until then it is added here.
const hasClassifier = base.detectors.some((d) => d.id === 'classifier')
const detectors = hasClassifier || argv.includes('--no-classifier') ? base.detectors : [...base.detectors, createClassifierDetector({ injectionThreshold: base.injectionThreshold })]
const policy = { detectors, injectionThreshold: base.injectionThreshold }

const known = new Map<string, Set<string>>()
for (const r of rows) {
  if (r.kind !== 'tool_description' || !r.tool_name) continue
  const set = known.get(r.source) ?? new Set<string>()
  set.add(looseName(r.tool_name))
  known.set(r.source, set)
}

function entryOf(r: Row): JsonObject {
  if (r.kind === 'tool_description') return { name: r.tool_name ?? 'tool', description: r.text, inputSchema: { type: 'object' } }
  const param = r.tool_name && /^[A-Za-z_][\w-]{0,63}$/.test(r.tool_name) ? r.tool_name : 'value'
  return { name: 'tool', description: 'A tool.', inputSchema: { type: 'object', properties: { [param]: { type: 'string', description: r.text } } } }
}

interface Tally {
  n: number
  held: number
}
const tally = (): Tally => ({ n: 0, held: 0 })
const all = tally()
const balanced = tally()
const byKind = new Map<string, Tally>()
const byReason = new Map<string, number>()
// Repositories the shipped classifier never trained on (rules/classifier/MODEL_CARD.md).
const HELD_OUT = new Set(['PostHog/mcp', 'brave/brave-search-mcp-server', 'exa-labs/exa-mcp-server', 'grafana/mcp-grafana', 'microsoft/playwright-mcp', 'qdrant/mcp-server-qdrant', 'redis/mcp-redis', 'sooperset/mcp-atlassian', 'stripe/agent-toolkit', 'upstash/context7'])
const heldOut = tally()
const started = performance.now()
for (const r of rows) {
  const scan = scanDefinition('tool', entryOf(r), {
    policy,
    tenantId: 'eval',
    requestId: 'eval',
    era: 'legacy',
    knownNames: known.get(r.source) ?? new Set(),
  })
  const k = byKind.get(r.kind) ?? tally()
  byKind.set(r.kind, k)
  for (const t of [all, k, ...(r.balanced_subset ? [balanced] : []), ...(HELD_OUT.has(r.source) ? [heldOut] : [])]) {
    t.n++
    if (scan.held) t.held++
  }
  if (scan.held) {
    const reasons = new Set(scan.findings.filter((f) => f.kind === 'shadowing' || f.kind === 'unicode' || f.score >= 0.5).map((f) => f.ruleId))
    if (reasons.size === 0) reasons.add(`combined>=${policy.injectionThreshold}`)
    for (const reason of reasons) byReason.set(reason, (byReason.get(reason) ?? 0) + 1)
    if (verbose) console.log(JSON.stringify({ source: r.source, kind: r.kind, score: scan.score, rules: [...reasons], text: r.text.slice(0, 240) }))
  }
}
// Recall side: the real MCP tool-poisoning examples (injections_more), each as a tool description.
const poison = readFileSync(join(dataDir, 'injections_more/mcp_tool_poisoning.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as { text: string; family: string })
const caught = poison.filter(
  (p) => scanDefinition('tool', { name: 'helper', description: p.text, inputSchema: { type: 'object' } }, { policy, tenantId: 'eval', requestId: 'eval', era: 'legacy', knownNames: new Set() }).held,
).length

const pct = (t: Tally) => `${((100 * t.held) / Math.max(1, t.n)).toFixed(2)} %`
console.log(
  JSON.stringify(
    {
      data: 'mcp_tool_descriptions',
      detectors: detectors.map((d) => d.id),
      rows: all.n,
      held: all.held,
      heldRate: pct(all),
      balancedSubset: { rows: balanced.n, held: balanced.held, heldRate: pct(balanced) },
      byKind: Object.fromEntries([...byKind].map(([k, t]) => [k, { rows: t.n, held: t.held, heldRate: pct(t) }])),
      byReason: Object.fromEntries([...byReason].sort((a, b) => b[1] - a[1])),
      classifierHeldOutRepos: { rows: heldOut.n, held: heldOut.held, heldRate: pct(heldOut) },
      poisoningExamplesHeld: `${caught} / ${poison.length}`,
      msPerDefinition: Math.round(((performance.now() - started) / all.n) * 1000) / 1000,
    },
    null,
    2,
  ),
)
