/**
 * A readable structural diff of two JSON configs: one line per changed leaf, by dotted path.
 * @example diffConfigs({ a: 1 }, { a: 2, b: true }) // ['~ a: 1 → 2', '+ b: true']
 */
export function diffConfigs(before, after, path = '') {
  const out = []
  const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v)
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    for (const k of keys) {
      const p = path ? `${path}.${k}` : k
      if (!(k in after)) out.push(`- ${p}: ${JSON.stringify(before[k])}`)
      else if (!(k in before)) out.push(`+ ${p}: ${JSON.stringify(after[k])}`)
      else out.push(...diffConfigs(before[k], after[k], p))
    }
    return out
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push(`~ ${path || '(root)'}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`)
  return out
}
