/**
 * The firewall's own credential for a tenant's origin (`origin.credential`), read from the tenant's
 * encrypted secrets. Opened values are kept per isolate for 10 s, like tenant config, so a request does
 * not pay a KV read and a decryption; a replaced secret is in use within that time plus KV propagation.
 */
import { FirewallError } from '../errors'
import { readSecret } from '../tenant/secrets'
import type { OriginCredential } from './config'
import type { Keyring } from './master-key'
import type { AuthStore } from './storage'

const TTL_MS = 10_000
const MAX_CACHED = 5_000
/** Header values may not contain control characters (RFC 9110 §5.5); a secret that does is refused. */
const HEADER_SAFE = /^[\x20-\x7e\x80-\xff]+$/

const cache = new Map<string, { value: string; expires: number }>()

/** Forget cached credentials (admin writes served by this isolate, tests). */
export function clearCredentialCache(tenantId?: string): void {
  if (tenantId === undefined) cache.clear()
  else for (const k of cache.keys()) if (k.startsWith(`${tenantId}\u0000`)) cache.delete(k)
}

/**
 * A tenant secret's value, opened at most once per `TTL_MS` per isolate (origin credentials, the second
 * stage's bearer): a request does not pay a KV read and a decryption. Failures are not kept.
 */
export async function cachedSecret(store: AuthStore, ring: Keyring, tenantId: string, name: string, now = Date.now()): Promise<string | 'missing' | 'unreadable'> {
  const id = `${tenantId}\u0000${name}`
  const hit = cache.get(id)
  if (hit && hit.expires > now) return hit.value
  const read = await readSecret(store, ring, tenantId, name)
  if (read === 'missing' || read === 'unreadable') return read
  if (cache.size >= MAX_CACHED) cache.clear()
  cache.set(id, { value: read, expires: now + TTL_MS })
  return read
}

/** The header the origin gets, and the secret inside its value (scrubbed from what the client sees). */
export interface OriginCredentialHeader {
  readonly header: string
  readonly value: string
  readonly secret: string
}

/**
 * The header to send to the origin. Throws `tenant_config_invalid` (logged, value never
 * logged) when the secret is missing, cannot be opened, or cannot be sent as a header.
 */
export async function originCredentialHeader(
  store: AuthStore,
  ring: Keyring,
  tenantId: string,
  credential: OriginCredential,
  now = Date.now(),
): Promise<OriginCredentialHeader> {
  const secret = await cachedSecret(store, ring, tenantId, credential.secret, now)
  if (secret === 'missing' || secret === 'unreadable') {
    console.error(JSON.stringify({ event: 'origin_credential_unavailable', tenant: tenantId, secret: credential.secret, reason: secret }))
    throw new FirewallError({ kind: 'tenant_config_invalid' })
  }
  const scheme = credential.scheme ?? (credential.header === 'authorization' ? 'Bearer' : '')
  const value = scheme ? `${scheme} ${secret}` : secret
  if (!HEADER_SAFE.test(value)) {
    console.error(JSON.stringify({ event: 'origin_credential_unavailable', tenant: tenantId, secret: credential.secret, reason: 'not a valid header value' }))
    throw new FirewallError({ kind: 'tenant_config_invalid' })
  }
  // A header value loses its leading and trailing spaces on the way (RFC 9110 §5.5): what is lent, and
  // scrubbed from what the client sees, is the secret as the origin receives it.
  return { header: credential.header, value, secret: secret.replace(/^ +| +$/g, '') }
}
