/**
 * What the budget counts (src/budget/tokens.ts): the o200k tokens of context text, per message kind,
 * and nothing else. Runs in workerd, so the tokenizer's lazy import is exercised where it ships.
 *
 * The counter is the firewall's own (src/budget/o200k-*.ts), so its exactness is proved here against
 * gpt-tokenizer's `countTokens` on generated text built to hit every alternative of the o200k split
 * pattern and every boundary between them (fixed seed), and the generated text is shown to be able to
 * catch a splitter that gets any one alternative wrong. `npm run eval:tokens` does the same over the
 * labelled data in ../shared/data.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { contextTexts, countTokens, loadTokenizer, messageTokens, tokenizerLoaded } from '../../src/budget/tokens'
import { createCounter, libraryInternals } from '../../src/budget/o200k-count'
import type { O200kModule } from '../../src/budget/o200k-count'
import { asciiPieceEnd, O200K_SPLIT_PATTERN } from '../../src/budget/o200k-scan'
import type { JsonRpcMessage } from '../../src/mcp/jsonrpc'
import { mulberry32 as rng } from '../support/random'

let o200k: O200kModule
/** gpt-tokenizer's own count, special-token strings as ordinary text (the budget's setting). */
let reference: (text: string) => number

beforeAll(async () => {
  await loadTokenizer()
  o200k = await import('gpt-tokenizer/encoding/o200k_base')
  reference = (text) => o200k.countTokens(text, { disallowedSpecial: new Set() })
})

const text = (t: string) => ({ type: 'text', text: t })
const result = (r: object, id = 1): JsonRpcMessage => ({ jsonrpc: '2.0', id, result: r as never })

describe('o200k counting', () => {
  it('loads lazily and counts exactly like o200k_base', () => {
    expect(tokenizerLoaded()).toBe(true)
    // Reference counts from gpt-tokenizer 4.0.0 o200k_base (tiktoken's o200k_base agrees).
    expect(countTokens('hello world')).toBe(2)
    expect(countTokens('The quick brown fox jumps over the lazy dog.')).toBe(10)
    expect(countTokens('')).toBe(0)
  })

  it('counts special-token strings as ordinary text instead of refusing them', () => {
    expect(countTokens('<|endoftext|>')).toBeGreaterThan(1)
  })
})

