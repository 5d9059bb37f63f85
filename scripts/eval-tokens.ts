/**
 * Exactness and speed of the budget's o200k counter (src/budget/o200k-count.ts) against gpt-tokenizer's
 * own `countTokens` (special-token strings as ordinary text, as the budget counts), over the text in
 * ../shared/data (read in place, never copied into the repository).
 *
 *   npm run eval:tokens -- [--data <dir>] [--rounds 3] [--sets benign_documents,bipia]
 *
 * Texts per data set (a folder): every string of every JSONL line and JSON file (a list of strings, such
 * as BIPIA's code lines, joined by newlines into one text), every other text file whole; duplicates once.
 * Parquet files are skipped (their rows are in the set's JSONL).
 *
 * Exactness: every text, and every JSONL record as compact JSON (the shape of a JSON tool result), is
 * counted by the library and by the firewall's counter, on first sight (a new counter) and again from its
 * caches (the counter `countTokens` uses). Any difference is printed, and the script exits 1.
 *
 * Speed: CPU per KB of UTF-8, library vs firewall, median of rounds (library and firewall interleaved;
 * a small set gets more rounds, so that each figure stands for about a megabyte counted per round):
 * - first sight: a new counter and an empty library merge cache, one pass (an isolate's first texts);
 * - new text: caches filled by the other half of the set, then a pass over this half (a warm isolate
 *   meeting text it has not seen, the common case);
 * - repeat: the same texts again.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import * as o200k from 'gpt-tokenizer/encoding/o200k_base'
import { createCounter } from '../src/budget/o200k-count'
import { countTokens, loadTokenizer } from '../src/budget/tokens'

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    sets: { type: 'string' },
  },
})
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dataDir = resolve(args.data ?? join(root, '../shared/data'))
const rounds = Math.max(1, Number(args.rounds))
const ORDINARY = { disallowedSpecial: new Set<string>() }
const library = (text: string): number => o200k.countTokens(text, ORDINARY)
const log = (line: string): void => void process.stderr.write(`${line}\n`)

interface DataSet {
  readonly name: string
  /** Texts to count (distinct). */
  readonly texts: readonly string[]
  /** JSONL records as compact JSON: checked for exactness only. */
  readonly records: readonly string[]
  readonly kb: number
}

/** Strings of a parsed JSON value; an array of strings becomes one text, its lines. */
function collect(value: unknown, out: Set<string>): void {
  if (typeof value === 'string') {
    if (value.length > 0) out.add(value)
  } else if (Array.isArray(value)) {
    if (value.length > 0 && value.every((v) => typeof v === 'string')) out.add(value.join('\n'))
    else for (const v of value) collect(v, out)
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) collect(v, out)
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? filesUnder(path) : [path]
    })
}

function readSet(name: string): DataSet {
  const texts = new Set<string>()
  const records: string[] = []
  for (const file of filesUnder(join(dataDir, name))) {
    if (file.endsWith('.parquet')) continue
    const content = readFileSync(file, 'utf8')
    if (content.includes('\u0000')) continue
    if (file.endsWith('.jsonl')) {
      for (const line of content.split('\n')) {
        if (line.trim() === '') continue
        const record = JSON.parse(line) as unknown
        collect(record, texts)
        records.push(JSON.stringify(record))
      }
    } else if (file.endsWith('.json')) {
      collect(JSON.parse(content), texts)
    } else {
      texts.add(content)
    }
  }
  const list = [...texts]
  return { name, texts: list, records, kb: list.reduce((n, t) => n + Buffer.byteLength(t), 0) / 1024 }
}

/** Texts whose firewall count differs from the library's, first sight and from the caches. */
function mismatches(set: DataSet): { checked: number; tokens: number; wrong: string[] } {
  const fresh = createCounter(o200k).count
  const wrong: string[] = []
  let tokens = 0
  const all = [...set.texts, ...set.records]
  for (const pass of ['first sight', 'cached']) {
    for (const text of all) {
      const expected = library(text)
      if (pass === 'first sight') tokens += expected
      const got = [fresh(text), countTokens(text)]
      if (got.some((n) => n !== expected)) wrong.push(`${pass}: library ${expected}, firewall ${got.join('/')}: ${JSON.stringify(text.slice(0, 120))}`)
    }
  }
  return { checked: all.length, tokens, wrong }
}

