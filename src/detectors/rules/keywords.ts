/**
 * Keyword pre-filter: which of the packs' keywords occur in a text, in one pass.
 *
 * An Aho–Corasick automaton compiled to a dense transition table over a small alphabet, so a scan is
 * one table lookup per UTF-16 unit and needs no lower-cased copy of the text. Calling `includes` once
 * per keyword instead cost several milliseconds per 16 KB field with the shipped packs.
 *
 * Alphabet: each ASCII character used by a keyword gets its own class (shared with its upper-case
 * form); every other code unit falls into one of a few hashed classes. Sharing a class can only make
 * the filter report a keyword that is not there (the regex then runs and finds nothing), never miss
 * one, and it keeps the table small (≈ 60 columns × states, 16-bit entries).
 */

/** Which keywords (by id) occur in one text: `found` lists them, `has(id)` asks for one. */
export interface KeywordHits {
  readonly found: readonly number[]
  has(id: number): boolean
}

/** Most fields hit no keyword or a few: a short list answers `has` without a table per scan. */
const LIST_LOOKUP = 8

class Hits implements KeywordHits {
  #table: Uint8Array | undefined
  constructor(
    readonly found: readonly number[],
    private readonly size: number,
  ) {}

  has(id: number): boolean {
    if (this.found.length <= LIST_LOOKUP) return this.found.includes(id)
    if (this.#table === undefined) {
      this.#table = new Uint8Array(this.size)
      for (const k of this.found) this.#table[k] = 1
    }
    return this.#table[id] === 1
  }
}

const NO_HITS: KeywordHits = { found: [], has: () => false }

const HASHED = 8

export class KeywordIndex {
  private readonly ids = new Map<string, number>()
  private readonly classOf = new Uint8Array(65_536)
  private readonly width: number
  private readonly delta: Uint16Array | Uint32Array
  private readonly out: ReadonlyArray<readonly number[] | undefined>
  /** Keywords already reported by the running scan; cleared again before `scan` returns. */
  private readonly seen: Uint8Array

  constructor(keywords: Iterable<string>) {
    for (const k of keywords) if (k.length > 0 && !this.ids.has(k)) this.ids.set(k, this.ids.size)
    const list = [...this.ids.keys()]
    this.width = this.buildClasses(list)
    const { delta, out } = this.buildAutomaton(list)
    this.delta = delta
    this.out = out
    this.seen = new Uint8Array(this.ids.size)
  }

  /** Number of distinct keywords. */
  get size(): number {
    return this.ids.size
  }

  /** The id of a keyword, or undefined when it is not indexed. */
  id(keyword: string): number | undefined {
    return this.ids.get(keyword)
  }

  /** Which keywords (may) occur in `text`, case-insensitively. Never misses one that does. */
  scan(text: string): KeywordHits {
    let found: number[] | undefined
    const { classOf, delta, out, width, seen } = this
    let s = 0
    for (let i = 0; i < text.length; i++) {
      s = delta[s * width + (classOf[text.charCodeAt(i)] as number)] as number
      const o = out[s]
      if (o !== undefined)
        for (const k of o)
          if (seen[k] === 0) {
            seen[k] = 1
            ;(found ??= []).push(k)
          }
    }
    if (found === undefined) return NO_HITS
    for (const k of found) seen[k] = 0
    return new Hits(found, this.ids.size)
  }

  /** Classes: 0 for unused ASCII, one per used ASCII character (and its upper case), hashed otherwise. */
  private buildClasses(list: string[]): number {
    let next = 1 + HASHED
    for (let u = 0x80; u < 65_536; u++) this.classOf[u] = 1 + (u % HASHED)
    for (const k of list)
      for (let i = 0; i < k.length; i++) {
        const u = k.charCodeAt(i)
        if (u < 0x80 && this.classOf[u] === 0) {
          this.classOf[u] = next++
          const upper = String.fromCharCode(u).toUpperCase().charCodeAt(0)
          if (upper !== u) this.classOf[upper] = this.classOf[u] as number
        }
      }
    // Non-ASCII keyword letters also match their upper-case forms (e.g. Cyrillic, accented capitals).
    for (const k of list)
      for (let i = 0; i < k.length; i++) {
        const u = k.charCodeAt(i)
        const upper = k[i]?.toUpperCase() ?? ''
        if (u >= 0x80 && upper.length === 1) this.classOf[upper.charCodeAt(0)] = this.classOf[u] as number
      }
    return next
  }

  /** Trie, then breadth-first failure links folded into a complete transition table. */
  private buildAutomaton(list: string[]): { delta: Uint16Array | Uint32Array; out: Array<number[] | undefined> } {
    const w = this.width
    const capacity = 1 + list.reduce((n, k) => n + k.length, 0)
    const goto = new Int32Array(capacity * w).fill(-1)
    const out: Array<number[] | undefined> = new Array<number[] | undefined>(capacity)
    let states = 1
    list.forEach((k, id) => {
      let s = 0
      for (let i = 0; i < k.length; i++) {
        const cell = s * w + (this.classOf[k.charCodeAt(i)] as number)
        if (goto[cell] === -1) goto[cell] = states++
        s = goto[cell] as number
      }
      out[s] = [...(out[s] ?? []), id]
    })
    const delta = states <= 65_536 ? new Uint16Array(states * w) : new Uint32Array(states * w)
    const fail = new Int32Array(states)
    const queue = new Int32Array(states)
    let tail = 0
    for (let c = 0; c < w; c++) {
      const t = goto[c] as number
      if (t > 0) {
        delta[c] = t
        queue[tail++] = t
      }
    }
    for (let head = 0; head < tail; head++) {
      const s = queue[head] as number
      const f = fail[s] as number
      const inherited = out[f]
      if (inherited !== undefined) out[s] = [...(out[s] ?? []), ...inherited]
      for (let c = 0; c < w; c++) {
        const t = goto[s * w + c] as number
        if (t === -1) delta[s * w + c] = delta[f * w + c] as number
        else {
          delta[s * w + c] = t
          fail[t] = delta[f * w + c] as number
          queue[tail++] = t
        }
      }
    }
    out.length = states
    return { delta, out }
  }
}
