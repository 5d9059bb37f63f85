/**
 * Post-match validators: cheap checks on a matched value that separate real card numbers, IBANs,
 * SSNs and secrets from look-alikes (order numbers, placeholders, hashes of nothing).
 */
import { decodeToText } from './decode'
import type { Validator } from './schema'

/** A compiled validator: true when the value passes. */
export type ValidatorFn = (value: string) => boolean

/** Luhn (mod 10) over the digits of `value`; 12–19 digits, not all the same digit. */
export function luhn(value: string): boolean {
  const digits = value.replace(/\D/g, '')
  if (digits.length < 12 || digits.length > 19) return false
  if (/^(\d)\1+$/.test(digits)) return false
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

// ISO 13616 registry lengths (a fact table, not a format we invent).
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21,
  CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18,
  FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26,
  IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24,
  ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29,
  PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23,
  ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
}

/** IBAN: known country code, the registered length, and mod-97 == 1. Spaces are ignored. */
export function iban(value: string): boolean {
  const s = value.replace(/[\s-]/g, '').toUpperCase()
  const expected = IBAN_LENGTHS[s.slice(0, 2)]
  if (expected === undefined || s.length !== expected || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false
  const rearranged = s.slice(4) + s.slice(0, 4)
  let rem = 0
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0)
    const n = code >= 65 ? code - 55 : code - 48
    rem = n >= 10 ? (rem * 100 + n) % 97 : (rem * 10 + n) % 97
  }
  return rem === 1
}

/** US SSN structure rules (SSA): area 001–899 except 666, group 01–99, serial 0001–9999. */
export function ssn(value: string): boolean {
  const d = value.replace(/\D/g, '')
  if (d.length !== 9) return false
  const area = Number(d.slice(0, 3))
  const group = Number(d.slice(3, 5))
  const serial = Number(d.slice(5))
  if (area === 0 || area === 666 || area >= 900 || group === 0 || serial === 0) return false
  // Widely published non-personal numbers (the Woolworth wallet card, the 1962 advertisement, 123-45-6789).
  return d !== '078051120' && d !== '219099999' && d !== '123456789'
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0
  const counts = new Map<string, number>()
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  const n = [...value].length
  let h = 0
  for (const c of counts.values()) {
    const p = c / n
    h -= p * Math.log2(p)
  }
  return h
}

/** Number of character classes present: lower, upper, digit, other. */
export function charsetClasses(value: string): number {
  return (
    Number(/[a-z]/.test(value)) + Number(/[A-Z]/.test(value)) + Number(/\d/.test(value)) + Number(/[^A-Za-z0-9]/.test(value))
  )
}

/** E.164-sized digit count, not a repeated digit, not shaped like a date (2024-01-15) or time. */
export function phone(value: string): boolean {
  const digits = value.replace(/\D/g, '')
  if (digits.length < 7 || digits.length > 15 || /^(\d)\1+$/.test(digits)) return false
  if (/^(?:19|20)\d\d[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12]\d|3[01])$/.test(value.trim())) return false
  return !/^\d{1,2}:\d{2}(?::\d{2})?$/.test(value.trim())
}

