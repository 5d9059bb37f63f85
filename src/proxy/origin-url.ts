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
  const host = url.hostname.toLowerCase()
  if (policy.ownHostnames.has(host)) return { ok: false, reason: "must not point at the firewall's own hostnames" }
  if (!policy.allowPrivate && isPrivateHost(host)) {
    return { ok: false, reason: 'private, loopback and link-local targets are not allowed' }
  }
  return { ok: true, url }
}

/** True for loopback, private, link-local, CGNAT, multicast and unspecified literals and local names. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
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

function isPrivateIPv6(host: string): boolean {
  if (host === '::' || host === '::1') return true
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)
  if (mapped?.[1]) {
    const v4 = parseIPv4(mapped[1])
    return v4 ? isPrivateIPv4(v4) : true
  }
  // ::ffff:7f00:1 style (URL parsing emits hex groups for mapped addresses).
  if (host.startsWith('::ffff:')) return true
  const first = parseInt(host.split(':')[0] || '0', 16)
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 // multicast
  )
}