describe('context text per message', () => {
  const cases: Array<[string, JsonRpcMessage, 'client_to_server' | 'server_to_client', string | undefined, string[]]> = [
    ['tools/call arguments as compact JSON', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search', arguments: { q: 'cats', n: 3 } } }, 'client_to_server', undefined, ['{"q":"cats","n":3}']],
    ['prompts/get arguments', { jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'greet', arguments: { name: 'Ada' } } }, 'client_to_server', undefined, ['{"name":"Ada"}']],
    ['not tools/list or initialize', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, 'client_to_server', undefined, []],
    ['a client reply to sampling', result({ role: 'assistant', model: 'm', content: text('sampled answer') }), 'client_to_server', undefined, ['sampled answer']],
    ['tool result text and embedded resources, not images', result({ content: [text('a'), { type: 'image', data: 'AAAA', mimeType: 'image/png' }, { type: 'resource', resource: { uri: 'x:y', text: 'b' } }] }), 'server_to_client', 'tools/call', ['a', 'b']],
    ['structuredContent when there is no text block', result({ content: [], structuredContent: { k: 'v' } }), 'server_to_client', 'tools/call', ['{"k":"v"}']],
    ['structuredContent not twice', result({ content: [text('{"k":"v"}')], structuredContent: { k: 'v' } }), 'server_to_client', 'tools/call', ['{"k":"v"}']],
    ['a large structuredContent beside a small text', result({ content: [text('ok')], structuredContent: { rows: ['alpha beta gamma delta', 'epsilon zeta eta theta'] } }), 'server_to_client', 'tools/call', ['{"rows":["alpha beta gamma delta","epsilon zeta eta theta"]}']],
    ['a long text beside a small structuredContent', result({ content: [text('a long text of many words, more than the structured part')], structuredContent: { n: 1 } }), 'server_to_client', 'tools/call', ['a long text of many words, more than the structured part']],
    ['2026 input_required: the sampling requests it carries', result({ resultType: 'input_required', requestState: 's', inputRequests: { s1: { method: 'sampling/createMessage', params: { systemPrompt: 'sys', messages: [{ role: 'user', content: text('q') }], maxTokens: 5 } }, e1: { method: 'elicitation/create', params: { message: 'Name?' } } } }), 'server_to_client', 'tools/call', ['sys', 'q']],
    ['2026 input_required answering a prompts/get: its sampling requests too', result({ resultType: 'input_required', requestState: 's', inputRequests: { s1: { method: 'sampling/createMessage', params: { systemPrompt: 'sys', messages: [], maxTokens: 5 } } } }), 'server_to_client', 'prompts/get', ['sys']],
    ['2026 input_required answering a resources/read: its sampling requests too', result({ resultType: 'input_required', requestState: 's', inputRequests: { s1: { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: text('q') }], maxTokens: 5 } } } }), 'server_to_client', 'resources/read', ['q']],
    ['2026 retry: a sampled reply in inputResponses', { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 't', arguments: {}, inputResponses: { s1: { role: 'assistant', model: 'm', content: text('sampled') }, e1: { action: 'accept', content: { name: 'Bob' } } } } }, 'client_to_server', undefined, ['{}', 'sampled']],
    ['resources/read text, not blobs', result({ contents: [{ uri: 'a', text: 'doc' }, { uri: 'b', blob: 'AAAA' }] }), 'server_to_client', 'resources/read', ['doc']],
    ['prompts/get description and messages', result({ description: 'd', messages: [{ role: 'user', content: text('m1') }, { role: 'assistant', content: [text('m2')] }] }), 'server_to_client', 'prompts/get', ['d', 'm1', 'm2']],
    ['sampling request system prompt and messages', { jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: { systemPrompt: 'sys', messages: [{ role: 'user', content: text('q') }], maxTokens: 10 } }, 'server_to_client', undefined, ['sys', 'q']],
    ['sampling request tool uses and tool results in its messages', { jsonrpc: '2.0', id: 'srv-2', method: 'sampling/createMessage', params: { messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 'u1', name: 'search', input: { q: 'cats' } }] }, { role: 'user', content: [{ type: 'tool_result', toolUseId: 'u1', content: [text('found'), { type: 'resource', resource: { uri: 'x:y', text: 'doc' } }] }, { type: 'tool_result', toolUseId: 'u2', content: [], structuredContent: { n: 1 } }] }], maxTokens: 10 } }, 'server_to_client', undefined, ['{"q":"cats"}', 'found', 'doc', '{"n":1}']],
    ['a client reply to sampling that uses a tool', result({ role: 'assistant', model: 'm', content: [{ type: 'tool_use', id: 'u3', name: 'search', input: { q: 'dogs' } }] }), 'client_to_server', undefined, ['{"q":"dogs"}']],
    ['a result recognised by shape when its request is unknown', result({ content: [text('late')] }), 'server_to_client', undefined, ['late']],
    ['not tools/list results', result({ tools: [{ name: 't', description: 'long description', inputSchema: { type: 'object' } }] }), 'server_to_client', 'tools/list', []],
    ['a 2025 task status push: its status message', { jsonrpc: '2.0', method: 'notifications/tasks/status', params: { taskId: 't1', status: 'working', statusMessage: 'halfway there' } }, 'server_to_client', undefined, ['halfway there']],
    ['a 2026 task push: its status message and its result', { jsonrpc: '2.0', method: 'notifications/tasks', params: { taskId: 't1', status: 'completed', statusMessage: 'done', result: { content: [text('final')] } } }, 'server_to_client', undefined, ['final', 'done']],
    ['a 2026 status-only task push with input requests: its status message', { jsonrpc: '2.0', method: 'notifications/tasks', params: { taskId: 't1', status: 'input_required', statusMessage: 'needs you', inputRequests: { e1: { method: 'elicitation/create', params: { message: 'Name?' } } } } }, 'server_to_client', undefined, ['needs you']],
    ['a 2025 tasks/get result (the task itself): its status message', result({ taskId: 't1', status: 'working', statusMessage: 'still going' }), 'server_to_client', 'tasks/get', ['still going']],
    ['a 2026 tasks/get result: its final result and its status message', result({ resultType: 'complete', taskId: 't1', status: 'completed', statusMessage: 'done', result: { content: [text('final')] } }), 'server_to_client', 'tasks/get', ['final', 'done']],
    ['a tasks/cancel result: its status message', result({ taskId: 't1', status: 'cancelled', statusMessage: 'stopped by the user' }), 'server_to_client', 'tasks/cancel', ['stopped by the user']],
    ['a 2026 tasks/update result: its status message', result({ resultType: 'complete', taskId: 't1', status: 'working', statusMessage: 'resumed' }), 'server_to_client', 'tasks/update', ['resumed']],
    ['a tasks/list result: every status message', result({ tasks: [{ taskId: 't1', status: 'working', statusMessage: 'one' }, { taskId: 't2', status: 'failed' }, { taskId: 't3', status: 'failed', statusMessage: 'three' }] }), 'server_to_client', 'tasks/list', ['one', 'three']],
    ['a 2025 task-augmented call answered with its task: the status message', result({ task: { taskId: 't1', status: 'working', statusMessage: 'queued' } }), 'server_to_client', 'tools/call', ['queued']],
    ['a 2026 call answered with a task handle: the status message', result({ resultType: 'task', taskId: 't1', status: 'working', statusMessage: 'queued' }), 'server_to_client', 'tools/call', ['queued']],
    ['not a status message of a tool result that is no task', result({ content: [text('a')], statusMessage: 'not a task' }), 'server_to_client', 'tools/call', ['a']],
    ['a task recognised by shape when its request is unknown', result({ task: { taskId: 't1', status: 'working', statusMessage: 'queued' } }), 'server_to_client', undefined, ['queued']],
    ['not notifications', { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'log line' } }, 'server_to_client', undefined, []],
    ['an error message a client may hand its model', { jsonrpc: '2.0', id: 1, error: { code: -1, message: 'failed badly' } }, 'server_to_client', 'tools/call', ['failed badly']],
    ['an error data string, and data as JSON', { jsonrpc: '2.0', id: 1, error: { code: -1, message: 'm', data: 'trace' } }, 'server_to_client', undefined, ['m', 'trace']],
    ['error data as compact JSON', { jsonrpc: '2.0', id: null, error: { code: -1, message: 'm', data: { rows: [1, 2] } } }, 'server_to_client', undefined, ['m', '{"rows":[1,2]}']],
    ['not a client error reply to the origin', { jsonrpc: '2.0', id: 's1', error: { code: -1, message: 'declined' } }, 'client_to_server', undefined, []],
  ]
  it.each(cases)('%s', (_name, message, direction, answers, expected) => {
    expect(contextTexts(message, direction, answers)).toEqual(expected)
    expect(messageTokens(message, direction, answers)).toBe(expected.reduce((n, t) => n + countTokens(t), 0))
  })
})

