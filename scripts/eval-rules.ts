/**
 * Detection-quality eval for the rule packs over the labelled data in ../shared/data (never copied into
 * the repository). Prints one JSON metrics line per data set; `--table` also prints the markdown table
 * kept in rules/README.md; `--verbose` prints what the default policy got wrong; `--bench` times a 16 KB
 * tool result and the scan throughput.
 *
 *   npm run eval:rules -- [--data <dir>] [--only <set,...>] [--table] [--verbose] [--bench]
 */
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRulesDetector, type RulesDetector } from '../src/detectors/rules/detector'
import { RulesPolicy } from '../src/detectors/rules/policy'
import { textField } from '../src/detectors/rules/field'
import type { RuleFinding } from '../src/detectors/rules/findings'
import { combineScores } from '../src/detectors/rules/findings'
import type { FieldRole, MessageContext } from '../src/inspect/types'

interface Args {
  data: string
  only: Set<string> | null
  table: boolean
  verbose: boolean
  bench: boolean
}

function parseArgs(argv: string[]): Args {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  const a: Args = { data: resolve(root, '../shared/data'), only: null, table: false, verbose: false, bench: false }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    if (k === '--data') a.data = resolve(argv[++i] ?? a.data)
    else if (k === '--only') a.only = new Set((argv[++i] ?? '').split(','))
    else if (k === '--table') a.table = true
    else if (k === '--verbose') a.verbose = true
    else if (k === '--bench') a.bench = true
  }
  return a
}

const args = parseArgs(process.argv.slice(2))
// The default policy, with the unicode pack on to stand in for the pipeline's invisible-unicode detector
// (same rule ids; the pack ships off so the two do not both run).
const detector = createRulesDetector(RulesPolicy.parse({ packs: { unicode: { enabled: true } } }))
let requestSeq = 0

/** Default-policy outcome for one text in one role. */
interface Outcome {
  findings: RuleFinding[]
  injection: number
  blocks: boolean
  modifies: boolean
  acts: boolean
  flags: boolean
  why: string[]
}

const THRESHOLD = 0.8

function scan(text: string, role: FieldRole, direction: MessageContext['direction'] = 'server_to_client', d: RulesDetector = detector): Outcome {
  const ctx: MessageContext = { tenantId: 'eval', direction, requestId: `eval-${++requestSeq}`, era: 'legacy' }
  const findings = d.detect(textField(text, role), ctx)
  const injection = combineScores(findings.filter((f) => f.kind === 'injection').map((f) => f.score))
  const blocking = findings.filter((f) => f.action === 'block')
  const editing = findings.filter((f) => f.action === 'redact' || f.action === 'strip')
  const blocks = injection >= THRESHOLD || blocking.length > 0
  const why = [...new Set([...(injection >= THRESHOLD ? findings.filter((f) => f.kind === 'injection') : []), ...blocking, ...editing].map((f) => f.ruleId))]
  return { findings, injection, blocks, modifies: !blocks && editing.length > 0, acts: blocks || editing.length > 0, flags: findings.length > 0, why }
}

