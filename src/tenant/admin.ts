/**
 * The minimal admin API: `PUT / GET / DELETE /admin/v1/tenants/:id`, operator token only.
 * The control plane replaces the KV writes with a versioned Durable Object authority that publishes here.
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import type { z } from 'zod'
import { TenantConfig, TenantId } from './config'
import { clearTenantCache, hostKey, HostRecord, readTenantRecord, tenantKey } from './store'
import type { PublishedTenant } from './store'
import { adminAuth } from './admin-auth'
import { checkTargetUrl } from '../proxy/origin-url'
import { urlPolicy } from '../proxy/url-policy-env'
import { readEvents } from '../audit/sink'

const MAX_CONFIG_BYTES = 256 * 1024

export interface FieldIssue {
  path: string
  message: string
}

/** Zod issues as `{ path: "origin.url", message }`, one per bad field. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }))
}

const invalid = (c: Context, issues: FieldIssue[]) => c.json({ error: 'invalid_config', issues }, 400)

export function adminRoutes(): Hono<{ Bindings: Env }> {
  const admin = new Hono<{ Bindings: Env }>().basePath('/admin/v1')
  admin.use('*', adminAuth())

  admin.get('/tenants/:id', async (c) => {
    const id = c.req.param('id')
    if (!TenantId.safeParse(id).success) return c.json({ error: 'invalid_tenant_id' }, 400)
    const record = await readTenantRecord(c.env.CONFIG, id)
    if (record === null) return c.json({ error: 'not_found' }, 404)
    if (record === 'invalid') return c.json({ error: 'stored_config_invalid' }, 500)
    return c.json({ id, ...record })
  })

  admin.put('/tenants/:id', async (c) => {
    const id = c.req.param('id')
    if (!TenantId.safeParse(id).success) return invalid(c, [{ path: 'id', message: 'must match [a-z0-9-]{1,63}' }])
    const text = await c.req.text()
    if (text.length > MAX_CONFIG_BYTES) return c.json({ error: 'config_too_large' }, 413)
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return c.json({ error: 'invalid_json' }, 400)
    }
    const parsed = TenantConfig.safeParse(body)
    if (!parsed.success) return invalid(c, fieldIssues(parsed.error))
    const config = parsed.data

    const policy = urlPolicy(c.env, new URL(c.req.url).hostname, config.hosts)
    const target = checkTargetUrl(config.origin.url, policy)
    if (!target.ok) return invalid(c, [{ path: 'origin.url', message: target.reason }])
    if (await c.env.CONFIG.get(hostKey(target.url.hostname))) {
      return invalid(c, [{ path: 'origin.url', message: "must not point at a hostname routed to this firewall" }])
    }

    for (const [i, host] of config.hosts.entries()) {
      const owner = HostRecord.safeParse(JSON.parse((await c.env.CONFIG.get(hostKey(host))) ?? 'null'))
      if (owner.success && owner.data.tenant !== id) {
        return c.json({ error: 'host_conflict', issues: [{ path: `hosts.${i}`, message: 'hostname belongs to another tenant' }] }, 409)
      }
    }

    const previous = await readTenantRecord(c.env.CONFIG, id)
    const prior = previous && previous !== 'invalid' ? previous : null
    const record: PublishedTenant = {
      schema: 1,
      version: (prior?.version ?? 0) + 1,
      updatedAt: new Date().toISOString(),
      config,
    }
    // Hosts first, then the config: a reader that sees the new config can already route its hostnames.
    for (const host of config.hosts) await c.env.CONFIG.put(hostKey(host), JSON.stringify({ tenant: id }))
    await c.env.CONFIG.put(tenantKey(id), JSON.stringify(record))
    for (const host of prior?.config.hosts ?? []) {
      if (!config.hosts.includes(host)) await c.env.CONFIG.delete(hostKey(host))
    }
    clearTenantCache(id)
    return c.json({ id, ...record }, prior ? 200 : 201)
  })

  admin.delete('/tenants/:id', async (c) => {
    const id = c.req.param('id')
    if (!TenantId.safeParse(id).success) return c.json({ error: 'invalid_tenant_id' }, 400)
    const record = await readTenantRecord(c.env.CONFIG, id)
    if (record === null) return c.json({ error: 'not_found' }, 404)
    if (record !== 'invalid') for (const host of record.config.hosts) await c.env.CONFIG.delete(hostKey(host))
    await c.env.CONFIG.delete(tenantKey(id))
    clearTenantCache(id)
    return c.body(null, 204)
  })

  admin.get('/tenants/:id/events', async (c) => {
    const id = c.req.param('id')
    if (!TenantId.safeParse(id).success) return c.json({ error: 'invalid_tenant_id' }, 400)
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 100) || 100, 1), 1000)
    return c.json({ events: await readEvents(c.env, id, limit) })
  })

  return admin
}
