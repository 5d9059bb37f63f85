/**
 * An open stream and its tenant's stored config: a record that no longer parses refuses new requests
 * (-31003 "configuration error", fail closed), and a stream opened before it ends the same way at its next
 * re-check instead of going on under the last good policy.
 */
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { clearTenantCache, tenantKey } from '../../src/tenant/store'
import { workerFetch } from '../support/worker/fetch'
import { createTenant, openSession, uniqueId, warmUp } from './control-support'

beforeAll(warmUp, 30_000)

describe('an open stream whose stored config stops parsing', { timeout: 30_000 }, () => {
  it('ends with the refusal new requests get', async () => {
    const id = uniqueId('stream-bad-config')
    await createTenant(id, { origin: { url: inject('originUrl') } })
    const { url, headers } = await openSession(id)

    const stream = await workerFetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'slow', arguments: { ms: 12_000 } } }) })
    expect(stream.headers.get('content-type')).toContain('text/event-stream')
    // The record is damaged in storage (not through the API, which validates): the isolate's next read finds it.
    await env.CONFIG.put(tenantKey(id), '{"version":2,"config":{"origin":"not a config"}}')
    clearTenantCache(id)
    const text = await stream.text()
    const last = text.trim().split('\n').filter((l) => l.startsWith('data: ')).at(-1) ?? ''
    expect(JSON.parse(last.slice(6))).toMatchObject({ id: 7, error: { code: -31003, message: 'Endpoint unavailable: configuration error' } })

    const refused = await workerFetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'ping' }) })
    expect(refused.status).toBe(503)
  })
})
