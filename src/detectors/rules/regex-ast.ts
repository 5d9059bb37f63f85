/**
 * A small parser for JavaScript regular expression sources (the subset shipped packs use), producing
 * the tree the backtracking lint (`lint.ts`) reasons about. It does not need to be a full parser:
 * anything it does not understand is an error, so an unusual construct fails the lint rather than
 * slipping through unchecked.
 */

export type RegexNode =
  /** Consumes exactly one character; `src` is a stand-alone regex for that character set. */
  | { t: 'atom'; src: string; literal?: string }
  /** Zero-width: ^ $ \b \B. */
  | { t: 'assert' }
  /** (…), (?:…), (?<name>…). */
  | { t: 'group'; alts: RegexNode[][] }
  /** (?=…), (?!…), (?<=…), (?<!…). */
  | { t: 'look'; alts: RegexNode[][] }
  | { t: 'rep'; node: RegexNode; min: number; max: number }

/** Thrown for syntax the lint does not accept. */
export class RegexLintError extends Error {}

const SYNTAX = '^$\\.*+?()[]{}|/-'

/** Parses a pattern into alternatives of sequences. */
export function parseRegex(pattern: string): RegexNode[][] {
  let i = 0
  const peek = (): string => pattern[i] ?? ''
  const fail = (msg: string): never => {
    throw new RegexLintError(`${msg} at offset ${i}`)
  }

  function parseAlternation(): RegexNode[][] {
    const alts: RegexNode[][] = [parseSeq()]
    while (peek() === '|') {
      i++
      alts.push(parseSeq())
    }
    return alts
  }

  function parseSeq(): RegexNode[] {
    const items: RegexNode[] = []
    while (i < pattern.length && peek() !== '|' && peek() !== ')') {
      const atom = parseAtom()
      const q = parseQuantifier()
      if (q === null) {
        items.push(atom)
        continue
      }
      if (atom.t === 'assert' || atom.t === 'look') fail('quantified assertion')
      items.push({ t: 'rep', node: atom, min: q.min, max: q.max })
    }
    return items
  }

  function parseQuantifier(): { min: number; max: number } | null {
    const c = peek()
    let q: { min: number; max: number } | null = null
    if (c === '*') q = { min: 0, max: Infinity }
    else if (c === '+') q = { min: 1, max: Infinity }
    else if (c === '?') q = { min: 0, max: 1 }
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i))
      if (m === null) return fail('stray {')
      const min = Number(m[1])
      const max = m[2] === undefined ? min : m[3] === '' || m[3] === undefined ? Infinity : Number(m[3])
      if (max < min) fail('quantifier range out of order')
      i += m[0].length - 1
      q = { min, max }
    }
    if (q === null) return null
    i++
    if (peek() === '?') i++ // lazy: same language, same cost model
    return q
  }

  function parseClass(): RegexNode {
    const start = i
    i++ // [
    if (peek() === '^') i++
    if (peek() === ']') i++ // a leading ] is literal only outside u mode; let RegExp reject it
    while (i < pattern.length && peek() !== ']') {
      if (peek() === '\\') i += 2
      else if (peek() === '[') fail('nested class')
      else i++
    }
    if (peek() !== ']') fail('unterminated class')
    i++
    return { t: 'atom', src: pattern.slice(start, i) }
  }

  function parseEscape(): RegexNode {
    const start = i
    i++ // backslash
    const c = peek()
    i++
    if (c === 'b' || c === 'B') return { t: 'assert' }
    if ('dDwWsS'.includes(c)) return { t: 'atom', src: `\\${c}` }
    if (c === 'p' || c === 'P') {
      const m = /^\{[A-Za-z_=]+\}/.exec(pattern.slice(i))
      if (m === null) return fail('bad \\p escape')
      i += m[0].length
      return { t: 'atom', src: pattern.slice(start, i) }
    }
    if (c === 'x') {
      if (!/^[0-9a-fA-F]{2}/.test(pattern.slice(i))) fail('bad \\x escape')
      i += 2
      return { t: 'atom', src: pattern.slice(start, i) }
    }
    if (c === 'u') {
      const m = /^(?:\{[0-9a-fA-F]{1,6}\}|[0-9a-fA-F]{4})/.exec(pattern.slice(i))
      if (m === null) return fail('bad \\u escape')
      i += m[0].length
      return { t: 'atom', src: pattern.slice(start, i) }
    }
    if (c === 'c') {
      i++
      return { t: 'atom', src: pattern.slice(start, i) }
    }
    if (c === 'k' || /[1-9]/.test(c)) return fail('backreference')
    if ('0nrtfv'.includes(c)) return { t: 'atom', src: `\\${c}` }
    if (SYNTAX.includes(c)) return { t: 'atom', src: `\\${c}`, literal: c }
    return fail(`unknown escape \\${c}`)
  }

  function parseAtom(): RegexNode {
    const c = peek()
    if (c === '(') {
      i++
      let look = false
      if (pattern.startsWith('?:', i)) i += 2
      else if (pattern.startsWith('?=', i) || pattern.startsWith('?!', i)) {
        i += 2
        look = true
      } else if (pattern.startsWith('?<=', i) || pattern.startsWith('?<!', i)) {
        i += 3
        look = true
      } else if (pattern.startsWith('?<', i)) {
        const m = /^\?<[A-Za-z_][A-Za-z0-9_]*>/.exec(pattern.slice(i))
        if (m === null) fail('bad group name')
        else i += m[0].length
      } else if (peek() === '?') fail('unsupported group modifier')
      const alts = parseAlternation()
      if (peek() !== ')') fail('unterminated group')
      i++
      return look ? { t: 'look', alts } : { t: 'group', alts }
    }
    if (c === '[') return parseClass()
    if (c === '\\') return parseEscape()
    if (c === '^' || c === '$') {
      i++
      return { t: 'assert' }
    }
    if (c === '.') {
      i++
      return { t: 'atom', src: '.' }
    }
    if ('*+?{'.includes(c)) return fail('nothing to repeat')
    if (c === ')' || c === ']' || c === '}') return fail(`unbalanced ${c}`)
    const cp = pattern.codePointAt(i) ?? 0
    const ch = String.fromCodePoint(cp)
    i += ch.length
    return { t: 'atom', src: ch, literal: ch }
  }

  const alts = parseAlternation()
  if (i < pattern.length) fail('unbalanced )')
  return alts
}

/**
 * The fewest code units any match of the pattern spans: an atom takes at least one, a repetition its
 * minimum times its body's, a group or alternation its shortest branch; assertions and lookarounds take
 * none. A text shorter than this holds no match.
 */
export function minLength(alts: readonly RegexNode[][]): number {
  let least = Infinity
  for (const seq of alts) {
    let n = 0
    for (const node of seq) n += nodeMinLength(node)
    least = Math.min(least, n)
  }
  return least
}

function nodeMinLength(node: RegexNode): number {
  if (node.t === 'atom') return 1
  if (node.t === 'group') return minLength(node.alts)
  if (node.t === 'rep') return node.min * nodeMinLength(node.node)
  return 0
}
