/**
 * Helpers for tests that run inside workerd against the real Worker (`exports.default`) with real
 * local KV and Durable Objects.
 */
import { exports } from 'cloudflare:workers'

export const ADMIN_TOKEN = 'test-admin-token'

/** The Worker's own fetch handler, as the runtime would call it. */
export function workerFetch(input: string, init?: RequestInit): Promise<Response> {
  return (exports as unknown as { default: Fetcher }).default.fetch(input, init)
}

/** Calls the admin API with the operator token. */
export function admin(method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<Response> {
  return workerFetch(`https://fw.example/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  })
}

/** Standard MCP POST headers (both Accept types, JSON content type). */
export const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' } as const