/** Milliseconds for one pass of `count` over `texts`. */
function pass(count: (text: string) => number, texts: readonly string[]): number {
  const t = performance.now()
  let sink = 0
  for (const text of texts) sink += count(text)
  const ms = performance.now() - t
  if (sink < 0) throw new Error('unreachable')
  return ms
}

interface Timing {
  firstSight: number
  newText: number
  repeat: number
}

/** One round for one counter kind: first sight, new text, repeat, in ms. */
function round(kind: 'library' | 'firewall', set: DataSet): Timing {
  const counter = (): ((text: string) => number) => {
    o200k.clearMergeCache()
    return kind === 'library' ? library : createCounter(o200k).count
  }
  const firstSight = pass(counter(), set.texts)
  const half = counter()
  const even = set.texts.filter((_, k) => k % 2 === 0)
  const odd = set.texts.filter((_, k) => k % 2 === 1)
  pass(half, even)
  const newText = pass(half, odd)
  const repeat = pass(half, set.texts)
  return { firstSight, newText, repeat }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}

if (!existsSync(dataDir)) {
  log(`no data at ${dataDir} (pass --data <dir>)`)
  process.exit(2)
}
await loadTokenizer()
if (!createCounter(o200k).fast) log('warning: the fast counter is off (gpt-tokenizer internals changed); timing the fallback')
const wanted = args.sets?.split(',')
const names = readdirSync(dataDir)
  .filter((n) => statSync(join(dataDir, n)).isDirectory())
  .filter((n) => !wanted || wanted.includes(n))
  .sort()
const sets = names.map(readSet)

let failed = false
const exact: string[] = []
for (const set of sets) {
  const m = mismatches(set)
  exact.push(`| ${set.name} | ${set.texts.length} | ${set.records.length} | ${m.tokens} | ${m.wrong.length} |`)
  log(`${set.name}: ${m.checked} texts and records, ${m.tokens} tokens, ${m.wrong.length} mismatches`)
  for (const w of m.wrong.slice(0, 10)) log(`  ${w}`)
  if (m.wrong.length > 0) failed = true
}

// Warm the JIT on both before timing anything.
for (const set of sets.slice(0, 3)) for (const kind of ['library', 'firewall'] as const) round(kind, { ...set, texts: set.texts.slice(0, 500) })

const speed: string[] = []
for (const set of sets) {
  const lib: Timing[] = []
  const fw: Timing[] = []
  // Small sets take a few ms a pass, too little to time once: at least ~1 MB counted per round asked for.
  for (let r = 0; r < Math.max(rounds, Math.ceil((rounds * 1024) / set.kb)); r++) {
    lib.push(round('library', set))
    fw.push(round('firewall', set))
  }
  const perKb = (ts: Timing[], key: keyof Timing, kb: number): number => (median(ts.map((t) => t[key])) * 1000) / kb
  const oddKb = set.texts.reduce((n, t, k) => (k % 2 === 1 ? n + Buffer.byteLength(t) : n), 0) / 1024
  const cells = (['firstSight', 'newText', 'repeat'] as const).map((key) => {
    const kb = key === 'newText' ? oddKb : set.kb
    const a = perKb(lib, key, kb)
    const b = perKb(fw, key, kb)
    return `${a.toFixed(0)} → ${b.toFixed(0)} (${(a / b).toFixed(1)}×)`
  })
  speed.push(`| ${set.name} | ${set.kb.toFixed(0)} | ${cells.join(' | ')} |`)
  log(`${set.name}: ${cells.join(', ')}`)
}

console.log('### Exactness (library vs firewall count per text, first sight and cached)\n')
console.log('| data set | texts | JSONL records | o200k tokens (texts + records) | mismatches |\n|---|---|---|---|---|')
console.log(exact.join('\n'))
console.log(`\n### Speed, CPU µs per KB (library → firewall, median of ${rounds}+ rounds)\n`)
console.log('| data set | KB | first sight | new text | repeat |\n|---|---|---|---|---|')
console.log(speed.join('\n'))
process.exit(failed ? 1 : 0)
