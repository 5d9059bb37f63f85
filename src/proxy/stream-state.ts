/**
 * What a resumed SSE stream answers, carried in the SSE event ids the client resumes from.
 *
 * A 2025 client that loses a POST's response stream (or whose server closes it after a priming event,
 * SSE polling) reconnects with `GET` and `Last-Event-ID`, and the origin replays the answers there. That
 * GET may reach another isolate, which never saw the POST: without more, its answers would arrive with no
 * method and no tool, and every check keyed on them (pins and deny lists on a `tools/list`, the output
 * schema of a call, per-tool budgets) would have nothing to check against.
 *
 * So the firewall rewrites the ids of a POST stream that carries requests: `mcpfw2~<requests>~<mac>~<id>`,
 * where `<requests>` lists each request's id, method and tool, `<id>` is the origin's own id, and `<mac>`
 * is an HMAC over the tenant, the session, that list and that id. On a GET, a `Last-Event-ID` in that form
 * is verified and gives the exchange its requests back, and the origin gets its own id. A GET stream
 * answers only those requests; one without a verified list answers none (the spec allows answers on a GET
 * only when resuming a request's stream).
 *
 * The origin's id is sealed with the list, one MAC per event id: the origin replays the stream its id
 * names, so a list sealed alone could be put before the id of another of the session's streams (one whose
 * requests reused the list's JSON-RPC ids), and that stream's answers would be judged as the list's: a
 * `tools/list` passed as a call's result, unfiltered and unpinned. A `mcpfw1~` id, from a version that
 * sealed the list alone, is refused like a forged one.
 *
 * The key is derived from `SECRETS_MASTER_KEY` when it is set, from `ADMIN_TOKEN` otherwise; rotating
 * either ends resumption of streams issued before (their answers are then refused, not passed).
 */
import { base64url } from 'jose'
import type { JsonRpcId } from '../mcp/jsonrpc'
import { keyring, deriveBytes, type MasterKey } from '../auth/master-key'

/** One request a stream answers: its JSON-RPC id, method and (for `tools/call`) tool. */
export type StreamRequest = [id: JsonRpcId, method: string, tool?: string]

/** Gives an origin's event id its firewall form, for one stream's requests. */
export type EventIdSealer = (originId: string) => Promise<string>

/** A verified `Last-Event-ID`: the requests its stream answers, the origin's own id, and its stream's sealer. */
export interface ResumedStream {
  requests: StreamRequest[]
  originId: string
  seal: EventIdSealer
}

const PREFIX = 'mcpfw2~'
const ANY_VERSION = /^mcpfw\d+~/ // the firewall's form, in this version or an earlier one
const MAC_BYTES = 16
const MAX_REQUESTS = 100 // a batch's worth (the SDK server accepts 100)

const encoder = new TextEncoder()
let memo: { raw: string; key: Promise<CryptoKey | null> } | undefined

function hmacKey(env: Env): Promise<CryptoKey | null> {
  const raw = `${env.SECRETS_MASTER_KEY ?? ''}\n${env.ADMIN_TOKEN ?? ''}`
  if (memo?.raw !== raw) memo = { raw, key: deriveKey(env) }
  return memo.key
}

async function deriveKey(env: Env): Promise<CryptoKey | null> {
  // Without a master key ring, the operator token is the HKDF base, under the same salt and info.
  const base: MasterKey | null = (await keyring(env))?.current ?? (env.ADMIN_TOKEN ? { version: 0, key: await crypto.subtle.importKey('raw', encoder.encode(env.ADMIN_TOKEN), 'HKDF', false, ['deriveBits']) } : null)
  if (!base) return null
  const bytes = await deriveBytes(base, 'stream-state', 'firewall', 32)
  return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
}

/** The MAC of one event id: tenant, session, the stream's requests (encoded) and the origin's id. */
async function mac(key: CryptoKey, tenant: string, session: string, payload: string, originId: string): Promise<Uint8Array> {
  const input = encoder.encode(JSON.stringify([tenant, session, payload, originId]))
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, input)).slice(0, MAC_BYTES)
}

function sealer(key: CryptoKey, tenant: string, session: string, payload: string): EventIdSealer {
  return async (originId) => `${PREFIX}${payload}~${base64url.encode(await mac(key, tenant, session, payload, originId))}~${originId}`
}

/**
 * The sealer of the event ids of a stream answering `requests` in `session`, or null when there is
 * nothing to carry (no requests, no session to resume in, or no key).
 */
export async function streamIdSealer(env: Env, tenant: string, session: string | undefined, requests: StreamRequest[]): Promise<EventIdSealer | null> {
  if (!session || requests.length === 0 || requests.length > MAX_REQUESTS) return null
  const key = await hmacKey(env)
  if (!key) return null
  return sealer(key, tenant, session, base64url.encode(JSON.stringify(requests)))
}

/**
 * Reads a client's `Last-Event-ID`: null when it is not in the firewall's form (a stream that carried no
 * requests), 'invalid' when it is but was not issued, as it stands, for this tenant and session, else
 * what it carries.
 */
export async function resumedStream(env: Env, tenant: string, session: string | undefined, lastEventId: string): Promise<ResumedStream | 'invalid' | null> {
  if (!ANY_VERSION.test(lastEventId)) return null
  if (!lastEventId.startsWith(PREFIX) || !session) return 'invalid'
  const parts = lastEventId.slice(PREFIX.length).split('~')
  if (parts.length < 3) return 'invalid'
  const [payload = '', given = ''] = parts
  const originId = parts.slice(2).join('~')
  const key = await hmacKey(env)
  const macBytes = fromBase64url(given)
  if (!key || !macBytes || macBytes.length !== MAC_BYTES) return 'invalid'
  if (!crypto.subtle.timingSafeEqual(await mac(key, tenant, session, payload, originId), macBytes)) return 'invalid' // both MAC_BYTES long
  const json = fromBase64url(payload)
  const requests = json ? parseRequests(new TextDecoder().decode(json)) : null
  if (!requests) return 'invalid'
  return { requests, originId, seal: sealer(key, tenant, session, payload) }
}

function parseRequests(text: string): StreamRequest[] | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  if (!Array.isArray(value) || value.length > MAX_REQUESTS) return null
  const ok = value.every(
    (r) => Array.isArray(r) && (typeof r[0] === 'string' || typeof r[0] === 'number') && typeof r[1] === 'string' && (r[2] === undefined || typeof r[2] === 'string') && r.length <= 3,
  )
  return ok ? (value as StreamRequest[]) : null
}

function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null
  try {
    return base64url.decode(text)
  } catch {
    return null
  }
}