function jsonl(path: string): Array<Record<string, unknown>> {
  return readFileSync(join(args.data, path), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

const rows: Array<Record<string, unknown>> = []
function emit(metrics: Record<string, unknown>): void {
  rows.push(metrics)
  console.log(JSON.stringify(metrics))
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000

function want(set: string): boolean {
  return args.only === null || args.only.has(set)
}

function show(label: string, text: string, o: Outcome): void {
  if (args.verbose) console.error(`  [${label}] ${o.why.join(',') || o.findings.map((f) => f.ruleId).join(',')} :: ${text.slice(0, 220).replace(/\s+/g, ' ')}`)
}

/** Rate at which the default policy acts (blocks or modifies) on benign texts. */
function benign(set: string, texts: Array<{ text: string; role: FieldRole }>, extra: Record<string, unknown> = {}): void {
  let acts = 0
  let blocks = 0
  let flags = 0
  const byRule = new Map<string, number>()
  for (const { text, role } of texts) {
    const o = scan(text, role)
    if (o.acts) {
      acts++
      for (const r of o.why) byRule.set(r, (byRule.get(r) ?? 0) + 1)
      show(set, text, o)
    }
    if (o.blocks) blocks++
    if (o.flags) flags++
  }
  const n = texts.length
  emit({ set, kind: 'benign', n, actRate: round(acts / n), blockRate: round(blocks / n), flagRate: round(flags / n), acting: Object.fromEntries(byRule), ...extra })
}

/** Rate at which the default policy stops (blocks, or modifies for smuggling) malicious texts. */
function attacks(set: string, texts: Array<{ text: string; role: FieldRole; group?: string }>, extra: Record<string, unknown> = {}): void {
  let caught = 0
  let blocked = 0
  const groups = new Map<string, { n: number; caught: number }>()
  for (const { text, role, group } of texts) {
    const o = scan(text, role)
    if (o.blocks) blocked++
    if (o.acts) caught++
    else if (args.verbose && Math.random() < 0.05) show(`${set} miss`, text, o)
    if (group !== undefined) {
      const g = groups.get(group) ?? { n: 0, caught: 0 }
      g.n++
      if (o.acts) g.caught++
      groups.set(group, g)
    }
  }
  const n = texts.length
  const byGroup = Object.fromEntries([...groups].map(([k, g]) => [k, `${g.caught}/${g.n}`]))
  emit({ set, kind: 'attack', n, recall: round(caught / n), blockRecall: round(blocked / n), ...(groups.size > 0 ? { byGroup } : {}), ...extra })
}

/**
 * The literal values gitleaks' own config allow-lists (known public keys). A tenant lists such values in
 * `allow`; the eval reports the fp rate with and without doing the same. Read from the data, never copied.
 */
function gitleaksAllowlist(): RulesDetector {
  const toml = readFileSync(join(args.data, 'gitleaks/gitleaks.toml'), 'utf8')
  const values = new Set<string>()
  for (const block of toml.split('[[rules.allowlists]]').slice(1)) {
    const list = /regexes\s*=\s*\[([^\]]*)\]/.exec(block.split('[[rules]]')[0] ?? '')
    for (const m of (list?.[1] ?? '').matchAll(/'''([^']*)'''/g)) if (m[1] !== undefined && /^[A-Za-z0-9_-]{16,}$/.test(m[1])) values.add(m[1])
  }
  return createRulesDetector(RulesPolicy.parse({ packs: { unicode: { enabled: true } }, allow: [...values] }))
}

function gitleaks(): void {
  const per = new Map<string, { tp: number; tpHit: number; fp: number; fpHit: number }>()
  const allowing = gitleaksAllowlist()
  let fpWithAllow = 0
  for (const r of jsonl('gitleaks/gitleaks_rule_cases.jsonl')) {
    const id = str(r['rule_id'])
    const e = per.get(id) ?? { tp: 0, tpHit: 0, fp: 0, fpHit: 0 }
    const hit = scan(str(r['text']), 'tool-result').findings.some((f) => f.kind === 'secret')
    if (r['label'] !== 'tp' && scan(str(r['text']), 'tool-result', 'server_to_client', allowing).findings.some((f) => f.kind === 'secret')) fpWithAllow++
    if (r['label'] === 'tp') {
      e.tp++
      if (hit) e.tpHit++
      else if (args.verbose) console.error(`  [gitleaks miss ${id}] ${str(r['text']).slice(0, 160)}`)
    } else {
      e.fp++
      if (hit) e.fpHit++
      if (hit && args.verbose) console.error(`  [gitleaks fp ${id}] ${str(r['text']).slice(0, 160)}`)
    }
    per.set(id, e)
  }
  const tot = [...per.values()].reduce((a, e) => ({ tp: a.tp + e.tp, tpHit: a.tpHit + e.tpHit, fp: a.fp + e.fp, fpHit: a.fpHit + e.fpHit }), { tp: 0, tpHit: 0, fp: 0, fpHit: 0 })
  const perRule = Object.fromEntries([...per].map(([k, e]) => [k, { recall: e.tp ? `${e.tpHit}/${e.tp}` : '-', fpFlagged: e.fp ? `${e.fpHit}/${e.fp}` : '-' }]))
  emit({ set: 'gitleaks', kind: 'secrets', tp: tot.tp, recall: round(tot.tpHit / tot.tp), fp: tot.fp, fpFlaggedRate: round(tot.fpHit / tot.fp), fpFlaggedRateWithGitleaksAllowlist: round(fpWithAllow / tot.fp), perRule })
}

function llmGuard(): void {
  const files = new Map<string, { n: number; tp: number; fp: number; fn: number; tn: number }>()
  for (const r of jsonl('llm_guard_tests/llm_guard_scanner_cases.jsonl')) {
    const file = str(r['_file']).replace(/^.*test_|\.py$/g, '')
    const text = str(r['prompt'])
    const o = scan(text, 'prompt')
    const predicted =
      file === 'secrets' ? o.findings.some((f) => f.kind === 'secret')
      : file === 'invisible_text' ? o.findings.some((f) => f.kind === 'unicode')
      : file === 'anonymize' ? o.findings.some((f) => f.kind === 'pii')
      : o.blocks
    const label = r['label'] === 1
    const e = files.get(file) ?? { n: 0, tp: 0, fp: 0, fn: 0, tn: 0 }
    e.n++
    if (label && predicted) e.tp++
    else if (label) e.fn++
    else if (predicted) e.fp++
    else e.tn++
    files.set(file, e)
    if (args.verbose && label !== predicted) console.error(`  [llm-guard ${file} ${label ? 'miss' : 'fp'}] ${text.slice(0, 160)}`)
  }
  for (const [file, e] of files)
    emit({ set: `llm_guard/${file}`, kind: 'cases', n: e.n, recall: round(e.tp / Math.max(1, e.tp + e.fn)), precision: round(e.tp / Math.max(1, e.tp + e.fp)), accuracy: round((e.tp + e.tn) / e.n) })
}

function piiFixtures(): void {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  const lines = readFileSync(join(root, 'rules/fixtures/pii.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '')
  const per = new Map<string, { tp: number; fp: number; fn: number; negatives: number }>()
  for (const line of lines) {
    const r = JSON.parse(line) as { text: string; label: number; kind: string }
    const e = per.get(r.kind) ?? { tp: 0, fp: 0, fn: 0, negatives: 0 }
    if (r.label !== 1) e.negatives++
    const hit = scan(r.text, 'tool-result').findings.some((f) => f.ruleId === r.kind)
    if (r.label === 1 && hit) e.tp++
    else if (r.label === 1) e.fn++
    else if (hit) e.fp++
    if (args.verbose && (r.label === 1) !== hit) console.error(`  [pii ${r.kind} ${hit ? 'fp' : 'miss'}] ${r.text}`)
    per.set(r.kind, e)
  }
  for (const [kind, e] of per)
    emit({ set: `pii/${kind}`, kind: 'pii', recall: round(e.tp / Math.max(1, e.tp + e.fn)), precision: round(e.tp / Math.max(1, e.tp + e.fp)), n: lines.length, positives: e.tp + e.fn, negatives: e.negatives })
}

function benignSets(): void {
  if (want('mcp_tool_descriptions')) {
    const rows = jsonl('mcp_tool_descriptions/mcp_tool_descriptions.jsonl')
    benign('mcp_tool_descriptions', rows.map((r) => ({ text: str(r['text']), role: 'tool-definition' as const })))
    benign('mcp_tool_descriptions/balanced', rows.filter((r) => r['balanced_subset'] === true).map((r) => ({ text: str(r['text']), role: 'tool-definition' as const })))
  }
  if (want('benign_documents')) {
    const rows = jsonl('benign_documents/benign_documents.jsonl')
    benign('benign_documents', rows.map((r) => ({ text: str(r['text']), role: 'tool-result' as const })))
    benign('benign_documents/hard_negative_mined', rows.filter((r) => r['hard_negative_mined'] === true).map((r) => ({ text: str(r['text']), role: 'tool-result' as const })))
  }
  if (want('benign_prompts')) {
    const rows = jsonl('benign_prompts/benign_prompts.jsonl')
    benign('benign_prompts', rows.map((r) => ({ text: str(r['text']), role: 'prompt' as const })))
    benign('benign_prompts/hard_negative', rows.filter((r) => r['hard_negative'] === true).map((r) => ({ text: str(r['text']), role: 'prompt' as const })))
  }
  if (want('benign_instructions')) {
    const texts: string[] = []
    for (const f of ['benign_instructions/seed_tasks.jsonl', 'benign_instructions/user_oriented_instructions.jsonl'])
      for (const r of jsonl(f)) {
        const inputs = Array.isArray(r['instances']) ? (r['instances'] as Array<Record<string, unknown>>).map((x) => str(x['input'])) : []
        texts.push([str(r['instruction']), ...inputs].filter((s) => s !== '').join('\n'))
      }
    benign('benign_instructions', texts.map((text) => ({ text, role: 'prompt' as const })))
  }
  if (want('bipia')) {
    for (const k of ['email', 'code', 'table']) {
      const texts = jsonl(`bipia/${k}/train.jsonl`).map((r) => bipiaContext(r))
      benign(`bipia/${k}`, texts.map((text) => ({ text, role: 'tool-result' as const })))
    }
  }
}

function bipiaContext(r: Record<string, unknown>): string {
  const c = r['context']
  return Array.isArray(c) ? c.map(str).join('\n') : str(c)
}

function attackSets(): void {
  if (want('injections_more')) {
    const rows = jsonl('injections_more/malicious_injections.jsonl')
    const role = (r: Record<string, unknown>): FieldRole => (r['kind'] === 'document_with_injection' ? 'tool-result' : 'prompt')
    const conf = (c: string) => rows.filter((r) => (r['label_confidence'] ?? 'high') === c)
    for (const c of ['high', 'medium', 'low'])
      attacks(`injections_more/${c}`, conf(c).map((r) => ({ text: str(r['text']), role: role(r), group: str(r['family']) })))
    attacks('injections_more/mcp_tool_poisoning', jsonl('injections_more/mcp_tool_poisoning.jsonl').map((r) => ({ text: str(r['text']), role: 'tool-definition' as const })))
  }
  if (want('deepset')) {
    const rows = jsonl('deepset/deepset_prompt_injections.jsonl').filter((r) => r['split'] === 'test')
    attacks('deepset/test', rows.filter((r) => r['label'] === 1).map((r) => ({ text: str(r['text']), role: 'prompt' as const })))
    benign('deepset/test-benign', rows.filter((r) => r['label'] === 0).map((r) => ({ text: str(r['text']), role: 'prompt' as const })))
  }
  if (want('jailbreakbench')) attacks('jailbreakbench', jsonl('jailbreakbench/jbb_artifact_prompts.jsonl').map((r) => ({ text: str(r['text']), role: 'prompt' as const, group: str(r['method']) })))
  if (want('bipia')) {
    const insert = (ctx: string, attack: string, pos: number): string => {
      if (pos === 0) return `${attack}\n${ctx}`
      if (pos === 2) return `${ctx}\n${attack}`
      const mid = ctx.indexOf(' ', Math.floor(ctx.length / 2))
      return mid < 0 ? `${ctx} ${attack}` : `${ctx.slice(0, mid)} ${attack}${ctx.slice(mid)}`
    }
    for (const [file, ctxFile] of [['bipia/text_attack_train.json', 'bipia/email/train.jsonl'], ['bipia/code_attack_train.json', 'bipia/code/train.jsonl']] as const) {
      const byCat = JSON.parse(readFileSync(join(args.data, file), 'utf8')) as Record<string, string[]>
      const ctxs = jsonl(ctxFile).slice(0, 6).map(bipiaContext)
      const texts: Array<{ text: string; role: FieldRole; group: string }> = []
      for (const [cat, list] of Object.entries(byCat))
        for (const a of list) ctxs.forEach((c, i) => texts.push({ text: insert(c, a, i % 3), role: 'tool-result', group: cat }))
      attacks(file.replace(/_train\.json$/, '').replace('bipia/', 'bipia/inserted-'), texts)
    }
  }
}

/** CPU time (not wall time: these machines are shared) per call of `fn`, in microseconds. */
function cpuMicros(runs: number, fn: () => void): number {
  for (let i = 0; i < Math.min(100, runs); i++) fn()
  const before = process.cpuUsage()
  for (let i = 0; i < runs; i++) fn()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / runs
}

function bench(): void {
  const docs = jsonl('benign_documents/benign_documents.jsonl').map((r) => str(r['text']))
  let result = ''
  for (const d of docs) {
    if (result.length >= 16_384) break
    result += `${d}\n\n`
  }
  result = result.slice(0, 16_384)
  // The shipped default policy (unicode pack off: the pipeline's own detector covers hidden Unicode).
  const shipped = createRulesDetector()
  const normalized = textField(result, 'tool-result').normalized
  const field = { ...textField(result, 'tool-result'), normalized }
  const ctx = (): MessageContext => ({ tenantId: 'eval', direction: 'server_to_client', requestId: `b${++requestSeq}`, era: 'legacy' })
  const detectMicros = cpuMicros(1000, () => shipped.detect(field, ctx()))
  const normalizeMicros = cpuMicros(300, () => textField(result, 'tool-result').normalized)
  const all = docs.join('\n')
  const before = process.cpuUsage()
  for (let off = 0; off < all.length; off += 16_384) scan(all.slice(off, off + 16_384), 'tool-result', 'server_to_client', shipped)
  const used = process.cpuUsage(before)
  const secs = (used.user + used.system) / 1e6
  emit({ set: 'bench', kind: 'timing', toolResult16KiBMicros: Math.round(detectMicros), normalize16KiBMicros: Math.round(normalizeMicros), throughputMBps: round(all.length / 1e6 / secs), corpusChars: all.length })
}

if (want('gitleaks')) gitleaks()
if (want('llm_guard')) llmGuard()
if (want('pii')) piiFixtures()
benignSets()
attackSets()
if (args.bench) bench()

if (args.table) {
  console.log('\n| set | n | metric | value |\n|---|---|---|---|')
  for (const r of rows) {
    const metric = r['kind'] === 'benign' ? ['acts on', r['actRate']] : r['kind'] === 'attack' ? ['caught', r['recall']] : r['kind'] === 'secrets' ? ['tp recall / fp flagged', `${String(r['recall'])} / ${String(r['fpFlaggedRate'])}`] : r['kind'] === 'timing' ? ['rules µs + normalise µs per 16 KiB / MB/s end to end', `${String(r['toolResult16KiBMicros'])} + ${String(r['normalize16KiBMicros'])} / ${String(r['throughputMBps'])}`] : ['recall / precision', `${String(r['recall'])} / ${String(r['precision'])}`]
    console.log(`| ${String(r['set'])} | ${String(r['n'] ?? r['tp'] ?? r['positives'] ?? '')} | ${String(metric[0])} | ${String(metric[1])} |`)
  }
}
