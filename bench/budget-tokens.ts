/**
 * The tokenizer the budget uses (gpt-tokenizer o200k_base), measured in Node: how long the lazy import
 * takes, CPU per KB over the labelled text in ../shared/data (cold: first pass, an empty merge cache;
 * warm: the same text again), and how much it adds to the Worker bundle (esbuild, as wrangler bundles).
 * The counts are exact (this is the encoder itself), so per-message and aggregate error are 0.
 */
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

/** One data set's figures. */
export interface TokenizerRow {
  readonly set: string
  readonly texts: number
  readonly kb: number
  readonly tokens: number
  readonly bytesPerToken: number
  readonly coldMicrosPerKb: number
  readonly warmMicrosPerKb: number
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

/** Runs the tokenizer measurements (about 15 s). */
export async function measureTokenizer(log: (line: string) => void): Promise<TokenizerReport> {
  const started = performance.now()
  const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base')
  const options = { disallowedSpecial: new Set<string>() }
  countTokens('warm up', options)
  const loadMs = performance.now() - started
  const rows: TokenizerRow[] = []
  for (const [set, path, field] of SETS) {
    if (!existsSync(DATA + path)) {
      log(`skip ${set}: ${DATA + path} not found`)
      continue
    }
    const all = texts(path, field)
    const bytes = all.reduce((n, t) => n + Buffer.byteLength(t), 0)
    const pass = (): { ms: number; tokens: number } => {
      const t = performance.now()
      let tokens = 0
      for (const text of all) tokens += countTokens(text, options)
      return { ms: performance.now() - t, tokens }
    }
    const cold = pass()
    const warm = [pass(), pass(), pass()].sort((a, b) => a.ms - b.ms)[1] ?? cold
    const kb = bytes / 1024
    rows.push({ set, texts: all.length, kb: Math.round(kb), tokens: cold.tokens, bytesPerToken: bytes / cold.tokens, coldMicrosPerKb: (cold.ms * 1000) / kb, warmMicrosPerKb: (warm.ms * 1000) / kb })
    log(`${set}: ${all.length} texts, ${Math.round(kb)} KB, ${cold.tokens} tokens, cold ${((cold.ms * 1000) / kb).toFixed(0)} µs/KB, warm ${((warm.ms * 1000) / kb).toFixed(0)} µs/KB`)
  }
  const size = await bundleSize()
  return { loadMs, bundleBytes: size.raw, bundleGzipBytes: size.gzip, rows }
}
