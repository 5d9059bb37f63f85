/** The limiter key for a client: CF-Connecting-IP as sent by the edge, IPv6 folded to its /64. */
import { describe, expect, it } from 'vitest'
import { clientKey } from '../../src/abuse/client-ip'

describe('clientKey', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:3::4', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8::1:2:3:4:5', '2001:db8:0:1::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::ffff:198.51.100.9', '0:0:0:0::/64'],
    ['2001:db8:a:b:c:d:198.51.100.9', '2001:db8:a:b::/64'],
  ])('%s → %s', (ip, key) => {
    expect(clientKey(new Headers({ 'cf-connecting-ip': ip }))).toBe(key)
  })

  it.each(['1:2:3', '1::2::3', 'zz::1', '1:2:3:4:5:6:7:8:9'])('keeps an address it cannot parse as sent: %s', (ip) => {
    expect(clientKey(new Headers({ 'cf-connecting-ip': ip }))).toBe(ip)
  })

  it('is null without CF-Connecting-IP (not a request from the edge)', () => {
    expect(clientKey(new Headers())).toBeNull()
    expect(clientKey(new Headers({ 'cf-connecting-ip': '  ' }))).toBeNull()
    expect(clientKey(new Headers({ 'x-forwarded-for': '203.0.113.7' }))).toBeNull()
  })
})
