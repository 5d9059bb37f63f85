/**
 * The answers to a missing or refused client credential (RFC 6750 §3, RFC 9728 §5.1): HTTP 401 (or 403
 * for insufficient scope) with a `WWW-Authenticate: Bearer` challenge, so OAuth clients start or step
 * up their flow, and a JSON-RPC error body with -31004 that says nothing about why the token failed.
 */
import { FirewallCode, errorBody } from '../errors'

/** Why the client is refused; `missing` sends no `error` parameter (RFC 6750 §3.1). */
export type AuthFailure = 'missing' | 'invalid_token' | 'insufficient_scope'

/** Formats `Bearer k="v", …` with quoted-string escaping. */
export function bearerChallenge(params: ReadonlyArray<readonly [string, string]>): string {
  if (params.length === 0) return 'Bearer'
  return `Bearer ${params.map(([k, v]) => `${k}="${v.replace(/["\\]/g, '\\$&')}"`).join(', ')}`
}

/** The challenge for a failure: `error` first (when any), then the mode's own parameters. */
export function challengeFor(failure: AuthFailure, params: ReadonlyArray<readonly [string, string]>): string {
  return bearerChallenge(failure === 'missing' ? params : [['error', failure], ...params])
}

/** The refusal response. Status 403 only for insufficient scope (step-up), 401 otherwise. */
export function authRefusal(failure: AuthFailure, challenge: string, requestId: string): Response {
  const status = failure === 'insufficient_scope' ? 403 : 401
  const message = status === 403 ? 'Forbidden: insufficient scope' : 'Unauthorized'
  return new Response(errorBody({ status, code: FirewallCode.unauthorised, message }, null, requestId), {
    status,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, 'www-authenticate': challenge },
  })
}
