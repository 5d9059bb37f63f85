/**
 * Admin key routes: list, create (operator only), rotate and revoke. A key is returned once, when it is
 * created or rotated, with `Cache-Control: no-store`; only its SHA-256 is kept. A tenant key may list its
 * tenant's keys and rotate or revoke itself, but not touch another key, mint new ones or extend an expiry.
 */
import type { Context, Hono } from 'hono'
import { forbidden } from './admin-auth'
import type { AdminEnv } from './admin-auth'
import { invalidRequest, readJson } from './admin-http'
import type { KeyResult } from './authority-types'
import { fieldIssues } from './issues'
import { CreateKeyRequest, KeyId, RotateKeyRequest } from './keys'

type Ctx = Context<AdminEnv>

const NO_STORE = { 'Cache-Control': 'no-store' }

/** Adds the key routes under `/tenants/:id/keys` (the tenant scope middleware already ran). */
export function mountKeyRoutes(admin: Hono<AdminEnv>): void {
  admin.get('/tenants/:id/keys', async (c) => {
    const id = c.req.param('id')
    const keys = await c.env.TENANT_CONFIG.getByName(id).listKeys({ tenant: id })
    return keys ? c.json({ keys }) : c.json({ error: 'not_found' }, 404)
  })

  admin.post('/tenants/:id/keys', async (c) => {
    const id = c.req.param('id')
    if (c.var.actor.kind !== 'operator') return forbidden(c)
    const body = await readJson(c, { allowEmpty: true })
    if (!body.ok) return body.response
    const parsed = CreateKeyRequest.safeParse(body.value)
    if (!parsed.success) return invalidRequest(c, fieldIssues(parsed.error))
    const { label, expiresInDays } = parsed.data
    const result = await c.env.TENANT_CONFIG.getByName(id).createKey({ tenant: id, actor: c.var.actor, label: label ?? null, expiresInDays })
    return result.ok ? c.json(result.value, 201, NO_STORE) : keyRefusal(c, result.error)
  })

  admin.post('/tenants/:id/keys/:keyId/rotate', async (c) => {
    const id = c.req.param('id')
    const keyId = c.req.param('keyId')
    if (!KeyId.safeParse(keyId).success) return c.json({ error: 'not_found' }, 404)
    const body = await readJson(c, { allowEmpty: true })
    if (!body.ok) return body.response
    const parsed = RotateKeyRequest.safeParse(body.value)
    if (!parsed.success) return invalidRequest(c, fieldIssues(parsed.error))
    if (c.var.actor.kind !== 'operator' && parsed.data.expiresInDays !== undefined) return forbidden(c)
    const result = await c.env.TENANT_CONFIG.getByName(id).rotateKey({
      tenant: id,
      actor: c.var.actor,
      keyId,
      expiresInDays: parsed.data.expiresInDays ?? null,
      graceSeconds: parsed.data.graceSeconds,
    })
    return result.ok ? c.json(result.value, 201, NO_STORE) : keyRefusal(c, result.error)
  })

  admin.delete('/tenants/:id/keys/:keyId', async (c) => {
    const id = c.req.param('id')
    const keyId = c.req.param('keyId')
    if (!KeyId.safeParse(keyId).success) return c.json({ error: 'not_found' }, 404)
    const result = await c.env.TENANT_CONFIG.getByName(id).revokeKey({ tenant: id, actor: c.var.actor, keyId })
    return result.ok ? c.body(null, 204) : keyRefusal(c, result.error)
  })
}

function keyRefusal(c: Ctx, error: Extract<KeyResult<unknown>, { ok: false }>['error']): Response {
  switch (error) {
    case 'not_found':
      return c.json({ error: 'not_found' }, 404)
    case 'forbidden':
      return forbidden(c)
    case 'key_inactive':
      return c.json({ error: 'key_inactive' }, 409)
    case 'too_many_keys':
      return c.json({ error: 'too_many_keys' }, 409)
  }
}
