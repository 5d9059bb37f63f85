import { describe, expect, it } from 'vitest'
import { clientChallenge } from '../../src/proxy/challenge'

const ORIGIN = new URL('http://10.0.0.5:8080/mcp')
const CLIENT = new URL('https://mcp.vendor.example/mcp')
const hostMapped = { origin: ORIGIN, client: CLIENT }
const pathMapped = { origin: ORIGIN, client: null }
const ORIGIN_PRM = 'http://10.0.0.5:8080/.well-known/oauth-protected-resource/mcp'
const CLIENT_PRM = 'https://mcp.vendor.example/.well-known/oauth-protected-resource/mcp'

/** What the SDK client reads as `resource_metadata` (its `extractFieldFromWwwAuth`): the first match anywhere. */
const sdkReads = (header: string | null): string | null => {
  const m = header === null ? null : /resource_metadata=(?:"([^"]+)"|([^\s,]+))/.exec(header)
  return m ? (m[1] ?? m[2] ?? null) : null
}

describe('clientChallenge', () => {
  it("moves a resource_metadata URL on the origin's host onto the host the client addressed, same path", () => {
    expect(clientChallenge(`Bearer resource_metadata="${ORIGIN_PRM}"`, hostMapped)).toBe(`Bearer resource_metadata="${CLIENT_PRM}"`)
    expect(clientChallenge('Bearer resource_metadata="http://10.0.0.5:8080/.well-known/oauth-protected-resource"', hostMapped)).toBe(
      'Bearer resource_metadata="https://mcp.vendor.example/.well-known/oauth-protected-resource"',
    )
    // A name is case-insensitive (RFC 9110 §11.2): it is matched as such and written as clients look for it.
    expect(clientChallenge(`Bearer Resource_Metadata="${ORIGIN_PRM}"`, hostMapped)).toBe(`Bearer resource_metadata="${CLIENT_PRM}"`)
  })

  it('keeps the rest of the challenge: scheme, error, scope, realm, in their order and form', () => {
    const header = `Bearer realm="mcp", error="insufficient_scope", scope="files:read files:write", resource_metadata="${ORIGIN_PRM}", error_description="Needs \\"files:write\\""`
    expect(clientChallenge(header, hostMapped)).toBe(header.replace(ORIGIN_PRM, CLIENT_PRM))
    expect(clientChallenge('Bearer error=invalid_token', hostMapped)).toBe('Bearer error=invalid_token')
    expect(clientChallenge('Bearer   error = "invalid_token" ,  scope="a"', hostMapped)).toBe('Bearer error="invalid_token", scope="a"')
    expect(clientChallenge('Basic dXNlcjpwYXNz==', hostMapped)).toBe('Basic dXNlcjpwYXNz==')
    expect(clientChallenge('Bearer', pathMapped)).toBe('Bearer')
  })

  it('keeps a resource_metadata URL already on the host the client addressed', () => {
    expect(clientChallenge(`Bearer error="invalid_token", resource_metadata="${CLIENT_PRM}"`, hostMapped)).toBe(`Bearer error="invalid_token", resource_metadata="${CLIENT_PRM}"`)
  })

  it.each([
    ['another host', 'https://evil.example/.well-known/oauth-protected-resource/mcp'],
    ["the origin's host on another port", 'http://10.0.0.5:8081/.well-known/oauth-protected-resource/mcp'],
    ["the origin's host on another scheme", 'https://10.0.0.5:8080/.well-known/oauth-protected-resource/mcp'],
    ['a path that is not protected-resource metadata', 'http://10.0.0.5:8080/admin'],
    ['a dot-segment path out of the metadata', 'http://10.0.0.5:8080/.well-known/oauth-protected-resource/../../admin'],
    ['a look-alike path', 'http://10.0.0.5:8080/.well-known/oauth-protected-resourcex'],
    ['credentials', 'http://user:pw@10.0.0.5:8080/.well-known/oauth-protected-resource/mcp'],
    ['a query', 'http://10.0.0.5:8080/.well-known/oauth-protected-resource/mcp?next=http://10.0.0.5'],
    ['a fragment', 'http://10.0.0.5:8080/.well-known/oauth-protected-resource/mcp#x'],
    ['not a URL', '/.well-known/oauth-protected-resource/mcp'],
  ])('drops a resource_metadata URL with %s and keeps the rest of the challenge', (_, url) => {
    const out = clientChallenge(`Bearer error="invalid_token", resource_metadata="${url}", scope="a"`, hostMapped)
    expect(out).toBe('Bearer error="invalid_token", scope="a"')
  })

  it('drops resource_metadata on a path-mapped endpoint (no discovery is served there) and keeps the rest', () => {
    expect(clientChallenge(`Bearer resource_metadata="${ORIGIN_PRM}"`, pathMapped)).toBe('Bearer')
    expect(clientChallenge(`Bearer error="insufficient_scope", scope="a b", resource_metadata="${CLIENT_PRM}"`, pathMapped)).toBe('Bearer error="insufficient_scope", scope="a b"')
  })

  it('handles several challenges in one header, commas inside quoted strings included', () => {
    const header = `Basic realm="a, b=c", Bearer resource_metadata="${ORIGIN_PRM}", error=invalid_token, Negotiate`
    expect(clientChallenge(header, hostMapped)).toBe(`Basic realm="a, b=c", Bearer resource_metadata="${CLIENT_PRM}", error=invalid_token, Negotiate`)
    expect(clientChallenge(`,Bearer resource_metadata="https://evil.example/x", ,Basic realm="r",`, hostMapped)).toBe('Bearer, Basic realm="r"')
  })

  it.each([
    ['inside another quoted value', `Bearer error_description="see resource_metadata=\\"${ORIGIN_PRM}\\"", error="invalid_token"`],
    ['inside another quoted value, unescaped for a naive reader', `Bearer realm="resource_metadata=${ORIGIN_PRM}", error="invalid_token"`],
    ['as the end of another name', `Bearer xresource_metadata="${ORIGIN_PRM}", error="invalid_token"`],
    ['as a token68', 'Bearer resource_metadata==, Basic realm="r"'],
    ['twice in one challenge', `Bearer resource_metadata="${ORIGIN_PRM}", error="invalid_token", resource_metadata="${CLIENT_PRM}"`],
  ])('leaves no resource_metadata a client could read when it is hidden %s', (_, header) => {
    const out = clientChallenge(header, hostMapped)
    expect(out).not.toBeNull()
    expect(out).not.toMatch(/resource_metadata|10\.0\.0\.5/i)
    expect(sdkReads(out)).toBeNull()
  })

  it('never lets a quote in the value break out of the rewritten parameter', () => {
    const out = clientChallenge(`Bearer resource_metadata="${ORIGIN_PRM}\\", x=\\"y"`, hostMapped)
    expect(out).toBe('Bearer resource_metadata="https://mcp.vendor.example/.well-known/oauth-protected-resource/mcp%22,%20x=%22y"')
    expect(sdkReads(out)).toBe('https://mcp.vendor.example/.well-known/oauth-protected-resource/mcp%22,%20x=%22y')
  })

  it.each([
    ['empty', ''],
    ['an unterminated quoted string', 'Bearer realm="x'],
    ['text after a quoted string', 'Bearer realm="x"y'],
    ['a parameter without a scheme', 'realm="x"'],
    ['an unquoted URL (not a token)', `Bearer resource_metadata=${ORIGIN_PRM}`],
    ['a control character', 'Bearer realm="a\x01b"'],
    ['a line break', 'Bearer realm="a"\r\nSet-Cookie: x=y'],
    ['a tab', 'Bearer\trealm="a"'],
    ['non-ASCII text', 'Bearer realm="café"'],
    ['more than 1024 characters', `Bearer realm="${'a'.repeat(1020)}"`],
  ])('refuses %s (the header is dropped)', (_, header) => {
    expect(clientChallenge(header, hostMapped)).toBeNull()
  })

  it('refuses a challenge the rewrite would take past 1024 characters', () => {
    const client = new URL(`https://${'h'.repeat(60)}.example/mcp`)
    const header = `Bearer realm="${'a'.repeat(1024 - 40 - ORIGIN_PRM.length)}", resource_metadata="${ORIGIN_PRM}"`
    expect(header.length).toBeLessThanOrEqual(1024)
    expect(clientChallenge(header, { origin: ORIGIN, client })).toBeNull()
  })
})
