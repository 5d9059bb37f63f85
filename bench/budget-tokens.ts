/**
 * The budget's o200k counter, measured in Node: how long the tokenizer's lazy import takes, CPU per KB
 * over the labelled text in ../shared/data for gpt-tokenizer's own `countTokens` (old) and the firewall's
 * counter (src/budget/o200k-count.ts, new) — cold: first pass with empty caches (a new counter, the
 * library's merge cache cleared); warm: the same text again — whether the two ever disagree (they must
 * not: per-message and aggregate error 0), and how much the tokenizer adds to the Worker bundle (esbuild,
 * as wrangler bundles). `npm run eval:tokens` checks exactness over every data set.
 */
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { createCounter } from '../src/budget/o200k-count.js'

/** CPU per KB of UTF-8, first pass with empty caches and the same text again (median of three). */
export interface CounterSpeed {
  readonly coldMicrosPerKb: number
  readonly warmMicrosPerKb: number
}

/** One data set's figures. */
export interface TokenizerRow {
  readonly set: string
  readonly texts: number
  readonly kb: number
  readonly tokens: number
  readonly bytesPerToken: number
  /** gpt-tokenizer's `countTokens` (what the budget used before). */
  readonly library: CounterSpeed
  /** The firewall's counter. */
  readonly firewall: CounterSpeed
  /** Texts the two count differently (must be 0). */
  readonly mismatches: number
}

export interface TokenizerReport {
  readonly loadMs: number
  readonly bundleBytes: number
  readonly bundleGzipBytes: number
  readonly rows: readonly TokenizerRow[]
}

const DATA = fileURLToPath(new URL('../../shared/data/', import.meta.url))
const SETS: ReadonlyArray<readonly [string, string, string]> = [
  ['benign_documents', 'benign_documents/benign_documents.jsonl', 'text'],
  ['benign_prompts (23 languages)', 'benign_prompts/benign_prompts.jsonl', 'text'],
  ['mcp_tool_descriptions', 'mcp_tool_descriptions/mcp_tool_descriptions.jsonl', 'text'],
  ['injections_more', 'injections_more/malicious_injections.jsonl', 'text'],
]

function texts(path: string, field: string): string[] {
  return readFileSync(DATA + path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as Record<string, unknown>)[field])
    .filter((t): t is string => typeof t === 'string' && t.length > 0)
}

/** Bytes the tokenizer adds to a bundle built the way wrangler builds the Worker (ESM, not minified). */
async function bundleSize(): Promise<{ raw: number; gzip: number }> {
  const out = await build({
    stdin: { contents: "export { countTokens } from 'gpt-tokenizer/encoding/o200k_base'", resolveDir: fileURLToPath(new URL('..', import.meta.url)) },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'silent',
  })
  const code = out.outputFiles[0]?.contents ?? new Uint8Array()
  return { raw: code.byteLength, gzip: gzipSync(code).byteLength }
}

/** Cold and warm µs/KB of `count`, where `fresh` empties the caches and returns the counter to use. */
function speed(all: readonly string[], kb: number, fresh: () => (text: string) => number): CounterSpeed {
  const pass = (count: (text: string) => number): number => {
    const t = performance.now()
    for (const text of all) count(text)
    return performance.now() - t
  }
  const colds: number[] = []
  const warms: number[] = []
  for (let r = 0; r < 3; r++) {
    const count = fresh()
    colds.push(pass(count))
    warms.push(pass(count))
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[1] ?? NaN
  return { coldMicrosPerKb: (median(colds) * 1000) / kb, warmMicrosPerKb: (median(warms) * 1000) / kb }
}

/** Runs the tokenizer measurements (about a minute). */
export async function measureTokenizer(log: (line: string) => void): Promise<TokenizerReport> {
  const started = performance.now()
  const o200k = await import('gpt-tokenizer/encoding/o200k_base')
  const options = { disallowedSpecial: new Set<string>() }
  const library = (text: string): number => o200k.countTokens(text, options)
  library('warm up')
  const loadMs = performance.now() - started
  const fresh = {
    library: () => {
      o200k.clearMergeCache()
      return library
    },
    firewall: () => {
      o200k.clearMergeCache()
      return createCounter(o200k).count
    },
  }
  const rows: TokenizerRow[] = []
  for (const [set, path, field] of SETS) {
    if (!existsSync(DATA + path)) {
      log(`skip ${set}: ${DATA + path} not found`)
      continue
    }
    const all = texts(path, field)
    const bytes = all.reduce((n, t) => n + Buffer.byteLength(t), 0)
    const kb = bytes / 1024
    const check = fresh.firewall()
    let tokens = 0
    let mismatches = 0
    for (const text of all) {
      const expected = library(text)
      tokens += expected
      if (check(text) !== expected) mismatches++
    }
    const row = { set, texts: all.length, kb: Math.round(kb), tokens, bytesPerToken: bytes / tokens, library: speed(all, kb, fresh.library), firewall: speed(all, kb, fresh.firewall), mismatches }
    rows.push(row)
    const f = (s: CounterSpeed): string => `cold ${s.coldMicrosPerKb.toFixed(0)} µs/KB, warm ${s.warmMicrosPerKb.toFixed(0)} µs/KB`
    log(`${set}: ${all.length} texts, ${row.kb} KB, ${tokens} tokens, ${mismatches} mismatches; library ${f(row.library)}; firewall ${f(row.firewall)}`)
  }
  const size = await bundleSize()
  return { loadMs, bundleBytes: size.raw, bundleGzipBytes: size.gzip, rows }
}
