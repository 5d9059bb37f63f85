/**
 * The `auth` and `origin.credential` parts of the tenant config: defaults, and exact messages for
 * what is refused.
 */
import { describe, expect, it } from 'vitest'
import { TenantConfig } from '../../src/tenant/config'

const origin = { url: 'https://origin.example/mcp' }
const jwt = { mode: 'jwt', issuer: 'https://issuer.example', jwksUrl: 'https://issuer.example/jwks.json' }

function issues(input: unknown): Array<{ path: string; message: string }> {
  const parsed = TenantConfig.safeParse(input)
  return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
}

describe('auth config', () => {
  it('defaults to passthrough with no origin credential', () => {
    const config = TenantConfig.parse({ origin })
    expect(config.auth).toEqual({ mode: 'passthrough' })
    expect(config.origin.credential).toBeUndefined()
  })

  it('fills jwt defaults and credential defaults', () => {
    const config = TenantConfig.parse({ origin: { ...origin, credential: { secret: 'origin-token' } }, auth: jwt })
    expect(config.auth).toEqual({ ...jwt, algorithms: ['RS256', 'ES256'], clockToleranceSec: 30, requiredScopes: [] })
    expect(config.origin.credential).toEqual({ secret: 'origin-token', header: 'authorization' })
  })

  it.each([
    ['unknown mode', { mode: 'basic' }, [{ path: 'auth.mode', message: "Invalid discriminator value. Expected 'passthrough' | 'apiKey' | 'jwt'" }]],
    ['HMAC algorithm', { ...jwt, algorithms: ['HS256'] }, [{ path: 'auth.algorithms.0', message: expect.stringContaining('Invalid option') }]],
    ['none algorithm', { ...jwt, algorithms: ['none'] }, [{ path: 'auth.algorithms.0', message: expect.stringContaining('Invalid option') }]],
    ['no algorithms', { ...jwt, algorithms: [] }, [{ path: 'auth.algorithms', message: expect.stringContaining('>=1') }]],
    ['ftp JWKS', { ...jwt, jwksUrl: 'ftp://issuer.example/jwks' }, [{ path: 'auth.jwksUrl', message: 'Invalid URL' }]],
    ['misspelt field', { ...jwt, audiance: 'x' }, [{ path: 'auth', message: expect.stringContaining('audiance') }]],
    ['field of another mode', { mode: 'apiKey', issuer: 'https://issuer.example' }, [{ path: 'auth', message: expect.stringContaining('issuer') }]],
    ['scope with a space', { ...jwt, requiredScopes: ['a b'] }, [{ path: 'auth.requiredScopes.0', message: 'must be an OAuth scope token' }]],
  ])('refuses %s', (_name, auth, expected) => {
    expect(issues({ origin, auth })).toEqual(expected)
  })

  it.each([
    ['reserved header', { secret: 's', header: 'cookie' }, 'origin.credential.header', 'is reserved by the firewall'],
    ['MCP header', { secret: 's', header: 'mcp-firewall-identity' }, 'origin.credential.header', 'is reserved by the firewall'],
    ['upper-case header', { secret: 's', header: 'X-Api-Key' }, 'origin.credential.header', 'must be a lower-case header name'],
    ['bad secret name', { secret: 'Has Space' }, 'origin.credential.secret', 'must match [a-z0-9][a-z0-9_.-]{0,63}'],
    ['bad scheme', { secret: 's', scheme: 'Bearer x' }, 'origin.credential.scheme', 'must be an auth scheme token'],
  ])('refuses a credential with a %s', (_name, credential, path, message) => {
    expect(issues({ origin: { ...origin, credential }, auth: { mode: 'apiKey' } })).toEqual([{ path, message }])
  })

  it('refuses a credential on a passthrough endpoint, where nobody authenticates and it would be lent to every caller', () => {
    expect(issues({ origin: { ...origin, credential: { secret: 's' } } })).toEqual([{ path: 'origin.credential', message: 'needs client authentication (auth.mode apiKey or jwt)' }])
  })
})