const PLACEHOLDER =
  /(?:[xX*#•.]{5}|0{6}|\.\.|<[^>]{0,40}>|\$\{|\$\(|\{\{|%\(|%s\b|your[_-]|[_-]here\b|here[_-]?$|changeme|placeholder|redacted|dummy|sample[_-]?(?:key|token|secret)|insert[_-]|replace[_-]?(?:me|with)|^(?:true|false|null|none|undefined|password|secret|token)$)/i

/**
 * True when the value is not a template placeholder: `xxxxx`, `000000`, one letter (not the base64 zero `A`) six times, `..`,
 * `<token>`, `${VAR}`, `{{var}}`, `your_api_key`, `…_here`, `changeme`, `redacted`, `dummy`.
 */
export function notPlaceholder(value: string): boolean {
  return !PLACEHOLDER.test(value) && !LETTER_RUN.test(value)
}

// Case-sensitive on purpose: `AAAAAA` is base64 for zero bytes and common in real keys.
const LETTER_RUN = /([B-Za-z])\1{5}/

/** Class of a character for sequence runs: 0 digit, 1 lower case, 2 upper case, -1 anything else. */
function seqClass(c: number): number {
  if (c >= 48 && c <= 57) return 0
  if (c >= 97 && c <= 122) return 1
  if (c >= 65 && c <= 90) return 2
  return -1
}

/**
 * Length of the longest run of consecutive ascending or descending characters of one class in `value`
 * (`3456` → 4, `klmnop` → 6, `FEDCBA` → 6, `a1b2` → 1). Used to reject hand-typed example keys.
 */
export function longestSequence(value: string): number {
  let best = value.length > 0 ? 1 : 0
  let up = 1
  let down = 1
  for (let i = 1; i < value.length; i++) {
    const a = value.charCodeAt(i - 1)
    const b = value.charCodeAt(i)
    const same = seqClass(a) !== -1 && seqClass(a) === seqClass(b)
    up = same && b === a + 1 ? up + 1 : 1
    down = same && b === a - 1 ? down + 1 : 1
    if (up > best) best = up
    if (down > best) best = down
  }
  return best
}

/**
 * Documented token prefixes and the characters their bodies are made of (the same charsets as this
 * pack's provider rules), all with random bodies. Prefixes are long or distinctive enough that an
 * ordinary value rarely starts with them; AWS's `AKIA`/`ASIA` are left out because words and passwords
 * do ("ASIAPACIFIC2024"), Slack's `xox…-` because its bodies start with numeric workspace and user ids.
 */
const VENDOR_BODIES: ReadonlyArray<readonly [prefix: string, body: RegExp]> = [
  ['dapi', /^[0-9a-f]+(?:-\d{1,2})?$/], // Databricks personal access token: lower-case hex, optional -N
  ['ghp_', /^[A-Za-z0-9]+$/], // GitHub classic PAT, OAuth, user-to-server, server-to-server, refresh
  ['gho_', /^[A-Za-z0-9]+$/],
  ['ghu_', /^[A-Za-z0-9]+$/],
  ['ghs_', /^[A-Za-z0-9]+$/],
  ['ghr_', /^[A-Za-z0-9]+$/],
  ['github_pat_', /^[A-Za-z0-9_]+$/], // GitHub fine-grained PAT
  ['glpat-', /^[A-Za-z0-9_.-]+$/], // GitLab PAT (routable ones carry `.`-separated parts)
  ['sk_live_', /^[A-Za-z0-9]+$/], // Stripe secret and restricted keys
  ['sk_test_', /^[A-Za-z0-9]+$/],
  ['rk_live_', /^[A-Za-z0-9]+$/],
  ['rk_test_', /^[A-Za-z0-9]+$/],
  ['sk-ant-', /^[A-Za-z0-9_-]+$/], // Anthropic
  ['sk-proj-', /^[A-Za-z0-9_-]+$/], // OpenAI project, service-account and admin keys
  ['sk-svcacct-', /^[A-Za-z0-9_-]+$/],
  ['sk-admin-', /^[A-Za-z0-9_-]+$/],
  ['AIza', /^[A-Za-z0-9_-]+$/], // Google API key
  ['npm_', /^[A-Za-z0-9]+$/], // npm access token
]

/** Shortest alphabet walk that marks a vendor-prefixed body as typed (random bodies: ~1e-7 per token). */
const VENDOR_WALK = 6

/**
 * False when `value` starts with a documented token prefix but is not shaped like that provider's
 * tokens: its body has characters the provider never issues (`dapi…defg5`, `ghp_your-token-here`,
 * `sk_live_…`) or is typed as an alphabet walk (`sk-ant-api03-abcdefgh…`; bodies are random, see
 * `longestSequence`). Such a value is a placeholder, a typo or an example, and a real one is reported by
 * the provider's own rule. Length is not checked, so a provider that lengthens its tokens still passes.
 */
export function vendorPrefixFormat(value: string): boolean {
  for (const [prefix, body] of VENDOR_BODIES) {
    if (!value.startsWith(prefix)) continue
    const rest = value.slice(prefix.length)
    return body.test(rest) && longestSequence(rest) < VENDOR_WALK
  }
  return true
}

const EXAMPLE_HOST =
  /(?:^|[@/.:])(?:example\.(?:com|org|net)|[a-z0-9-]+\.(?:example|test|invalid|localhost)|localhost|127\.0\.0\.1|0\.0\.0\.0|\[?::1\]?)(?:[:/?#]|$)/i

/** True unless the value names an RFC 2606 / RFC 6761 documentation or local host. */
export function notExampleHost(value: string): boolean {
  return !EXAMPLE_HOST.test(value)
}

/** True when `value` is a public unicast IPv4 or IPv6 address. */
export function publicIp(value: string): boolean {
  if (value.includes(':')) {
    const v = value.toLowerCase()
    return !(v === '::' || v === '::1' || /^f[cd]/.test(v) || /^fe[89ab]/.test(v) || /^ff/.test(v) || v.startsWith('2001:db8') || v.startsWith('::ffff:'))
  }
  const parts = value.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return false
  const [a = 0, b = 0, c = 0] = parts
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false
  if (a === 169 && b === 254) return false
  if (a === 172 && b >= 16 && b <= 31) return false
  if (a === 192 && b === 168) return false
  if (a === 100 && b >= 64 && b <= 127) return false
  if ((a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return false
  return true
}

/** Compiles one validator spec into a predicate. */
export function compileValidator(spec: Validator): ValidatorFn {
  switch (spec.type) {
    case 'luhn':
      return luhn
    case 'iban':
      return iban
    case 'ssn':
      return ssn
    case 'entropy': {
      const min = spec.min
      return (v) => shannonEntropy(v) >= min
    }
    case 'charset-mix': {
      const min = spec.min
      return (v) => charsetClasses(v) >= min
    }
    case 'has-digit':
      return (v) => /\d/.test(v)
    case 'not-placeholder':
      return notPlaceholder
    case 'not-sequential': {
      const min = spec.minRun
      return (v) => longestSequence(v) < min
    }
    case 'vendor-prefix-format':
      return vendorPrefixFormat
    case 'deny': {
      const words = spec.values.map((w) => w.toLowerCase())
      return (v) => {
        const lower = v.toLowerCase()
        return !words.some((w) => lower.includes(w))
      }
    }
    case 'decodes-to-text': {
      const { encoding } = spec
      const min = spec.minPrintable ?? 0.9
      return (v) => decodeToText(v, encoding, min) !== null
    }
    case 'phone':
      return phone
    case 'not-example-host':
      return notExampleHost
    case 'public-ip':
      return publicIp
  }
}