/** Characters chosen per class of the split pattern, ASCII and not, including the awkward ones. */
const ALPHABET = {
  lower: 'abcdefghijklmnopqrstuvwxyz',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  contraction: ['s', 'S', 't', 'T', 'd', 'D', 'm', 'M', 'll', 'LL', 'lL', 'Ll', 've', 'VE', 'vE', 're', 'Re', 'rE', 'l', 'v', 'r', 'x', ''],
  punctuation: `!"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}~`,
  controls: ['\x00', '\x01', '\x08', '\x0e', '\x1b', '\x1c', '\x1f', '\x7f'],
  // JS \s in ASCII (and CR/LF, which may not prefix a word).
  blanks: [' ', ' ', ' ', '\t', '\f', '\v'],
  newlines: ['\n', '\r\n', '\r', '\n\n', '\r\r\n'],
  // Non-ASCII: Ll, Lu, Lt, Lm, Lo, marks (Mn, Mc), numbers (Nd, No, Nl), whitespace, symbols, astral.
  letters: ['é', 'É', 'ß', 'ñ', 'Ω', 'ω', 'ж', 'Ж', 'ǅ', 'ᾈ', 'ʰ', 'ˈ', '々', 'ー', '中', '文', 'ア', '한', 'ا', 'ש', 'क', 'ก', '𝐀', '𝐚', '𠀋'],
  marks: ['\u0301', '\u0308', '\u093e', '\u0903', '\u0e31', '\u20dd', '\ufe0f'],
  numbers: ['²', '½', '٣', '१', 'Ⅻ', '𝟙', '①'],
  spaces: ['\u00a0', '\u2003', '\u3000', '\u2028', '\u2029', '\u0085', '\ufeff', '\u180e', '\u200b'],
  symbols: ['—', '…', '’', '‘', '“', '”', '•', '€', '├', '─', '→', '©', '😀', '👍🏽', '👨‍👩‍👧', '🇺🇸', '🔴', '\u{e0041}'],
  surrogates: ['\ud800', '\udfff', '\udbff\ud800'],
  special: ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|fim_prefix|>', '<|endofprompt|>', '<|im_sep|>'],
} as const

