/**
 * Catastrophic-backtracking lint for the regexes in shipped packs (which run on V8's backtracking
 * engine because it is several times faster than re2js). Tenant rules never need it: they always run
 * on re2js, which is linear-time.
 *
 * A pattern passes when:
 * - every quantifier is bounded (no `*`, `+`, `{n,}`) and at most {@link MAX_REPEAT};
 * - no repeated item can match the empty string;
 * - inside a repeated group, every variable-length piece is unambiguous: the characters it may give
 *   back are disjoint from what can follow it (the next piece, or the next iteration), and the
 *   alternatives of a group cannot start the same way (literal words that are not prefixes of each
 *   other are fine) — this excludes `(a+)+`, `(\w+\s?)*`, `(a|ab)*` and their relatives;
 * - outside loops, two overlapping variable-length pieces in a row stay small (≤ {@link MAX_OVERLAP}),
 *   so a failing match costs at most a constant factor per start position.
 * Character sets are compared on a probe alphabet (ASCII plus representatives of other scripts,
 * spaces and invisibles), evaluated by the real engine with the rule's flags.
 */
import { parseRegex, RegexLintError, type RegexNode } from './regex-ast'

/** Largest repetition count allowed in a shipped pattern. */
export const MAX_REPEAT = 8192
/** Largest variable width allowed for an overlapping neighbour outside loops. */
export const MAX_OVERLAP = 128

const PROBES: string[] = [
  ...Array.from({ length: 128 }, (_, c) => String.fromCharCode(c)),
  '\u00a0', '\u00e9', '\u00df', '\u0416', '\u0436', '\u0627', '\u4e2d', '\u3042', '\u200b', '\u2028',
  '\ufeff', '\u0301', '\u{1f600}', '\u{e0041}', '\u0130', '\u017f', '\u212a', '\u2019', '\u00ad', '\uff41',
]

const setCache = new Map<string, bigint>()

function charSet(src: string, flags: string): bigint {
  const key = `${flags}/${src}`
  const hit = setCache.get(key)
  if (hit !== undefined) return hit
  const re = new RegExp(`^(?:${src})$`, flags)
  let bits = 0n
  PROBES.forEach((p, k) => {
    if (re.test(p)) bits |= 1n << BigInt(k)
  })
  setCache.set(key, bits)
  return bits
}

interface Ctx {
  flags: string
  problems: string[]
}

function minLen(n: RegexNode): number {
  switch (n.t) {
    case 'atom':
      return 1
    case 'assert':
    case 'look':
      return 0
    case 'group':
      return Math.min(...n.alts.map((a) => a.reduce((s, x) => s + minLen(x), 0)))
    case 'rep':
      return n.min * minLen(n.node)
  }
}

function maxLen(n: RegexNode): number {
  switch (n.t) {
    case 'atom':
      return 1
    case 'assert':
    case 'look':
      return 0
    case 'group':
      return Math.max(...n.alts.map((a) => a.reduce((s, x) => s + maxLen(x), 0)))
    case 'rep':
      return n.max === 0 ? 0 : n.max * maxLen(n.node)
  }
}

function first(n: RegexNode, c: Ctx): bigint {
  switch (n.t) {
    case 'atom':
      return charSet(n.src, c.flags)
    case 'assert':
    case 'look':
      return 0n
    case 'group':
      return n.alts.reduce((s, a) => s | firstSeq(a, 0, c), 0n)
    case 'rep':
      return n.max === 0 ? 0n : first(n.node, c)
  }
}

/** First set of items[from..]; stops at the first item that cannot be empty. */
function firstSeq(items: RegexNode[], from: number, c: Ctx): bigint {
  let s = 0n
  for (let k = from; k < items.length; k++) {
    const item = items[k]
    if (item === undefined) break
    s |= first(item, c)
    if (minLen(item) > 0) break
  }
  return s
}

function seqNullableFrom(items: RegexNode[], from: number): boolean {
  return items.slice(from).every((x) => minLen(x) === 0)
}

interface GiveBack {
  /** Characters at which a shorter match of the piece could end, letting what follows start there. */
  set: bigint
  /** How many shorter matches there are (backtracking positions per attempt). */
  width: number
}

/**
 * What a match of `n` may give back when backtracking. A repeated atom gives back characters; a
 * repeated delimited group (its body ends with a fixed piece) gives back whole iterations, so its
 * width is the number of optional iterations, not characters.
 */
function giveBack(n: RegexNode, c: Ctx): GiveBack {
  switch (n.t) {
    case 'atom':
    case 'assert':
    case 'look':
      return { set: 0n, width: 0 }
    case 'group':
      return n.alts.reduce(
        (acc, a) => {
          const g = giveBackSeq(a, c)
          return { set: acc.set | g.set, width: Math.max(acc.width, g.width) }
        },
        { set: 0n, width: 0 },
      )
    case 'rep': {
      const inner = giveBack(n.node, c)
      if (n.min === n.max) return inner
      return { set: first(n.node, c) | inner.set, width: n.max - n.min + inner.width }
    }
  }
}

