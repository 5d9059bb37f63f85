/**
 * The client address a limit is keyed by. On Cloudflare every request from the Internet carries
 * `CF-Connecting-IP`, set by the edge (a client cannot choose it). Under `wrangler dev`, miniflare fills
 * it from the socket (127.0.0.1) only when the request has none, so local tests simulate clients by
 * sending it. A request without it (a service binding, an in-process test) has no client to attribute
 * and is limited by tenant only.
 */

/**
 * The limiter key for the caller, or `null` without `CF-Connecting-IP`. IPv6 addresses count as their
 * /64: one subscriber usually holds a whole /64, so per-address keys would be free to rotate.
 *
 * @example clientKey(new Headers({ 'cf-connecting-ip': '2001:db8:1:2:3::4' })) // '2001:db8:1:2::/64'
 */
export function clientKey(headers: Headers): string | null {
  const raw = headers.get('cf-connecting-ip')?.trim().toLowerCase()
  if (!raw) return null
  if (!raw.includes(':')) return raw
  const prefix = ipv6Prefix64(raw)
  return prefix ? `${prefix}::/64` : raw
}

/** The first four groups of an IPv6 address (leading zeros dropped), or `null` when it is not one. */
function ipv6Prefix64(ip: string): string | null {
  // An embedded IPv4 tail (::ffff:192.0.2.1) is the low 32 bits: it stands for two groups.
  const halves = ip.replace(/\d+\.\d+\.\d+\.\d+$/, '0:0').split('::')
  if (halves.length > 2) return null
  const groups = (part: string | undefined): string[] => (part ? part.split(':') : [])
  const head = groups(halves[0])
  const tail = groups(halves[1])
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null
  const all = [...head, ...Array<string>(missing).fill('0'), ...tail]
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null
  return all
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')
}
