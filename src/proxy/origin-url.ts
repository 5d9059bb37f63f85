/**
 * Which URLs the firewall may send traffic to. The firewall is not an open proxy: origins come only from
 * tenant config, must be https in production, and never point at private, loopback or link-local
 * addresses or back at the firewall itself (DESIGN.md, "Security model"). The same rules apply to every
 * URL a tenant supplies (origins today; webhooks, JWKS and classifier endpoints later).
 */

export interface UrlPolicy {
  /** Local development only (`ALLOW_PRIVATE_ORIGINS=true` in .dev.vars): allows http and private targets. */
  allowPrivate: boolean
  /** Hostnames that reach this firewall (its own and every tenant's), refused as targets to avoid loops. */
  ownHostnames: ReadonlySet<string>
}

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string }

/** Checks a tenant-supplied URL against the origin rules. */
export function checkTargetUrl(raw: string, policy: UrlPolicy): UrlVerdict {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, reason: 'not a valid URL' }
  }
  if (url.username || url.password) return { ok: false, reason: 'credentials in the URL are not allowed' }
  if (url.hash) return { ok: false, reason: 'a fragment is not allowed' }
  if (url.protocol !== 'https:' && !(policy.allowPrivate && url.protocol === 'http:')) {
    return { ok: false, reason: 'must use https' }
  }
  // WHATWG URL parsing has already normalised IPv4 forms such as 0x7f.1 or 2130706433 to dotted quads.
  const host = canonicalHost(url.hostname)
  if (policy.ownHostnames.has(host)) return { ok: false, reason: "must not point at the firewall's own hostnames" }
  if (!policy.allowPrivate && isPrivateHost(host)) {
    return { ok: false, reason: 'private, loopback and link-local targets are not allowed' }
  }
  return { ok: true, url }
}

/**
 * A hostname as DNS resolves it: lower case, without the trailing dot of its fully qualified form
 * (`fw.example.` is `fw.example`, and must meet the same rules and route to the same tenant).
 */
export function canonicalHost(hostname: string): string {
  const host = hostname.toLowerCase()
  return host.endsWith('.') ? host.slice(0, -1) : host
}

/** True for loopback, private, link-local, CGNAT, multicast and unspecified literals and local names. */
export function isPrivateHost(hostname: string): boolean {
  const host = canonicalHost(hostname.replace(/^\[|\]$/g, ''))
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) return true
  const v4 = parseIPv4(host)
  if (v4) return isPrivateIPv4(v4)
  if (host.includes(':')) return isPrivateIPv6(host)
  return false
}

function parseIPv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host)
  if (!m) return null
  const parts = m.slice(1).map(Number)
  return parts.every((p) => p <= 255) ? parts : null
}

function isPrivateIPv4([a = 0, b = 0]: number[]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast and reserved
  )
}

/**
 * Loopback, unspecified, unique-local, link-local, site-local and multicast addresses, the reserved ::/8,
 * and every form that carries an IPv4 address or tunnels to one (mapped, compatible, translated, NAT64,
 * 6to4, Teredo): the IPv4 address inside decides where the packet goes, and none of these has a use as
 * a public origin.
 */
function isPrivateIPv6(host: string): boolean {
  const g = expandIPv6(host)
  if (!g) return true // not an address URL parsing would emit: refuse rather than guess
  const [a = 0, b = 0] = g
  return (
    // ::/8 is reserved as a whole: ::, ::1, IPv4-compatible ::a.b.c.d, mapped ::ffff:a.b.c.d, translated
    // ::ffff:0:a.b.c.d (SIIT) and whatever else lies there; none is a public origin.
    a < 0x0100 ||
    (a === 0x64 && b === 0xff9b) || // NAT64 64:ff9b::/96 and 64:ff9b:1::/48
    a === 0x2002 || // 6to4
    (a === 0x2001 && b === 0) || // Teredo
    (a === 0x2001 && b === 0x0db8) || // documentation
    (a === 0x0100 && g[1] === 0 && g[2] === 0 && g[3] === 0) || // discard-only 100::/64
    (a & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (a & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (a & 0xffc0) === 0xfec0 || // site-local fec0::/10 (deprecated)
    (a & 0xff00) === 0xff00 // multicast
  )
}

/** The eight 16-bit groups of an IPv6 literal in hex groups (URL parsing never emits a dotted tail), or null. */
function expandIPv6(host: string): number[] | null {
  const halves = host.split('::')
  if (halves.length > 2) return null
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((x) => (/^[0-9a-f]{1,4}$/.test(x) ? parseInt(x, 16) : NaN)))
  const head = parse(halves[0] ?? '')
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : []
  const fill = 8 - head.length - tail.length
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null
  const groups = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail]
  return groups.some(Number.isNaN) ? null : groups
}