function giveBackSeq(items: RegexNode[], c: Ctx): GiveBack {
  const acc: GiveBack = { set: 0n, width: 0 }
  for (let k = items.length - 1; k >= 0; k--) {
    const item = items[k]
    if (item === undefined) break
    const g = giveBack(item, c)
    acc.set |= g.set
    acc.width += g.width
    if (minLen(item) > 0) break
  }
  return acc
}

/** The literal characters an alternative starts with, and whether that is all of it. */
function leadingLiteral(items: RegexNode[]): { text: string; whole: boolean } {
  let text = ''
  for (const x of items) {
    if (x.t !== 'atom' || x.literal === undefined) return { text, whole: false }
    text += x.literal
  }
  return { text, whole: true }
}

/**
 * Whether two alternatives can match the same text. Literal prefixes that differ somewhere decide
 * "no" (`this` / `that` / `them?`); two whole literals overlap only when one is a prefix of the other;
 * otherwise first characters are compared.
 */
function altsOverlap(a: RegexNode[], b: RegexNode[], c: Ctx): boolean {
  const fold = c.flags.includes('i') ? (s: string) => s.toLowerCase() : (s: string) => s
  const la = leadingLiteral(a)
  const lb = leadingLiteral(b)
  const [x, y] = [fold(la.text), fold(lb.text)]
  const n = Math.min(x.length, y.length)
  if (n > 0 && x.slice(0, n) !== y.slice(0, n)) return false
  if (la.whole && lb.whole) return x.startsWith(y) || y.startsWith(x)
  return (firstSeq(a, 0, c) & firstSeq(b, 0, c)) !== 0n
}

function checkSeq(items: RegexNode[], follow: bigint, inLoop: boolean, c: Ctx): void {
  items.forEach((item, k) => {
    const after = firstSeq(items, k + 1, c) | (seqNullableFrom(items, k + 1) ? follow : 0n)
    const g = giveBack(item, c)
    if ((g.set & after) !== 0n) {
      if (inLoop) c.problems.push('ambiguous variable-length piece inside a repeated group (nested quantifier)')
      else if (g.width > MAX_OVERLAP)
        c.problems.push(`overlapping variable-length pieces wider than ${MAX_OVERLAP} in a row (polynomial backtracking)`)
    }
    checkNode(item, after, inLoop, c)
  })
}

function checkNode(n: RegexNode, follow: bigint, inLoop: boolean, c: Ctx): void {
  switch (n.t) {
    case 'atom':
    case 'assert':
      return
    case 'look':
      for (const alt of n.alts) checkSeq(alt, 0n, false, c)
      return
    case 'group':
      if (inLoop)
        for (let a = 0; a < n.alts.length; a++)
          for (let b = a + 1; b < n.alts.length; b++) {
            const x = n.alts[a]
            const y = n.alts[b]
            if (x !== undefined && y !== undefined && altsOverlap(x, y, c))
              c.problems.push('alternatives that can start alike inside a repeated group')
          }
      for (const alt of n.alts) checkSeq(alt, follow, inLoop, c)
      return
    case 'rep': {
      if (!Number.isFinite(n.max)) c.problems.push('unbounded quantifier (*, + or {n,}); use an explicit upper bound')
      else if (n.max > MAX_REPEAT) c.problems.push(`quantifier bound ${n.max} above ${MAX_REPEAT}`)
      if (n.max > 1) {
        if (minLen(n.node) === 0) c.problems.push('repeated item can match the empty string')
        checkNode(n.node, first(n.node, c) | follow, n.node.t !== 'atom' || inLoop, c)
      } else checkNode(n.node, follow, inLoop, c)
      return
    }
  }
}

/**
 * Lints one pattern. Returns human-readable problems; an empty list means the pattern is safe to run
 * on the backtracking engine.
 * @example lintPattern('(a+)+$', '') // → ['unbounded quantifier …', 'ambiguous variable-length piece …']
 */
export function lintPattern(pattern: string, flags: string): string[] {
  const jsFlags = `${flags}u`
  try {
    new RegExp(pattern, jsFlags)
  } catch (err) {
    return [`does not compile: ${err instanceof Error ? err.message : String(err)}`]
  }
  let alts: RegexNode[][]
  try {
    alts = parseRegex(pattern)
  } catch (err) {
    if (err instanceof RegexLintError) return [`unsupported syntax: ${err.message}`]
    throw err
  }
  const c: Ctx = { flags: jsFlags, problems: [] }
  checkNode({ t: 'group', alts }, 0n, false, c)
  return [...new Set(c.problems)]
}
