import { describe, expect, it } from 'vitest'
import { checkTargetUrl, isPrivateHost } from '../../src/proxy/origin-url'
import { firewallHostnames, urlPolicy } from '../../src/proxy/url-policy-env'

const production = { allowPrivate: false, ownHostnames: new Set(['fw.example', 'mcp.vendor.example']) }
const development = { allowPrivate: true, ownHostnames: new Set(['fw.example']) }

describe('origin URL rules', () => {
  it.each([
    ['https://origin.example/mcp', null],
    ['http://origin.example/mcp', 'must use https'],
    ['https://127.0.0.1/mcp', 'private, loopback and link-local targets are not allowed'],
    ['https://0x7f.1/mcp', 'private, loopback and link-local targets are not allowed'],
    ['https://2130706433/mcp', 'private, loopback and link-local targets are not allowed'],
    ['https://10.0.0.1/', 'private, loopback and link-local targets are not allowed'],
    ['https://172.16.5.4/', 'private, loopback and link-local targets are not allowed'],
    ['https://172.32.0.1/', null],
    ['https://192.168.1.1/', 'private, loopback and link-local targets are not allowed'],
    ['https://169.254.169.254/', 'private, loopback and link-local targets are not allowed'],
    ['https://100.64.0.1/', 'private, loopback and link-local targets are not allowed'],
    ['https://0.0.0.0/', 'private, loopback and link-local targets are not allowed'],
    ['https://[::1]/', 'private, loopback and link-local targets are not allowed'],
    ['https://[::ffff:127.0.0.1]/', 'private, loopback and link-local targets are not allowed'],
    ['https://[fd00::1]/', 'private, loopback and link-local targets are not allowed'],
    ['https://[fe80::1]/', 'private, loopback and link-local targets are not allowed'],
    ['https://[2606:4700::1]/', null],
    ['https://[2001:4860:4860::8888]/', null],
    // Forms that carry or tunnel to an IPv4 address, and deprecated or reserved ranges.
    ['https://[::127.0.0.1]/', 'private, loopback and link-local targets are not allowed'], // IPv4-compatible
    ['https://[::ffff:8.8.8.8]/', 'private, loopback and link-local targets are not allowed'], // mapped
    ['https://[64:ff9b::a9fe:a9fe]/', 'private, loopback and link-local targets are not allowed'], // NAT64 of 169.254.169.254
    ['https://[64:ff9b:1::a00:1]/', 'private, loopback and link-local targets are not allowed'],
    ['https://[2002:7f00:1::]/', 'private, loopback and link-local targets are not allowed'], // 6to4 of 127.0.0.1
    ['https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'private, loopback and link-local targets are not allowed'], // Teredo
    ['https://[fec0::1]/', 'private, loopback and link-local targets are not allowed'], // site-local
    ['https://[100::1]/', 'private, loopback and link-local targets are not allowed'], // discard-only
    ['https://[ff02::1]/', 'private, loopback and link-local targets are not allowed'],
    ['https://[::]/', 'private, loopback and link-local targets are not allowed'],
    ['https://[::ffff:0:7f00:1]/', 'private, loopback and link-local targets are not allowed'], // IPv4-translated (SIIT) of 127.0.0.1
    ['https://[::1:a9fe:a9fe]/', 'private, loopback and link-local targets are not allowed'], // elsewhere in the reserved ::/8
    ['https://[ff::1]/', 'private, loopback and link-local targets are not allowed'],
    // The trailing dot of a fully qualified name is the same host.
    ['https://localhost./', 'private, loopback and link-local targets are not allowed'],
    ['https://metadata.google.internal./', 'private, loopback and link-local targets are not allowed'],
    ['https://foo.localhost./', 'private, loopback and link-local targets are not allowed'],
    ['https://fw.example./mcp', "must not point at the firewall's own hostnames"],
    ['https://origin.example./mcp', null],
    ['https://localhost/', 'private, loopback and link-local targets are not allowed'],
    ['https://api.localhost/', 'private, loopback and link-local targets are not allowed'],
    ['https://MCP.Vendor.Example/mcp', "must not point at the firewall's own hostnames"],
    ['https://u:p@origin.example/', 'credentials in the URL are not allowed'],
    ['https://origin.example/#x', 'a fragment is not allowed'],
    ['nonsense', 'not a valid URL'],
  ])('production: %s', (url, reason) => {
    const v = checkTargetUrl(url, production)
    expect(v.ok ? null : v.reason).toBe(reason)
  })

  it('development (ALLOW_PRIVATE_ORIGINS) allows http and loopback but never the firewall itself', () => {
    expect(checkTargetUrl('http://127.0.0.1:8788/mcp', development).ok).toBe(true)
    const own = checkTargetUrl('http://fw.example/mcp', development)
    expect(own.ok ? null : own.reason).toBe("must not point at the firewall's own hostnames")
  })

  it('classifies hosts', () => {
    expect(isPrivateHost('example.com')).toBe(false)
    expect(isPrivateHost('printer.local')).toBe(true)
  })
})

describe("the firewall's own hostnames (FIREWALL_HOSTNAMES)", () => {
  // Written by hand in wrangler.toml: an internationalised name, capitals, a port or the fully qualified
  // form still name the hostname a request or an origin URL resolves to, or the loop check misses it.
  const env = { FIREWALL_HOSTNAMES: 'Fw.Bücher.Example, admin.fw.example:8443 ,edge.fw.example.' } as unknown as Env

  it('are kept as a URL names them', () => {
    expect([...firewallHostnames(env, 'fw.example')].sort()).toEqual(['admin.fw.example', 'edge.fw.example', 'fw.example', 'fw.xn--bcher-kva.example'])
  })

  it.each(['https://fw.bücher.example/mcp', 'https://fw.xn--bcher-kva.example/mcp', 'https://admin.fw.example/mcp', 'https://edge.fw.example/mcp'])(
    'refuse an origin on one of them: %s',
    (url) => {
      const v = checkTargetUrl(url, urlPolicy(env, 'fw.example'))
      expect(v.ok ? null : v.reason).toBe("must not point at the firewall's own hostnames")
    },
  )
})
