/**
 * An origin's `WWW-Authenticate` as a `passthrough` client may see it (mcp-protocol.md §2.3, Mode A). Its
 * `resource_metadata` names the origin's own metadata URL, often a private host the origin is reached at:
 * passed on, it tells every client where the origin is, and the SDK client fetches it directly, around
 * the firewall (or fails to, and OAuth breaks). On one of the tenant's hostnames the firewall serves the
 * discovery paths itself (discovery.ts), so that URL is moved onto the host the client addressed, same
 * path; any other `resource_metadata` is dropped with the rest of the challenge kept, so the status,
 * `error` and `scope` still reach the client and it falls back to discovery on the host it addressed.
 *
 * The header is parsed as RFC 9110 §11.6.1 defines it (several challenges, auth-params with quoted
 * strings and escapes, token68) and written again from the parsed parts; one that does not parse is
 * dropped whole. Clients read `resource_metadata` loosely (the SDK takes the first `resource_metadata=`
 * anywhere in the header), so no other part whose name or value mentions it is kept.
 */
import { isPrmPath } from './discovery'

export interface ChallengeHosts {
  /** The tenant's origin URL. */
  origin: URL
  /** The URL the client addressed when it is one of the tenant's hostnames; null on the shared host. */
  client: URL | null
}

interface AuthParam {
  name: string
  value: string
  quoted: boolean
}

interface Challenge {
  scheme: string
  token68?: string
  params: AuthParam[]
}

const TCHAR = "[!#$%&'*+.^_`|~0-9A-Za-z-]"
const SCHEME = new RegExp(`${TCHAR}+`, 'y')
const TOKEN68 = /[A-Za-z0-9._~+/-]+=*(?= *(?:,|$))/y
const PARAM = new RegExp(`(${TCHAR}+) *= *(?:(${TCHAR}+)|"((?:[^"\\\\]|\\\\.)*)")`, 'y')
/** The form every challenge the client sees has (the origin's, as headers.ts checks it, and the rewritten one). */
const WELL_FORMED = /^[\x20-\x7e]{1,1024}$/
const NAME = 'resource_metadata'

/** The challenge for the client, or null when it must be dropped (not well-formed, or too long once rewritten). */
export function clientChallenge(header: string, hosts: ChallengeHosts): string | null {
  const challenges = WELL_FORMED.test(header) ? parse(header) : null
  if (challenges === null) return null
  const out = challenges.map((c) => {
    const named = c.params.filter((p) => p.name.toLowerCase() === NAME)
    // A parameter name occurs once per challenge (RFC 9110 §11.2); which of two a client takes is anyone's guess.
    const url = named.length === 1 ? clientMetadataUrl(named[0]!.value, hosts) : null
    const params = c.params.flatMap((p): AuthParam[] => {
      if (p.name.toLowerCase() === NAME) return url === null ? [] : [{ name: NAME, value: url, quoted: true }]
      return mentions(p.name) || mentions(p.value) ? [] : [p]
    })
    return { scheme: c.scheme, ...(c.token68 !== undefined && !mentions(c.token68) ? { token68: c.token68 } : {}), params }
  })
  const text = out.map(serialize).join(', ')
  return WELL_FORMED.test(text) ? text : null
}

const mentions = (text: string): boolean => text.toLowerCase().includes(NAME)

/**
 * `value` on the host the client addressed: only the protected-resource metadata of the origin's host or of
 * that host, with nothing but a path (no credentials, query or fragment), the one thing the firewall serves.
 */
function clientMetadataUrl(value: string, hosts: ChallengeHosts): string | null {
  const url = URL.parse(value)
  if (url === null || hosts.client === null) return null
  if (url.origin !== hosts.origin.origin && url.origin !== hosts.client.origin) return null
  if (url.username || url.password || url.search || url.hash || value.includes('#') || value.includes('?')) return null
  return isPrmPath(url.pathname) ? `${hosts.client.origin}${url.pathname}` : null
}

/** `#challenge` (RFC 9110 §11.6.1, list syntax §5.6.1: empty elements allowed), or null when it is not that. */
function parse(header: string): Challenge[] | null {
  let at = 0
  const take = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = at
    const m = re.exec(header)
    if (m) at = re.lastIndex
    return m
  }
  const out: Challenge[] = []
  take(/[ ,]*/y)
  while (at < header.length) {
    const scheme = take(SCHEME)
    if (scheme === null) return null
    const challenge: Challenge = { scheme: scheme[0], params: [] }
    out.push(challenge)
    if (take(/ +/y)) {
      const token68 = take(TOKEN68)
      if (token68) challenge.token68 = token68[0]
      else {
        for (let param = take(PARAM); param; ) {
          const [, name, token, quoted] = param
          challenge.params.push(quoted === undefined ? { name: name!, value: token!, quoted: false } : { name: name!, value: quoted.replace(/\\(.)/g, '$1'), quoted: true })
          // A comma then either the next parameter or the next challenge (a scheme not followed by "=").
          const before = at
          param = take(/ *,[ ,]*/y) ? take(PARAM) : null
          if (!param) at = before
        }
      }
    }
    take(/ */y)
    if (at === header.length) break
    if (!take(/,[ ,]*/y)) return null
  }
  return out.length > 0 ? out : null
}

function serialize(c: Challenge): string {
  const rest = c.token68 ?? c.params.map((p) => `${p.name}=${p.quoted ? `"${p.value.replace(/["\\]/g, '\\$&')}"` : p.value}`).join(', ')
  return rest === '' ? c.scheme : `${c.scheme} ${rest}`
}
