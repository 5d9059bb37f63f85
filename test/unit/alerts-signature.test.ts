/**
 * Webhook signatures: fixed vectors (computed independently with Python's hmac module), and the
 * receiver-side verification helper's refusals.
 */
import { describe, expect, it } from 'vitest'
import { signWebhook, verifyWebhookSignature } from '../../src/alerts/signature'

const SECRET = 'whsec_test_secret'
const TS = 1_700_000_000
const BODY = '{"id":"evt","type":"alert.test"}'
// python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test_secret", b"1700000000.{\"id\":\"evt\",\"type\":\"alert.test\"}", hashlib.sha256).hexdigest())'
const VECTOR = 'v1=9b56ba681117a3ff7a198abed999a9a9a19b442e8e651f5e0eb9245d9fd6b93c'

describe('webhook signature', () => {
  it.each([
    [SECRET, TS, BODY, VECTOR],
    ['key', 0, '', 'v1=85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d78e9e669c6337f000d'],
  ])('signs HMAC-SHA256("<timestamp>.<body>") as v1=<hex> (%s, %d)', async (secret, ts, body, expected) => {
    expect(await signWebhook(secret, ts, body)).toBe(expected)
  })

  it('verifies a signature within the tolerance, in either clock direction', async () => {
    for (const now of [TS, TS + 300, TS - 300]) {
      expect(await verifyWebhookSignature(SECRET, String(TS), BODY, VECTOR, 300, now)).toBe(true)
    }
  })

  it('accepts any one of several v1 signatures (secret rotation) and ignores other schemes', async () => {
    const other = await signWebhook('old-secret', TS, BODY)
    expect(await verifyWebhookSignature(SECRET, String(TS), BODY, `${other}, v0=abcd, ${VECTOR}`, 300, TS)).toBe(true)
    expect(await verifyWebhookSignature(SECRET, String(TS), BODY, VECTOR.toUpperCase().replace('V1=', 'v1='), 300, TS)).toBe(true)
  })

  it('considers at most 8 v1 entries: a longer header is refused whole, valid entry or not', async () => {
    // A forged header of thousands of entries must not make a receiver compute thousands of HMACs.
    const forged = (n: number) => Array.from({ length: n }, (_, i) => `v1=${i.toString(16).padStart(64, '0')}`)
    expect(await verifyWebhookSignature(SECRET, String(TS), BODY, [...forged(7), VECTOR].join(','), 300, TS)).toBe(true)
    expect(await verifyWebhookSignature(SECRET, String(TS), BODY, [...forged(8), VECTOR].join(','), 300, TS)).toBe(false)
    expect(await verifyWebhookSignature(SECRET, String(TS), BODY, [VECTOR, ...forged(5000)].join(','), 300, TS)).toBe(false)
    // Entries of other schemes are not counted: they cost no HMAC.
    expect(await verifyWebhookSignature(SECRET, String(TS), BODY, [...Array.from({ length: 20 }, () => 'v0=abcd'), VECTOR].join(','), 300, TS)).toBe(true)
  })

  it.each([
    ['a wrong secret', 'other-secret', String(TS), BODY, VECTOR, TS],
    ['a changed body', SECRET, String(TS), BODY.replace('evt', 'evu'), VECTOR, TS],
    ['re-serialised JSON', SECRET, String(TS), JSON.stringify(JSON.parse(BODY), null, 1), VECTOR, TS],
    ['another timestamp', SECRET, String(TS + 1), BODY, VECTOR, TS],
    ['a timestamp too old', SECRET, String(TS), BODY, VECTOR, TS + 301],
    ['a timestamp too far ahead', SECRET, String(TS), BODY, VECTOR, TS - 301],
    ['a non-numeric timestamp', SECRET, '17e8', BODY, VECTOR, TS],
    ['no timestamp', SECRET, null, BODY, VECTOR, TS],
    ['no header', SECRET, String(TS), BODY, null, TS],
    ['no v1 entry', SECRET, String(TS), BODY, VECTOR.replace('v1=', 'v2='), TS],
    ['a truncated signature', SECRET, String(TS), BODY, VECTOR.slice(0, -2), TS],
    ['a non-hex signature', SECRET, String(TS), BODY, 'v1=zz', TS],
    ['an empty secret', '', String(TS), BODY, VECTOR, TS],
  ])('refuses %s', async (_name, secret, timestamp, body, header, now) => {
    expect(await verifyWebhookSignature(secret, timestamp, body, header, 300, now)).toBe(false)
  })
})
