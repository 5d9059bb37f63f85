/**
 * Helpers for the control-plane tests (`control-*.test.ts`): admin calls with any token and headers,
 * JSON answers, and a tenant-key factory. Everything goes through the Worker's own fetch handler.
 */
import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import { ADMIN_TOKEN, MCP_HEADERS, workerFetch } from '../support/worker/fetch'

export interface Answer<T = Record<string, unknown>> {
  status: number
  headers: Headers
  body: T
}

/** One admin API call; `token: null` sends no Authorization header. */
export async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token
  const res = await workerFetch(`https://fw.example/admin/v1${path}`, {
    method,
    headers: {
      ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) } : {}),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: (text === '' ? null : JSON.parse(text)) as T }
}

/**
 * Pays the first-call cost of a test file (Worker start, both Durable Objects, the first config parse,
 * which loads the rule packs) in `beforeAll`, so no single test's timeout absorbs it on a busy machine.
 */
export async function warmUp(): Promise<void> {
  await createTenant(uniqueId('warm-up'), { origin: { url: 'https://origin.example/mcp' } })
}

/** A tenant id no other test uses. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`
}

/** Creates a tenant as the operator and returns its first version's answer. */
export async function createTenant(id: string, config: Record<string, unknown>): Promise<Answer> {
  const res = await call('PUT', `/tenants/${id}`, { body: config })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res
}

/** Issues an admin key for a tenant as the operator. */
export async function issueKey(id: string, body: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const res = await call<{ id: string; key: string }>('POST', `/tenants/${id}/keys`, { body })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body
}

/** The published KV record of a tenant, parsed, or null. */
export async function published(id: string): Promise<{ version: number; config: Record<string, unknown> } | null> {
  const raw = await env.CONFIG.get(`tenant:${id}`)
  return raw === null ? null : (JSON.parse(raw) as { version: number; config: Record<string, unknown> })
}

/** The tenant a `host:` key in KV names, or null. */
export async function hostOwner(hostname: string): Promise<string | null> {
  const raw = await env.CONFIG.get(`host:${hostname}`)
  return raw === null ? null : (JSON.parse(raw) as { tenant: string }).tenant
}

/**
 * A live MCP session with a tenant's endpoint at `/t/<tenant>/mcp` (2025-06-18: `initialize`, then
 * `notifications/initialized`): the URL, the headers its requests carry, and the `initialize` answer as
 * the origin's mode sent it (JSON or an event stream).
 */
export async function openSession(tenant: string): Promise<{ url: string; headers: Record<string, string>; initialized: string }> {
  const protocolVersion = '2025-06-18'
  const url = `https://fw.example/t/${tenant}/mcp`
  const init = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'control-test', version: '1' } } }
  const res = await workerFetch(url, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(init) })
  expect(res.status).toBe(200)
  const initialized = await res.text()
  const headers = { ...MCP_HEADERS, 'mcp-session-id': res.headers.get('mcp-session-id') ?? '', 'mcp-protocol-version': protocolVersion }
  expect((await workerFetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).status).toBe(202)
  return { url, headers, initialized }
}

