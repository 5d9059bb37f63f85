/**
 * MCP sessions bound to the verified client (apiKey and jwt mode).
 *
 * In those modes the origin gets the firewall's own credential for every client of a tenant, so it cannot
 * tell one client's requests from another's, and a session id alone would let any client of the tenant
 * post into, listen on, resume or end another's session (mcp-protocol.md §2.1: session ids must not be
 * used for authentication; §2.3: bind state to the user). So the client never sees the origin's id: it
 * gets `mcpfs1~<key version>~<mac>~<origin id>`, where `<mac>` is an HMAC over the tenant, auth mode,
 * verified identity and origin id, keyed per tenant from the master key ring (purpose
 * `session-binding`). A later request's id is checked against the identity that request verifies as,
 * and only then does the origin get its own id back; nothing is stored.
 *
 * The version names the ring entry the MAC was made with, so ids issued before a rotation keep working
 * while their key stays in the ring (responses carry the id under the current key, and clients that
 * take the id from every response move to it); an id whose key has left the ring is refused.
 */
import { base64url } from 'jose'
import { FirewallError } from '../errors'
import { FIRST_MODERN_VERSION, PROTOCOL_VERSION_HEADER } from '../mcp/era'
import type { ClientAuth } from './authenticate'
import { DerivedKeys, deriveBytes, keyring } from './master-key'
import type { Keyring, MasterKey } from './master-key'

/** Who a session belongs to: the tenant and the client it verified. */
export interface SessionOwner {
  tenantId: string
  mode: 'apiKey' | 'jwt'
  identity: string
}

const PREFIX = 'mcpfs1~'
const MAC_BYTES = 16
/** The origin's id is at most 256 visible ASCII characters (it would not reach the client otherwise). */
const BOUND = /^mcpfs1~([1-9]\d{0,2})~([A-Za-z0-9_-]{22})~([\x21-\x7e]{1,256})$/

const encoder = new TextEncoder()
const keys = new DerivedKeys<CryptoKey>()

function macKey(ring: Keyring, master: MasterKey, tenantId: string): Promise<CryptoKey> {
  return keys.get(ring, master, tenantId, async () =>
    crypto.subtle.importKey('raw', await deriveBytes(master, 'session-binding', tenantId, 32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
  )
}

async function mac(ring: Keyring, master: MasterKey, owner: SessionOwner, originId: string): Promise<string> {
  const input = encoder.encode(JSON.stringify([owner.tenantId, owner.mode, owner.identity, originId]))
  const full = await crypto.subtle.sign('HMAC', await macKey(ring, master, owner.tenantId), input)
  return base64url.encode(new Uint8Array(full).slice(0, MAC_BYTES))
}

/** The session id the client gets for the origin's `originId`, bound to `owner` under the ring's current key. */
export async function bindSessionId(ring: Keyring, owner: SessionOwner, originId: string): Promise<string> {
  return `${PREFIX}${ring.current.version}~${await mac(ring, ring.current, owner, originId)}~${originId}`
}

/**
 * The origin's session id inside a client's `Mcp-Session-Id`, or null when the id is not one the
 * firewall issued to `owner` under a key still in the ring (another client's, edited, or of another form).
 */
export async function boundSessionId(ring: Keyring, owner: SessionOwner, clientId: string): Promise<string | null> {
  const m = BOUND.exec(clientId)
  const master = m ? ring.byVersion.get(Number(m[1])) : undefined
  if (!m || !master) return null
  const [, , given = '', originId = ''] = m
  const expected = await mac(ring, master, owner, originId)
  // Both are 22 base64url characters; compared as text so only the one spelling the firewall issues passes.
  return crypto.subtle.timingSafeEqual(encoder.encode(expected), encoder.encode(given)) ? originId : null
}

/** A verified client's request as the session binding sees it. */
export interface SessionRequest {
  request: Request
  env: Env
  tenant: { id: string }
  requestId: string
}

/** The session side of one verified client's request. */
export interface ClientSession {
  /** The session as the origin knows it (the client's `Mcp-Session-Id`, unwrapped in apiKey and jwt mode). */
  sessionId: string | null
  /** The client's auth, whose origin headers carry `sessionId` in place of the client's id. */
  auth: ClientAuth
  /** The origin's response with the session id it issued bound to the client. */
  bindResponse(response: Response): Promise<Response>
}

/**
 * In apiKey and jwt mode the client's session id is the origin's bound to it: checked against the
 * identity this request verified as before anything is read or forwarded (an id that is not the
 * client's is refused as an unknown session), and the origin's id in the response bound in turn.
 * Passthrough mode has no verified client to bind a session to: the origin's id passes both ways
 * unchanged, and the origin alone decides who may use it. A 2026-07-28 request has no session in any mode.
 */
export async function clientSession(r: SessionRequest, auth: ClientAuth): Promise<ClientSession> {
  const { request, tenant } = r
  if (request.headers.get(PROTOCOL_VERSION_HEADER) === FIRST_MODERN_VERSION) return sessionless(auth)
  const clientId = request.headers.get('mcp-session-id')
  const owner = auth.mode !== 'passthrough' && auth.identity !== undefined ? { tenantId: tenant.id, mode: auth.mode, identity: auth.identity } : null
  if (!owner) return { sessionId: clientId, auth, bindResponse: (response) => Promise.resolve(response) }
  const ring = await keyring(r.env)
  if (!ring) throw new FirewallError({ kind: 'tenant_config_invalid' }) // authenticate refuses these modes without one
  const sessionId = clientId === null ? null : await boundSessionId(ring, owner, clientId)
  if (clientId !== null && sessionId === null) {
    // Another client's session, an edited id or one of another form: to this client, no such session.
    console.warn(JSON.stringify({ event: 'session_not_bound_to_client', requestId: r.requestId, tenant: tenant.id, method: request.method }))
    throw new FirewallError({ kind: 'unknown_session' })
  }
  const originHeaders = async (incoming: Headers): Promise<Headers> => {
    const headers = await auth.originHeaders(incoming)
    if (sessionId === null) headers.delete('mcp-session-id')
    else headers.set('mcp-session-id', sessionId)
    return headers
  }
  const bindResponse = async (response: Response): Promise<Response> => {
    const minted = response.headers.get('mcp-session-id')
    if (minted !== null) response.headers.set('mcp-session-id', await bindSessionId(ring, owner, minted))
    return response
  }
  return { sessionId, auth: { ...auth, originHeaders }, bindResponse }
}

/**
 * 2026-07-28 has no sessions: `Mcp-Session-Id` is "ignored: never minted or echoed" (streamable-http
 * §"Backward Compatibility"). A client's id is neither checked nor forwarded, so an origin that still
 * keeps legacy sessions cannot be steered into one by a modern request, and nothing keys on it (budgets
 * per client, confirmations); an id the origin sets anyway is not relayed, so the client never holds one.
 */
function sessionless(auth: ClientAuth): ClientSession {
  const originHeaders = async (incoming: Headers): Promise<Headers> => {
    const headers = await auth.originHeaders(incoming)
    headers.delete('mcp-session-id')
    return headers
  }
  const bindResponse = (response: Response): Promise<Response> => {
    response.headers.delete('mcp-session-id')
    return Promise.resolve(response)
  }
  return { sessionId: null, auth: { ...auth, originHeaders }, bindResponse }
}
