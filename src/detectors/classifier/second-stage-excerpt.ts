/**
 * What of a field the second stage is sent: an excerpt of bounded length around the classifier's best
 * window, with every secret, PII value and lent credential in it masked, so that no value the client would
 * get redacted leaves for another service in clear.
 */
import type { Finding, ScanField } from '../../inspect/types'
import { normalize } from '../../inspect/normalize'
import { MIN_LENT_LENGTH } from '../../proxy/lent-secrets'

/** [start, end) of up to `max` characters of a text `length` long, centred on the classifier's best window. */
function excerptBounds(length: number, span: [number, number], max: number): [number, number] {
  if (length <= max) return [0, length]
  const mid = (span[0] + span[1]) >> 1
  const end = Math.min(length, Math.max(0, mid - (max >> 1)) + max)
  return [Math.max(0, end - max), end]
}

/** Values never sent in clear, each with the kind its marker names, longest first. */
export type Withheld = ReadonlyArray<readonly [value: string, kind: Finding['kind']]>

/**
 * What the DLP rules found in a message, as the values to mask in a text sent out: every secret or PII
 * value a finding covers (as written and as normalised, since items carry normalised text) becomes
 * `[REDACTED:<kind>]`, whatever the finding's action. The second stage judges instructions, not
 * credentials, and a secret the client would get redacted must not leave for another service in clear.
 * So do the values in `lent` (what the firewall lent the origin, 8 characters or longer, as
 * src/proxy/lent-secrets.ts scrubs them): no rule pack knows them for secrets, and an origin may echo them.
 */
export function withheldValues(findings: readonly Finding[], fieldOf: (f: Finding) => ScanField | undefined, lent: readonly string[] = []): Withheld {
  const values = new Map<string, Finding['kind']>()
  for (const v of lent) if (v.length >= MIN_LENT_LENGTH) for (const w of [v, normalize(v).text]) if (w.length > 0) values.set(w, 'secret')
  for (const f of findings) {
    if ((f.kind !== 'secret' && f.kind !== 'pii') || !f.span) continue
    const raw = fieldOf(f)?.raw.slice(f.span[0], f.span[1])
    if (!raw) continue
    for (const v of [raw, normalize(raw).text]) if (v.length > 0) values.set(v, f.kind)
  }
  // Longest first, so a value that contains another is masked whole.
  return [...values].sort(([a], [b]) => b.length - a.length)
}

/**
 * Up to `max` characters of `text` centred on the classifier's best window, with every withheld value
 * masked. The window stops short of a value it would cut in two: the part inside would no longer match
 * the value, and most of a secret would go out in clear.
 * @example maskedExcerpt('key AKIA… here', [0, 14], 4000, [['AKIA…', 'secret']]) // 'key [REDACTED:secret] here'
 */
export function maskedExcerpt(text: string, span: [number, number], max: number, withheld: Withheld): string {
  let [start, end] = excerptBounds(text.length, span, max)
  if (withheld.length === 0) return text.slice(start, end)
  // Until nothing straddles an edge (moving one edge past a value can land it inside another).
  for (let moved = start > 0 || end < text.length; moved; ) {
    moved = false
    for (const [value] of withheld) {
      for (let at = text.indexOf(value, Math.max(0, start - value.length + 1)); at !== -1 && at < end; at = text.indexOf(value, at + 1)) {
        const stop = at + value.length
        const [s0, e0] = [start, end]
        if (at < start && stop > start) start = Math.min(stop, end)
        if (at < end && stop > end) end = Math.max(at, start)
        if (start !== s0 || end !== e0) moved = true
      }
    }
  }
  return withheld.reduce((t, [value, kind]) => t.split(value).join(`[REDACTED:${kind}]`), text.slice(start, end))
}