/** Fragments that exercise one alternative of the pattern each, and the seams between them. */
function fragment(r: () => number): string {
  const pick = <T,>(xs: ArrayLike<T>): T => xs[Math.floor(r() * xs.length)] as T
  const run = (xs: ArrayLike<string>, max: number): string => Array.from({ length: 1 + Math.floor(r() * max) }, () => pick(xs)).join('')
  const word = (): string => {
    switch (Math.floor(r() * 6)) {
      case 0: return run(ALPHABET.lower, 9)
      case 1: return pick(ALPHABET.upper) + run(ALPHABET.lower, 8)
      case 2: return run(ALPHABET.upper, 6)
      case 3: return run(ALPHABET.upper, 4) + run(ALPHABET.lower, 4)
      case 4: return run(ALPHABET.lower, 3) + run(ALPHABET.upper, 3) + run(ALPHABET.lower, 3)
      default: return run([...ALPHABET.lower, ...ALPHABET.upper, ...ALPHABET.letters, ...ALPHABET.marks], 8)
    }
  }
  switch (Math.floor(r() * 16)) {
    case 0: return word()
    case 1: return word() + "'" + pick(ALPHABET.contraction) + (r() < 0.3 ? word() : '')
    case 2: return "'" + pick(ALPHABET.contraction) + (r() < 0.5 ? word() : '')
    case 3: return String(Math.floor(r() * 10_000_000)).slice(0, 1 + Math.floor(r() * 7))
    case 4: return run(ALPHABET.punctuation, 4) + (r() < 0.5 ? run(['\n', '\r', '/', '\r\n'], 3) : '')
    case 5: return run(ALPHABET.blanks, 5) + (r() < 0.5 ? word() : run(ALPHABET.punctuation, 2))
    case 6: return run([...ALPHABET.blanks, ...ALPHABET.newlines], 6)
    case 7: return pick(ALPHABET.newlines) + run(' ', 8)
    case 8: return run([...ALPHABET.letters, ...ALPHABET.marks], 5)
    case 9: return pick(ALPHABET.marks) + run([...ALPHABET.upper, ...ALPHABET.lower], 3)
    case 10: return run([...ALPHABET.numbers, ...'0123456789'], 5)
    case 11: return run([...ALPHABET.spaces, ' ', '\n'], 3)
    case 12: return run([...ALPHABET.symbols, ...ALPHABET.punctuation.slice(0, 6)], 4)
    case 13: return r() < 0.5 ? pick(ALPHABET.special) : '\ufeff' + run([...ALPHABET.letters, ...'名ងាa\n '], 3)
    case 14: return pick(ALPHABET.controls) + (r() < 0.5 ? word() : '')
    default: return r() < 0.5 ? pick(ALPHABET.surrogates) : pick([' ', '\n', '.', 'a'])
  }
}

/** Texts made of 1–12 fragments, and character-level noise over an alphabet of every class. */
function generated(count: number, seed: number): string[] {
  const r = rng(seed)
  const noise = [...'aZ\'sStTlLvVeErRdDmM09 ./\r\n\t\f\v!-_"', 'é', 'Ж', 'ǅ', 'ʰ', '中', '名', '²', '٣', '\u0301', '\u00a0', '\u3000', '\ufeff', '’', '😀', '\ud800']
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    if (i % 4 === 3) {
      out.push(Array.from({ length: 1 + Math.floor(r() * 40) }, () => noise[Math.floor(r() * noise.length)]).join(''))
    } else {
      out.push(Array.from({ length: 1 + Math.floor(r() * 12) }, () => fragment(r)).join(''))
    }
  }
  return out
}

/** Printable ASCII (plus tab and newlines) at random: the scanner alone decides every piece. */
function printable(count: number, seed: number): string[] {
  const r = rng(seed)
  const chars = '\t\n\r' + Array.from({ length: 95 }, (_, k) => String.fromCharCode(32 + k)).join('')
  return Array.from({ length: count }, () => Array.from({ length: 1 + Math.floor(r() * 80) }, () => chars[Math.floor(r() * chars.length)]).join(''))
}

