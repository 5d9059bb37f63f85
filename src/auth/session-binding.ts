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
import { DerivedKeys, deriveBytes } from './master-key'
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
