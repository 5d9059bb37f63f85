/**
 * Webhook signatures: `Mcp-Firewall-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, with
 * `Mcp-Firewall-Timestamp: <unix seconds>`. Signing the timestamp with the body lets a receiver refuse
 * replays outside a tolerance window. Web Crypto only, so receivers can import this file in Node ≥ 20,
 * Deno, Bun or a Worker (docs/webhooks.md).
 */

/** Header names of a delivery (HTTP header names are case-insensitive). */
export const WEBHOOK_HEADERS = {
  timestamp: 'Mcp-Firewall-Timestamp',
  signature: 'Mcp-Firewall-Signature',
  eventId: 'Mcp-Firewall-Event-Id',
} as const

/** Default replay window for {@link verifyWebhookSignature}, in seconds. */
export const DEFAULT_TOLERANCE_SEC = 300

/**
 * The most `v1=` entries {@link verifyWebhookSignature} considers: the firewall sends one, and a few leave
 * room for a sender rotating secrets. A header with more is refused whole, so a forged one cannot make a
 * receiver compute an HMAC per entry.
 */
export const MAX_SIGNATURE_ENTRIES = 8

const encoder = new TextEncoder()

// The key type is spelled through `importKey` so this file type-checks in Node receivers (no DOM lib) too.
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<HmacKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage])
}

/**
 * The `Mcp-Firewall-Signature` value for a body sent at `timestamp` (unix seconds).
 *
 * @example await signWebhook('whsec', 1700000000, '{"id":"…"}') // 'v1=5f2b…'
 */
export async function signWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), encoder.encode(`${timestamp}.${body}`))
  return `v1=${toHex(new Uint8Array(mac))}`
}

/**
 * Checks a delivery as a receiver should: the timestamp is within `toleranceSec` of `nowSec`, and one of
 * the `v1=` signatures in the header (comma-separated, so a sender can sign with an old and a new secret
 * while rotating) is the HMAC of `"<timestamp>.<body>"`. `body` must be the raw request body, byte for
 * byte, not re-serialised JSON. The comparison is constant time (Web Crypto `verify`). A header with more
 * than {@link MAX_SIGNATURE_ENTRIES} `v1=` entries is refused without computing any HMAC.
 *
 * @example
 * const ok = await verifyWebhookSignature(secret, req.headers.get('mcp-firewall-timestamp'),
 *   await req.text(), req.headers.get('mcp-firewall-signature'), 300)
 * if (!ok) return new Response('bad signature', { status: 401 })
 */
export async function verifyWebhookSignature(
  secret: string,
  timestamp: string | null | undefined,
  body: string,
  header: string | null | undefined,
  toleranceSec: number = DEFAULT_TOLERANCE_SEC,
  nowSec: number = Math.floor(Date.now() / 1000),
): Promise<boolean> {
  if (!secret || !timestamp || !header || !/^\d{1,12}$/.test(timestamp)) return false
  if (Math.abs(nowSec - Number(timestamp)) > toleranceSec) return false
  const entries = header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
  if (entries.length > MAX_SIGNATURE_ENTRIES) return false
  const candidates = entries.map((part) => fromHex(part.slice(3)))
  const key = await hmacKey(secret, 'verify')
  const data = encoder.encode(`${timestamp}.${body}`)
  for (const mac of candidates) {
    if (mac && mac.byteLength === 32 && (await crypto.subtle.verify('HMAC', key, mac, data))) return true
  }
  return false
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

function fromHex(s: string): Uint8Array | null {
  if (!/^(?:[0-9a-f]{2})+$/i.test(s)) return null
  const out = new Uint8Array(s.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16)
  return out
}