/**
 * `bytes` (part of UTF-8 text) made whole, the way the text it came from may have been: leading
 * continuation bytes get the lead bytes of the fragment's first whole character (same script), the last
 * of them replaced by `variant` (0–63) if given, since the real neighbour is unknown; a truncated last
 * character gets the tail of the one before it. Undefined if that is still not UTF-8.
 */
function completeCharacters(bytes: readonly number[], variant?: number): string | undefined {
  const isContinuation = (b: number | undefined): boolean => b !== undefined && (b & 0xc0) === 0x80
  const size = (lead: number): number => (lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1)
  const out = [...bytes]
  let leading = 0
  while (isContinuation(out[leading])) leading++
  if (leading > 0) {
    const next = out[leading]
    // The first size(next) - leading bytes of the next character, so that the first one has its size.
    const lead = next !== undefined && size(next) > leading ? out.slice(leading, size(next)) : [[0xc3], [0xe1, 0x80], [0xf1, 0x80, 0x80]][leading - 1]
    if (lead === undefined) return undefined
    if (variant !== undefined) lead[lead.length - 1] = lead.length > 1 ? 0x80 + variant : 0xc2 + (variant % 30)
    out.unshift(...lead)
  }
  let last = out.length - 1
  while (last > 0 && isContinuation(out[last])) last--
  const need = size(out[last] as number)
  const have = out.length - last
  if (have < need) {
    let previous = last - 1
    while (previous > 0 && isContinuation(out[previous])) previous--
    const tail = size(out[previous] as number) === need ? out.slice(previous + have, previous + need) : []
    out.push(...(tail.length === need - have ? tail : new Array<number>(need - have).fill(0x80)))
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(new Uint8Array(out))
  } catch {
    return undefined
  }
}

/** Realistic shapes: JSON results, code, prose with typography, logs, Markdown tables, base64. */
const SHAPES = [
  JSON.stringify({ id: 42, name: "O'Brien's café", tags: ['a', 'b'], nested: { ok: true, n: -1.5e-7, empty: null } }, null, 2),
  JSON.stringify({ rows: Array.from({ length: 20 }, (_, k) => ({ k, v: `value ${k}`, url: `https://example.com/p/${k}?q=${k * 7}` })) }),
  'export function add(a: number, b: number): number {\n\treturn a + b // sum\n}\n\n\n  const x = [1, 2, 3].map((n) => n * 2);\r\n',
  "def f(x):\n    if x >= 10:  # ten\n        return x ** 2\n    return None\n\n\nclass HTTPServer(BaseHTTPRequestHandler):\n    pass\n",
  'The quick brown fox — they’re “quoted” and it’s fine… I\'M SURE we\'ll SEE. Don\'t; can\'t; won\'t; Y\'ALL\'D\'VE.',
  '2024-01-15T10:00:00Z INFO [main] GET /api/v1/users/12345?limit=100 200 12ms\n2024-01-15T10:00:01Z WARN retry=3/5\n',
  '| col | value |\n|---|---|\n| α | 1 |\n| β | 22 |\n\n- [x] done\n- [ ] todo\n',
  'aGVsbG8gd29ybGQhIFRoaXMgaXMgYmFzZTY0IGVuY29kZWQgdGV4dC4gMTIzNDU2Nzg5MA==/+//',
  '    \n\n\n        \t\t  \r\n   x   ',
  '日本語のテキストと English が混ざった文章です。한국어도 있습니다. Привет, мир! مرحبا بالعالم नमस्ते दुनिया',
  'e\u0301e\u0301 Cafe\u0301 A\u030a \u0301\u0301abc ǅungla ʰello ᾈβ',
  '<|endoftext|>Hello<|im_start|>system\n<|im_end|> <|fim_prefix|><|fim_middle|>',
  // The library decodes merge candidates with a TextDecoder, which drops a leading byte order mark.
  '\ufeff名 \ufeff\u1784\u17b6 \ufeffnamespace \ufeff\n\ufeff\ufeff名字 x\ufeff名',
]

