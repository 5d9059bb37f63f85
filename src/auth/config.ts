/**
 * How a tenant's clients authenticate (`auth`) and how the firewall authenticates to the origin
 * (`origin.credential`). mcp-protocol.md §2.3: `passthrough` is "Mode A" (the origin is the resource
 * server); `apiKey` and `jwt` are "Mode B" (the firewall is the resource server, strips the client's
 * credential and calls the origin with its own).
 */
import { z } from 'zod'
import { SecretName } from '../tenant/secret-name'

/** Asymmetric JWS algorithms only: a JWKS carries public keys, and `none`/HMAC have no place here. */
export const JwtAlgorithm = z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'])
export type JwtAlgorithm = z.infer<typeof JwtAlgorithm>

/** An OAuth scope token (RFC 6749 §3.3): printable ASCII without space, quote or backslash. */
const ScopeToken = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/, 'must be an OAuth scope token')

const HttpUrl = z.url({ protocol: /^https?$/ }).max(2048)

export const PassthroughAuth = z.object({ mode: z.literal('passthrough') }).strict()
export type PassthroughAuth = z.infer<typeof PassthroughAuth>

/** Keys issued by the admin API (`POST /admin/v1/tenants/:id/client-keys`), sent as `Authorization: Bearer`. */
export const ApiKeyAuth = z.object({ mode: z.literal('apiKey') }).strict()
export type ApiKeyAuth = z.infer<typeof ApiKeyAuth>

export const JwtAuth = z
  .object({
    mode: z.literal('jwt'),
    /** The authorization server's issuer identifier: checked against `iss`, advertised in the PRM. */
    issuer: HttpUrl,
    /**
     * The canonical resource URI tokens must be issued for (RFC 8707, `aud`). Default: the endpoint URL
     * the client called (`https://<host>/t/<id>/mcp`, or the tenant hostname's endpoint). Set it only
     * when clients reach the firewall through another public URL.
     */
    audience: HttpUrl.optional(),
    /** The issuer's JWKS. Same rules as origins: https, no private targets, no redirects. */
    jwksUrl: HttpUrl,
    algorithms: z.array(JwtAlgorithm).min(1).max(11).default(['RS256', 'ES256']),
    /** Allowed clock skew for `exp` and `nbf`, in seconds. */
    clockToleranceSec: z.number().int().min(0).max(300).default(30),
    /** Scopes every token must carry (`scope` or `scp`); advertised as `scopes_supported`. Missing → 403. */
    requiredScopes: z.array(ScopeToken).max(50).default([]),
  })
  .strict()
export type JwtAuth = z.infer<typeof JwtAuth>

export const AuthConfig = z.discriminatedUnion('mode', [PassthroughAuth, ApiKeyAuth, JwtAuth])
export type AuthConfig = z.infer<typeof AuthConfig>

/** Headers the firewall owns or that would break the exchange; a credential may not set them. */
const RESERVED_HEADERS = new Set([
  'accept',
  'accept-encoding',
  'connection',
  'content-encoding',
  'content-length',
  'content-type',
  'cookie',
  'host',
  'last-event-id',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
])
const RESERVED_PREFIXES = ['mcp-', 'cf-', 'x-forwarded-', 'proxy-']

const CredentialHeader = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a lower-case header name')
  .refine((h) => !RESERVED_HEADERS.has(h) && !RESERVED_PREFIXES.some((p) => h.startsWith(p)), 'is reserved by the firewall')

/**
 * The firewall's own credential for the origin, a reference to a stored tenant secret (never the value).
 * Sent as `<header>: <scheme> <secret>`; `scheme` defaults to `Bearer` for `authorization` and to none
 * otherwise (`""` sends the bare value).
 *
 * @example { secret: 'origin-token', header: 'authorization', scheme: 'Bearer' }
 */
export const OriginCredential = z
  .object({
    secret: SecretName,
    header: CredentialHeader.default('authorization'),
    scheme: z.string().regex(/^([A-Za-z][A-Za-z0-9._~+/-]{0,31})?$/, 'must be an auth scheme token').optional(),
  })
  .strict()
export type OriginCredential = z.infer<typeof OriginCredential>
