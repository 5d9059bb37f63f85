/**
 * A readable diff of two pinned definitions for reviewers: both pretty-printed with sorted keys, then a
 * line diff (longest common subsequence) shown as hunks with two lines of context, `-` for the approved
 * definition and `+` for the one under review.
 */
import type { JsonValue } from '../mcp/jsonrpc'

const CONTEXT = 2
/** Past this many lines on either side the diff is not computed (a reviewer reads the definitions). */
const MAX_LINES = 2_000

/** Pretty-printed canonical JSON (keys already sorted), one member per line. */
export function prettyDefinition(canonical: string): string[] {
  return JSON.stringify(JSON.parse(canonical) as JsonValue, null, 2).split('\n')
}

/**
 * Unified-style hunks between two canonical definitions; `before` null means everything is new.
 * @example definitionDiff('{"description":"a"}', '{"description":"b"}')
 *   // ['@@ 1 @@', ' {', '-  "description": "a"', '+  "description": "b"', ' }']
 */
export function definitionDiff(before: string | null, after: string): string[] {
  const b = before === null ? [] : prettyDefinition(before)
  const a = prettyDefinition(after)
  if (b.length > MAX_LINES || a.length > MAX_LINES) return ['(definitions too large to diff)']
  const ops = lcsOps(b, a)
  const out: string[] = []
  let i = 0
  while (i < ops.length) {
    if (ops[i]?.[0] === ' ') {
      i++
      continue
    }
    const start = Math.max(0, i - CONTEXT)
    let end = i
    // Extend the hunk while changes are closer than twice the context.
    for (let j = i; j < ops.length; j++) {
      if (ops[j]?.[0] !== ' ') end = j
      else if (j - end > CONTEXT * 2) break
    }
    const stop = Math.min(ops.length, end + CONTEXT + 1)
    out.push(`@@ ${(ops[start]?.[2] ?? 0) + 1} @@`)
    for (let k = start; k < stop; k++) {
      const op = ops[k]
      if (op) out.push(`${op[0]}${op[1]}`)
    }
    i = stop
  }
  return out
}

/** Edit script: [' ' | '-' | '+', line, line number in `after`]. */
function lcsOps(b: string[], a: string[]): Array<[' ' | '-' | '+', string, number]> {
  const n = b.length
  const m = a.length
  // lengths[i][j] = LCS of b[i..] and a[j..], in one flat array.
  const lengths = new Uint16Array((n + 1) * (m + 1))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lengths[i * (m + 1) + j] = b[i] === a[j] ? (lengths[(i + 1) * (m + 1) + j + 1] ?? 0) + 1 : Math.max(lengths[(i + 1) * (m + 1) + j] ?? 0, lengths[i * (m + 1) + j + 1] ?? 0)
    }
  }
  const ops: Array<[' ' | '-' | '+', string, number]> = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && b[i] === a[j]) ops.push([' ', b[i++] ?? '', j++])
    // Deletions before insertions, so a changed line reads "- old" then "+ new".
    else if (i < n && (j >= m || (lengths[(i + 1) * (m + 1) + j] ?? 0) >= (lengths[i * (m + 1) + j + 1] ?? 0))) ops.push(['-', b[i++] ?? '', j])
    else ops.push(['+', a[j] ?? '', j++])
  }
  return ops
}
