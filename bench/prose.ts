/**
 * Deterministic, varied prose-like ASCII for benchmark payloads. Detection cost depends on content
 * (keyword pre-filters, regex scans, normalisation), so payloads read like the text a tool returns —
 * sentences of mixed words, numbers, identifiers and paragraph breaks — never one repeated character.
 * The vocabulary is deliberately benign so no rule pack should fire on it.
 */

import { mulberry32 as rng } from '../test/support/random.js'

const WORDS = (
  'the a of and to in for on with by from at as is was are were be has have had it its this that ' +
  'report summary quarter revenue customer order invoice shipment warehouse region account balance ' +
  'meeting agenda schedule project milestone release version build test deploy service latency ' +
  'request response record table column index query result value total average median growth ' +
  'north south east west morning evening weekly monthly annual daily update draft final review ' +
  'team member owner manager engineer analyst partner vendor supplier product feature roadmap ' +
  'increased decreased remained stable compared previous current expected estimated measured ' +
  'approximately roughly nearly about slightly significantly overall mostly partly several many ' +
  'river mountain garden library museum station harbor bridge market village forest valley coast'
).split(' ')

function sentence(next: () => number): string {
  const pick = (): string => WORDS[Math.floor(next() * WORDS.length)] ?? 'the'
  const n = 6 + Math.floor(next() * 14)
  const parts: string[] = []
  for (let i = 0; i < n; i++) {
    const r = next()
    if (r < 0.05) parts.push(String(Math.floor(next() * 100_000)))
    else if (r < 0.07) parts.push(`item_${Math.floor(next() * 1000)}`)
    else if (r < 0.09) parts.push(`${(next() * 100).toFixed(1)}%`)
    else parts.push(pick())
    if (i < n - 1 && next() < 0.08) parts[parts.length - 1] += ','
  }
  const first = parts[0] ?? 'the'
  parts[0] = first.charAt(0).toUpperCase() + first.slice(1)
  return parts.join(' ') + (next() < 0.9 ? '.' : '?')
}

/**
 * Prose of exactly `length` ASCII characters (sentences, with a paragraph break every few).
 *
 * @example
 * prose(1024, 1).length // 1024
 */
export function prose(length: number, seed = 1): string {
  const next = rng(seed)
  const out: string[] = []
  let size = 0
  let inParagraph = 0
  while (size < length) {
    const s = sentence(next)
    const sep = inParagraph > 3 + Math.floor(next() * 4) ? '\n\n' : ' '
    inParagraph = sep === ' ' ? inParagraph + 1 : 0
    out.push(s, sep)
    size += s.length + sep.length
  }
  return out.join('').slice(0, length)
}