describe('exact o200k counting', () => {
  it('uses the fast counter, whose library internals are where it expects them', () => {
    expect(libraryInternals(o200k)).toBeDefined()
    expect(createCounter(o200k).fast).toBe(true)
  })

  it('splits exactly like the library regex (the pattern it implements)', () => {
    const regex = new RegExp(O200K_SPLIT_PATTERN, 'gu')
    const sticky = new RegExp(O200K_SPLIT_PATTERN, 'uy')
    // The counter's walk: the scanner over UTF-8 bytes, the regex (at the UTF-16 offset) where it gives up.
    const split = (text: string): string[] => {
      const bytes = new TextEncoder().encode(text)
      const out: string[] = []
      for (let i = 0, u = 0; i < bytes.length; ) {
        const end = asciiPieceEnd(bytes, i, bytes.length)
        if (end >= 0) {
          out.push(text.slice(u, u + end - i))
          u += end - i
          i = end
          continue
        }
        sticky.lastIndex = u
        const piece = (sticky.exec(text) as RegExpExecArray)[0]
        out.push(piece)
        u += piece.length
        i += new TextEncoder().encode(piece).length
      }
      return out
    }
    const texts = [...generated(3000, 1), ...printable(1000, 2), ...SHAPES]
    let differing = 0
    for (const text of texts) {
      const expected = Array.from(text.matchAll(regex), (m) => m[0])
      if (JSON.stringify(split(text)) !== JSON.stringify(expected)) differing++
    }
    expect(differing).toBe(0)
  })

  it('never needs the regex on ASCII text', () => {
    for (const text of [...printable(500, 3), ...SHAPES.filter((s) => /^[\x00-\x7f]*$/.test(s))]) {
      const bytes = new TextEncoder().encode(text)
      for (let i = 0; i < bytes.length; ) {
        const end = asciiPieceEnd(bytes, i, bytes.length)
        expect(end).toBeGreaterThan(i)
        i = end
      }
    }
  })

  it('counts exactly what gpt-tokenizer counts, on first sight and from its caches', () => {
    const texts = [...generated(4000, 11), ...printable(1500, 12), ...SHAPES, ...SHAPES.map((s) => s.repeat(3))]
    const fresh = createCounter(o200k).count
    const wrong: string[] = []
    for (const pass of [1, 2]) {
      for (const text of texts) {
        const expected = reference(text)
        if (fresh(text) !== expected || countTokens(text) !== expected) wrong.push(`pass ${pass}: ${JSON.stringify(text)}`)
      }
    }
    expect(wrong.slice(0, 5)).toEqual([])
  })

  it('counts what follows a byte order mark as the library does', () => {
    // gpt-tokenizer 4.0.0 finds "\ufeff名" as the token "名" (its TextDecoder strips the mark): 1, not 2.
    for (const text of ['\ufeff名', ' \ufeff名', '\ufeff\u1784', '\ufeff\u1784\u17b6', '\ufeff名字']) expect(countTokens(text), JSON.stringify(text)).toBe(reference(text))
    expect(countTokens('\ufeff名')).toBe(1)
  })

  it('counts text around every token that is a fragment of a character', async () => {
    // Ranks stored as bytes, not strings: pieces of multi-byte characters, merged only in the middle of
    // a piece. Completing each to whole characters gives text whose merges go through those ranks.
    const { default: ranks } = await import('gpt-tokenizer/bpeRanks/o200k_base')
    const texts: string[] = []
    for (const entry of ranks) {
      if (typeof entry === 'string') continue
      const text = completeCharacters(entry)
      if (text !== undefined) texts.push(text, ' ' + text, text + text)
      // A fragment that starts inside a character: try every neighbour it might have followed.
      if (entry.length > 1 && ((entry[0] as number) & 0xc0) === 0x80) {
        for (let v = 0; v < 64; v++) {
          const variant = completeCharacters(entry, v)
          if (variant !== undefined) texts.push(variant)
        }
      }
    }
    expect(texts.length).toBeGreaterThan(12_000)
    const fresh = createCounter(o200k).count
    expect(texts.filter((t) => fresh(t) !== reference(t)).map((t) => JSON.stringify(t))).toEqual([])
  })

  it('counts long runs and long pieces exactly', () => {
    const texts = [' '.repeat(5000), '\n'.repeat(300), 'a'.repeat(3000), 'Ab'.repeat(1500), '='.repeat(2000) + '\n', '9'.repeat(1000), '中'.repeat(700), '😀'.repeat(300), 'x '.repeat(2000) + ' ', '\u00a0'.repeat(100) + 'a', '\ufeff' + 'ab'.repeat(100)]
    for (const text of texts) expect(countTokens(text), JSON.stringify(text.slice(0, 20))).toBe(reference(text))
  })

  it('merges pieces longer than 64 bytes (a heap, not rescans) in the library order', () => {
    // One piece each: a run of lower-case letters, of one script, of symbols, of blanks before the end.
    const r = rng(21)
    const pools = [ALPHABET.lower, 'etaoinshrdlu', ['中', '文', '字', '的', '一'], ['ж', 'и', 'з', 'н', 'ь'], ['😀', '👍🏽', '🇺🇸'], [...'=-_*#~'], ['é', 'e', 'è', 'a', '\u0301'], [' ', ' ', '\t']]
    const texts = Array.from({ length: 300 }, (_, k) => {
      const pool = pools[k % pools.length] as ArrayLike<string>
      return Array.from({ length: 40 + Math.floor(r() * 400) }, () => pool[Math.floor(r() * pool.length)]).join('')
    })
    const fresh = createCounter(o200k).count
    expect(texts.filter((t) => fresh(t) !== reference(t)).map((t) => JSON.stringify(t))).toEqual([])
  })

  it('leaves pieces longer than the merger takes to the library, with the same counts', () => {
    // In production that is past 512 KiB; here past 100 bytes, so that the hand-over itself is tested.
    const r = rng(22)
    const texts = Array.from({ length: 60 }, (_, k) => {
      const pool = k % 3 === 0 ? ALPHABET.lower : k % 3 === 1 ? '中文字的一' : ' \t'
      return 'x ' + Array.from({ length: 90 + Math.floor(r() * 200) }, () => pool[Math.floor(r() * pool.length)]).join('') + ' y\ud800'
    })
    const handsOver = createCounter(o200k, 100).count
    expect(texts.filter((t) => handsOver(t) !== reference(t)).map((t) => JSON.stringify(t))).toEqual([])
  })

  it('has no token longer than the counter assumes', async () => {
    const { LONGEST_TOKEN_BYTES } = await import('../../src/budget/o200k-ranks')
    const { default: ranks } = await import('gpt-tokenizer/bpeRanks/o200k_base')
    const longest = ranks.reduce((n, entry) => Math.max(n, typeof entry === 'string' ? new TextEncoder().encode(entry).length : entry.length), 0)
    expect(longest).toBe(LONGEST_TOKEN_BYTES)
  })

  // A splitter wrong in any one alternative must be caught by the generated text: each variant below
  // changes one part of the pattern, and some generated text must split differently under it.
  const VARIANTS: Array<[string, string, string]> = [
    ['contractions lower-case only', '[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]', 's|d|m|t|ll|ve|re'],
    ['no contractions', "(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?", ''],
    ['word prefix may be a newline', '[^\\r\\n\\p{L}\\p{N}]?', '[^\\p{L}\\p{N}]?'],
    ['numbers in fours', '\\p{N}{1,3}', '\\p{N}{1,4}'],
    ['numbers in ones', '\\p{N}{1,3}', '\\p{N}'],
    ['punctuation without trailing newlines and slashes', '[\\r\\n/]*', ''],
    ['punctuation without its leading space', ' ?[^\\s\\p{L}\\p{N}]+', '[^\\s\\p{L}\\p{N}]+'],
    ['newline runs without leading blanks', '\\s*[\\r\\n]+', '[\\r\\n]+'],
    ['no look-ahead', '\\s+(?!\\S)', '\\s+'],
    ['marks not letters', '[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]', '[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}]'],
  ]
  it.each(VARIANTS)('the generated text catches a splitter with %s', (_name, from, to) => {
    expect(O200K_SPLIT_PATTERN.includes(from)).toBe(true)
    const right = new RegExp(O200K_SPLIT_PATTERN, 'gu')
    const wrong = new RegExp(O200K_SPLIT_PATTERN.split(from).join(to), 'gu')
    const texts = [...generated(3000, 1), ...printable(1000, 2)]
    const caught = texts.filter((t) => JSON.stringify(Array.from(t.matchAll(right), (m) => m[0])) !== JSON.stringify(Array.from(t.matchAll(wrong), (m) => m[0])))
    expect(caught.length).toBeGreaterThan(0)
  })
})
