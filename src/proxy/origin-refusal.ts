/**
 * What a client is told when the origin refuses it, in each client-authentication mode: in passthrough
 * (mode A) the origin's challenge, rewritten for the host the client addressed; with the firewall's own
 * credential (mode B) a 401 refuses that credential, not the client's, and no origin challenge is passed on.
 */
import { errorBody, FirewallError, toWire } from '../errors'
import type { JsonRpcId } from '../mcp/jsonrpc'
import { canonicalHost } from './origin-url'
import { clientChallenge } from './challenge'
import type { EndpointRequest } from './mcp-endpoint'

/**
 * Mode A: the origin's challenge with its `resource_metadata` on the hostname the client addressed, or
 * without it on the shared host (challenge.ts); null when it must be dropped, which is logged by name.
 */
export function originChallenge(r: EndpointRequest, challenge: string, originUrl: URL): string | null {
  const url = new URL(r.request.url)
  const client = r.tenant.record.config.hosts.includes(canonicalHost(url.hostname)) ? url : null
  const relayed = clientChallenge(challenge, { origin: originUrl, client })
  if (relayed === null) console.warn(JSON.stringify({ event: 'origin_header_dropped', requestId: r.requestId, header: 'www-authenticate' }))
  return relayed
}

/** Mode A: an origin refusal met on the way (the firewall listing the origin's tools) keeps its challenge as `relay`'s does. */
export function modeARefusal(r: EndpointRequest, err: unknown, originUrl: URL): unknown {
  if (!(err instanceof FirewallError) || err.problem.kind !== 'origin_refused' || err.problem.challenge === undefined) return err
  const challenge = originChallenge(r, err.problem.challenge, originUrl)
  return new FirewallError({ kind: 'origin_refused', status: err.problem.status, ...(challenge !== null ? { challenge } : {}) }, err.id)
}

/**
 * Mode B: an origin refusal met on the way (the firewall listing the origin's tools itself, before a call)
 * refuses the firewall's credential, not the client's, as in `relay`: a 401 is the firewall's 502, and no
 * origin challenge, which describes another resource, reaches the client.
 */
export function modeBRefusal(r: EndpointRequest, err: unknown): unknown {
  if (!(err instanceof FirewallError) || err.problem.kind !== 'origin_refused') return err
  if (err.problem.status === 401) return firewallCredentialRefused(r, err.id)
  return new FirewallError({ kind: 'origin_refused', status: err.problem.status }, err.id)
}

/**
 * Mode B: the client's credential was accepted here and never reached the origin, so an origin 401 refuses
 * the firewall's own (origin.credential, assertion). Relayed, it would be a 401 without a challenge (the
 * origin's describes another resource) and send the client's OAuth flow to sign in again: a 502 instead.
 */
export function firewallCredentialRefused(r: EndpointRequest, id: JsonRpcId | null): FirewallError {
  console.error(JSON.stringify({ event: 'origin_refused_firewall_credential', requestId: r.requestId, tenant: r.tenant.id }))
  return new FirewallError({ kind: 'origin_unreachable' }, id)
}

/** An origin's refusal (4xx) with its status and the origin's headers the client keeps (its challenge), and the firewall's own body. */
export function originRefusal(status: number, headers: Headers, requestId: string): Response {
  headers.set('content-type', 'application/json')
  return new Response(errorBody(toWire({ kind: 'origin_refused', status }), null, requestId), { status, headers })
}
