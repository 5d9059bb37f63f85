/**
 * Admin API for tenant secrets and client API keys (operator token, like the rest of `/admin/v1`):
 *
 * - `PUT    /admin/v1/tenants/:id/secrets/:name` `{ "value": "…" }` → 204 (create or replace)
 * - `GET    /admin/v1/tenants/:id/secrets` → `{ secrets: [{ name, updatedAt }] }`; values never leave
 * - `DELETE /admin/v1/tenants/:id/secrets/:name` → 204 | 404
 * - `POST   /admin/v1/tenants/:id/secrets/reencrypt` → `{ reencrypted, current, unreadable, changed }` (key rotation)
 * - `POST   /admin/v1/tenants/:id/client-keys` `{ name?, expiresAt? }` → 201 `{ id, key, createdAt, expiresAt, name? }`
 *   (the only time the key is shown)
 * - `GET    /admin/v1/tenants/:id/client-keys` → `{ keys: [{ id, createdAt, expiresAt, name? }] }`
 * - `DELETE /admin/v1/tenants/:id/client-keys/:keyId` → 204 | 404
 *
 * Callers: the operator, or an admin key of the same tenant. The tenant must exist. Only secret writes
 * need `SECRETS_MASTER_KEY`. A webhook's signing secret is the operator's, as the webhook is: a tenant key
 * that replaces or deletes one is refused (403), or a leaked key could forge the operator's alerts or
 * silence them.
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { adminAuth, forbidden, tenantAccess } from '../tenant/admin-auth'
import type { AdminEnv } from '../tenant/admin-auth'
import { putSecret, reencryptSecrets, SecretInput, SecretName } from '../tenant/secrets'
import { answerFailures, answerUnrouted, authorityRecord, existingTenant, readJson, secretsDisabled } from '../tenant/admin-http'
import { fieldIssues } from '../tenant/issues'
import { ClientKeyId, ClientKeyInput, issueClientKey } from './api-keys'
import { keyring } from './master-key'
import { clearCredentialCache } from './origin-credential'
import { kvAuthStore } from './storage'

const MAX_BODY_BYTES = 32 * 1024
const AUTH_ADMIN_PATH = /^\/admin\/v1\/tenants\/[^/]+\/(secrets|client-keys)(\/|$)/

/** True for the paths this module serves (app.ts routes them here before the tenant admin API). */
export function isAuthAdminPath(pathname: string): boolean {
  return AUTH_ADMIN_PATH.test(pathname)
}

/** The secrets and client-key routes, with their own operator-token check. */
export function authAdminRoutes(): Hono<AdminEnv> {
  const admin = new Hono<AdminEnv>().basePath('/admin/v1/tenants/:id')
  admin.use('*', adminAuth())
  admin.use('*', tenantAccess())
  admin.use('*', existingTenant())
  answerUnrouted(admin)
  answerFailures(admin)

  admin.get('/secrets', async (c) => c.json({ secrets: await kvAuthStore(c.env.CONFIG).listSecrets(tenantOf(c)) }))

  admin.post('/secrets/reencrypt', async (c) => {
    const ring = await keyring(c.env)
    if (!ring) return secretsDisabled(c)
    const result = await reencryptSecrets(kvAuthStore(c.env.CONFIG), ring, tenantOf(c))
    clearCredentialCache(tenantOf(c))
    return c.json(result)
  })

  admin.put('/secrets/:name', async (c) => {
    const name = SecretName.safeParse(c.req.param('name'))
    if (!name.success) return c.json({ error: 'invalid_secret_name', message: name.error.issues[0]?.message }, 400)
    if (await operatorSecret(c, name.data)) return forbidden(c)
    const body = await readJson(c, { max: MAX_BODY_BYTES, tooLarge: 'body_too_large' })
    if (!body.ok) return body.response
    const input = SecretInput.safeParse(body.value)
    if (!input.success) return c.json({ error: 'invalid_secret', issues: fieldIssues(input.error) }, 400)
    const ring = await keyring(c.env)
    if (!ring) return secretsDisabled(c)
    await putSecret(kvAuthStore(c.env.CONFIG), ring, tenantOf(c), name.data, input.data.value)
    clearCredentialCache(tenantOf(c))
    return c.body(null, 204)
  })

  admin.delete('/secrets/:name', async (c) => {
    const name = SecretName.safeParse(c.req.param('name'))
    if (!name.success) return c.json({ error: 'not_found' }, 404)
    if (await operatorSecret(c, name.data)) return forbidden(c)
    const deleted = await kvAuthStore(c.env.CONFIG).deleteSecret(tenantOf(c), name.data)
    clearCredentialCache(tenantOf(c))
    return deleted ? c.body(null, 204) : c.json({ error: 'not_found' }, 404)
  })

  admin.post('/client-keys', async (c) => {
    const body = await readJson(c, { allowEmpty: true, max: MAX_BODY_BYTES, tooLarge: 'body_too_large' })
    if (!body.ok) return body.response
    const input = ClientKeyInput.safeParse(body.value)
    if (!input.success) return c.json({ error: 'invalid_client_key', issues: fieldIssues(input.error) }, 400)
    if (input.data.expiresAt !== undefined && !(Date.parse(input.data.expiresAt) > Date.now())) {
      return c.json({ error: 'invalid_client_key', issues: [{ path: 'expiresAt', message: 'must be in the future' }] }, 400)
    }
    const issued = await issueClientKey(kvAuthStore(c.env.CONFIG), tenantOf(c), input.data)
    return c.json(issued, 201, { 'cache-control': 'no-store' })
  })

  admin.get('/client-keys', async (c) => c.json({ keys: await kvAuthStore(c.env.CONFIG).listClientKeys(tenantOf(c)) }))

  admin.delete('/client-keys/:keyId', async (c) => {
    const keyId = ClientKeyId.safeParse(c.req.param('keyId'))
    if (!keyId.success) return c.json({ error: 'not_found' }, 404)
    const deleted = await kvAuthStore(c.env.CONFIG).deleteClientKey(tenantOf(c), keyId.data)
    return deleted ? c.body(null, 204) : c.json({ error: 'not_found' }, 404)
  })

  return admin
}

function tenantOf(c: Context<AdminEnv>): string {
  return c.req.param('id') ?? ''
}

/**
 * True when a tenant key asks to change a secret the operator's services are called with: one a webhook
 * signs with, or the second stage's bearer token (its URL is the operator's too). Read from the tenant's
 * authority (the strongly consistent config), not KV's copy.
 */
async function operatorSecret(c: Context<AdminEnv>, name: string): Promise<boolean> {
  if (c.var.actor.kind === 'operator') return false
  const record = await authorityRecord(c, tenantOf(c))
  // A config that cannot be read says nothing about its webhooks: refuse rather than guess.
  if (!record) return true
  const config = record.config
  return config.alerts.webhooks.some((hook) => hook.secret === name) || config.policy.classifier.secondStage?.secret === name
}

