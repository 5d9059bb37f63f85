/**
 * Limits on the admin API, driven with exact stand-in bindings and a recording `next` (the admin
 * routes), so each case can assert whether the token was ever compared.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { limitAdmin } from '../../src/abuse/admin-guard'
import { forgetRefusals } from '../../src/abuse/limiter'
import { ExactLimit, envWith, unreachable } from './abuse-support'

/** Admin routes that accept only `Bearer good`; `compared` counts how often they ran. */
function adminApi(e: Env) {
  let compared = 0
  const send = (ip: string | null, token: string): Promise<Response> => {
    const headers = new Headers({ authorization: `Bearer ${token}`, ...(ip ? { 'cf-connecting-ip': ip } : {}) })
    const request = new Request('https://fw.example/admin/v1/tenants/acme', { headers })
    return limitAdmin(request, e, 'req-1', async () => {
      compared++
      return token === 'good' ? Response.json({ ok: true }) : Response.json({ error: 'unauthorized' }, { status: 401 })
    })
  }
  return { send, compared: () => compared }
}

beforeEach(() => forgetRefusals())

describe('limitAdmin', () => {
  it('past the failed-authentication limit answers 429 with Retry-After, then refuses that address before comparing any token', async () => {
    const api = adminApi(envWith({ admin_ip: new ExactLimit(1000), admin_failed_ip: new ExactLimit(3) }))
    for (let i = 0; i < 3; i++) expect((await api.send('203.0.113.1', 'guess')).status).toBe(401)
    const limited = await api.send('203.0.113.1', 'guess')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(await limited.json()).toEqual({ error: 'rate_limited' })
    expect(api.compared()).toBe(4)

    const again = await api.send('203.0.113.1', 'good')
    expect(again.status).toBe(429)
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(api.compared()).toBe(4)

    expect((await api.send('198.51.100.2', 'good')).status).toBe(200)
  })

  it('past the overall per-address limit answers 429 before the routes run', async () => {
    const api = adminApi(envWith({ admin_ip: new ExactLimit(3), admin_failed_ip: unreachable }))
    for (let i = 0; i < 3; i++) expect((await api.send('203.0.113.1', 'good')).status).toBe(200)
    const limited = await api.send('203.0.113.1', 'good')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(api.compared()).toBe(3)
    expect((await api.send('203.0.113.2', 'good')).status).toBe(200)
  })

  it('does not count successful requests as failures', async () => {
    const failed = new ExactLimit(1)
    const api = adminApi(envWith({ admin_ip: new ExactLimit(1000), admin_failed_ip: failed }))
    for (let i = 0; i < 5; i++) expect((await api.send('203.0.113.1', 'good')).status).toBe(200)
    expect(failed.calls).toEqual([])
  })

  it('does not limit a request without a client address (service binding, in-process caller)', async () => {
    const api = adminApi(envWith({ admin_ip: unreachable, admin_failed_ip: unreachable }))
    for (let i = 0; i < 5; i++) expect((await api.send(null, 'guess')).status).toBe(401)
  })
})
