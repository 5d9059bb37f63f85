/**
 * Verifying the identity assertion the firewall sends to origins in `apiKey` and `jwt` modes. This file
 * depends only on `jose` and `zod`, so an origin written for Node, Deno, Bun or Workers can import it.
 *
 * The assertion is a JWT in the `Mcp-Firewall-Identity` request header:
 * - header: `alg: ES256`, `typ: mcp-identity+jwt`, `kid` = RFC 7638 thumbprint of the signing key
 * - `iss`: `urn:mcp-firewall:<tenant>`; `aud`: the origin URL the request was sent to
 * - `sub`: the API key id or the access token's subject; `auth`: `apiKey` | `jwt`
 * - `iat`, `exp` (at most 5 minutes later, 2 minutes as issued), `jti`
 * - `scope`: the token's scopes (jwt mode, when present)
 *
 * Public keys: `GET https://<firewall>/t/<tenant>/jwks.json`.
 */
import { z } from 'zod'
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose'
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose'

/** The request header that carries the assertion (lower case, as `Headers` reports it). */
export const IDENTITY_HEADER = 'mcp-firewall-identity'
/** The JWT `typ` of assertions, so no other JWT signed with the same key can pass for one. */
export const ASSERTION_TYP = 'mcp-identity+jwt'
/** Assertions live this long as issued. */
export const ASSERTION_TTL_SEC = 120
/** Verifiers refuse anything issued for longer than this. */
export const MAX_ASSERTION_TTL_SEC = 300

/** The `iss` of a tenant's assertions. */
export const assertionIssuer = (tenantId: string): string => `urn:mcp-firewall:${tenantId}`

export const AssertionClaims = z.object({
  iss: z.string(),
  sub: z.string().min(1),
  aud: z.union([z.string(), z.array(z.string())]),
  iat: z.number().int(),
  exp: z.number().int(),
  jti: z.string().min(1),
  auth: z.enum(['apiKey', 'jwt']),
  scope: z.string().optional(),
})
export type AssertionClaims = z.infer<typeof AssertionClaims>

/** What an origin learns from a valid assertion. */
export interface VerifiedIdentity {
  /** API key id or access-token subject. */
  subject: string
  authMode: 'apiKey' | 'jwt'
  scope?: string
  claims: AssertionClaims
}

export interface VerifyAssertionOptions {
  /** The firewall's public keys: the JWKS itself, or its URL (fetched and cached by `jose`). */
  keys: JSONWebKeySet | URL
  /** The tenant the origin belongs to. */
  tenantId: string
  /**
   * The origin's own URL as the firewall sends requests to it: the tenant's `origin.url` in WHATWG URL
   * form, `new URL(origin.url).href` (host lower-cased, default port dropped, an empty path as `/`).
   */
  audience: string
  /** Clock skew allowed, in seconds (default 5). */
  clockToleranceSec?: number
  /** For tests: the current time. */
  currentDate?: Date
}

const remoteSets = new Map<string, JWTVerifyGetKey>()

function keySet(keys: JSONWebKeySet | URL): JWTVerifyGetKey {
  if (!(keys instanceof URL)) return createLocalJWKSet(keys)
  let set = remoteSets.get(keys.href)
  if (!set) remoteSets.set(keys.href, (set = createRemoteJWKSet(keys)))
  return set
}

/**
 * Verifies an identity assertion; throws (a `jose` error or a `ZodError`) when it is not valid for this
 * tenant and origin.
 *
 * @example
 * const who = await verifyIdentityAssertion(req.headers.get(IDENTITY_HEADER) ?? '', {
 *   keys: new URL('https://fw.example/t/acme/jwks.json'), tenantId: 'acme', audience: 'https://mcp.acme.example/mcp',
 * })
 * who.subject // "user-42" or an API key id
 */
export async function verifyIdentityAssertion(token: string, opts: VerifyAssertionOptions): Promise<VerifiedIdentity> {
  const { payload } = await jwtVerify(token, keySet(opts.keys), {
    algorithms: ['ES256'],
    typ: ASSERTION_TYP,
    issuer: assertionIssuer(opts.tenantId),
    audience: opts.audience,
    requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti'],
    maxTokenAge: MAX_ASSERTION_TTL_SEC,
    clockTolerance: opts.clockToleranceSec ?? 5,
    ...(opts.currentDate ? { currentDate: opts.currentDate } : {}),
  })
  const claims = AssertionClaims.parse(payload)
  if (claims.exp - claims.iat > MAX_ASSERTION_TTL_SEC) throw new Error('identity assertion lifetime exceeds 5 minutes')
  return { subject: claims.sub, authMode: claims.auth, ...(claims.scope !== undefined ? { scope: claims.scope } : {}), claims }
}
