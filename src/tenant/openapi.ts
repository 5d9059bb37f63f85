/**
 * The admin API's OpenAPI 3.1 document, generated from the zod schemas the routes validate with
 * (`z.toJSONSchema`, JSON Schema 2020-12, which OpenAPI 3.1 uses natively). Request bodies are described
 * as accepted (`io: 'input'`: defaults optional), responses as sent (`io: 'output'`).
 */
import { z } from 'zod'
import { PolicyConfig, TenantConfig } from './config'
import {
  ErrorResponse, EventsResponse, PolicyResponse, RollbackRequest, TenantListResponse, TenantResponse, VersionResponse,
  VersionsResponse, WrittenPolicyResponse, WrittenTenantResponse,
} from './admin-schemas'
import { DryRunRequest, DryRunResponse } from './dry-run'
import { CreateKeyRequest, IssuedKey, KeyInfo, RotateKeyRequest } from './keys'
import { SecretInput } from './secrets'
import { ClientKeyInput } from '../auth/api-keys'
import { KillBody } from '../guard/admin-routes'

type Method = 'get' | 'put' | 'post' | 'delete'
type Reply = [status: number, description: string, schema?: string]

interface Operation {
  method: Method
  path: string
  summary: string
  /** Operator token only; otherwise a key of the same tenant may call it too. */
  operatorOnly?: boolean
  body?: string
  /** Takes `If-Match` / `If-None-Match`. */
  conditional?: boolean
  replies: Reply[]
}

const requests: Record<string, z.ZodType> = {
  TenantConfigInput: TenantConfig,
  PolicyConfigInput: PolicyConfig,
  RollbackRequest,
  DryRunRequest,
  CreateKeyRequest,
  RotateKeyRequest,
  SecretInput,
  ClientKeyInput,
  KillRequest: KillBody,
}

const responses: Record<string, z.ZodType> = {
  Tenant: TenantResponse,
  WrittenTenant: WrittenTenantResponse,
  Policy: PolicyResponse,
  WrittenPolicy: WrittenPolicyResponse,
  Versions: VersionsResponse,
  Version: VersionResponse,
  TenantList: TenantListResponse,
  Events: EventsResponse,
  DryRunResult: DryRunResponse,
  KeyList: z.object({ keys: z.array(KeyInfo) }).strict(),
  IssuedKey,
  Error: ErrorResponse,
  KillState: z.object({ killed: z.boolean(), tools: z.array(z.string()), version: z.number().int() }).strict(),
  // Answers of the sub-apps whose shapes are documented with their modules (src/auth, src/alerts,
  // src/tools, src/budget): described here as JSON objects.
  Object: z.object({}).passthrough(),
}

const denied: Reply[] = [[401, 'Missing or invalid credential', 'Error'], [403, 'Not allowed for this credential', 'Error']]
const write: Reply[] = [
  [400, 'Invalid body: one issue per field path', 'Error'],
  [409, 'A hostname belongs to another tenant', 'Error'],
  [410, 'The tenant was deleted; its id is never reused', 'Error'],
  [412, 'If-Match does not name the current version', 'Error'],
  [503, 'The config needs tenant secrets and SECRETS_MASTER_KEY is not set', 'Error'],
]

/** Every admin route. A test checks this list against the routes the app serves. */
export const operations: readonly Operation[] = [
  { method: 'get', path: '/tenants', summary: 'List tenants (`?deleted=true` includes tombstones)', operatorOnly: true, replies: [[200, 'Tenants', 'TenantList']] },
  { method: 'get', path: '/tenants/{id}', summary: 'Read the current config (ETag = version)', replies: [[200, 'Current config', 'Tenant'], [404, 'No such tenant', 'Error']] },
  { method: 'put', path: '/tenants/{id}', summary: 'Create (operator) or replace the config', body: 'TenantConfigInput', conditional: true, replies: [[200, 'Replaced', 'WrittenTenant'], [201, 'Created', 'WrittenTenant'], ...write] },
  { method: 'delete', path: '/tenants/{id}', summary: 'Delete: purge config and keys, release hostnames, retire the id', operatorOnly: true, conditional: true, replies: [[204, 'Deleted'], [404, 'No such tenant', 'Error'], [412, 'Version mismatch', 'Error']] },
  { method: 'get', path: '/tenants/{id}/policy', summary: 'Read the policy part', replies: [[200, 'Policy', 'Policy'], [404, 'No such tenant', 'Error']] },
  { method: 'put', path: '/tenants/{id}/policy', summary: 'Replace the policy part only', body: 'PolicyConfigInput', conditional: true, replies: [[200, 'Replaced', 'WrittenPolicy'], [404, 'No such tenant', 'Error'], ...write] },
  { method: 'get', path: '/tenants/{id}/versions', summary: 'Version history (last 20), newest first', replies: [[200, 'Versions', 'Versions'], [404, 'No such tenant', 'Error']] },
  { method: 'get', path: '/tenants/{id}/versions/{version}', summary: 'One retained version with its config', replies: [[200, 'Version', 'Version'], [404, 'No such version', 'Error']] },
  { method: 'post', path: '/tenants/{id}/rollback', summary: 'Make a retained version current again (as a new version)', body: 'RollbackRequest', conditional: true, replies: [[200, 'Rolled back', 'WrittenTenant'], [404, 'No such version', 'Error'], ...write] },
  { method: 'post', path: '/tenants/{id}/test', summary: 'Dry run: inspect one message under the current or a proposed config; nothing is forwarded', body: 'DryRunRequest', replies: [[200, 'Verdict', 'DryRunResult'], [400, 'Invalid body', 'Error'], [404, 'No such tenant', 'Error']] },
  { method: 'get', path: '/tenants/{id}/events', summary: 'Security events, or with `?kind=admin` admin writes, newest first (`?limit=` 1 to 1000, default 100); kept after the tenant is deleted', replies: [[200, 'Events', 'Events'], [400, 'Unknown query parameter or value', 'Error'], [404, 'No such tenant', 'Error']] },
  { method: 'get', path: '/tenants/{id}/keys', summary: 'List admin keys (never the keys)', replies: [[200, 'Keys', 'KeyList'], [404, 'No such tenant', 'Error']] },
  { method: 'post', path: '/tenants/{id}/keys', summary: 'Create an admin key: returned once', operatorOnly: true, body: 'CreateKeyRequest', replies: [[201, 'The key, shown once', 'IssuedKey'], [409, 'Too many active keys', 'Error']] },
  { method: 'post', path: '/tenants/{id}/keys/{keyId}/rotate', summary: 'Replace a key with a new one (returned once)', body: 'RotateKeyRequest', replies: [[201, 'The new key, shown once', 'IssuedKey'], [404, 'No such key', 'Error'], [409, 'Key revoked or expired', 'Error']] },
  { method: 'delete', path: '/tenants/{id}/keys/{keyId}', summary: 'Revoke a key at once', replies: [[204, 'Revoked'], [404, 'No such key', 'Error']] },
  // Tenant secrets and client API keys (src/auth/admin-routes.ts).
  { method: 'get', path: '/tenants/{id}/secrets', summary: 'List secret names (never values)', replies: [[200, 'Names and update times', 'Object'], [404, 'No such tenant', 'Error']] },
  { method: 'put', path: '/tenants/{id}/secrets/{name}', summary: 'Store a secret, encrypted (AES-GCM under a per-tenant key)', body: 'SecretInput', replies: [[204, 'Stored'], [400, 'Invalid body', 'Error'], [404, 'No such tenant', 'Error'], [503, 'SECRETS_MASTER_KEY is not set', 'Error']] },
  { method: 'delete', path: '/tenants/{id}/secrets/{name}', summary: 'Delete a secret', replies: [[204, 'Deleted'], [404, 'No such secret, or no such tenant', 'Error']] },
  { method: 'post', path: '/tenants/{id}/secrets/reencrypt', summary: 'Re-encrypt every secret under the current master key', replies: [[200, 'Counts', 'Object'], [404, 'No such tenant', 'Error'], [503, 'SECRETS_MASTER_KEY is not set', 'Error']] },
  { method: 'get', path: '/tenants/{id}/client-keys', summary: 'List client API keys (never the keys)', replies: [[200, 'Keys', 'Object'], [404, 'No such tenant', 'Error']] },
  { method: 'post', path: '/tenants/{id}/client-keys', summary: 'Issue a client API key: returned once', body: 'ClientKeyInput', replies: [[201, 'The key, shown once', 'Object'], [400, 'Invalid body', 'Error'], [404, 'No such tenant', 'Error']] },
  { method: 'delete', path: '/tenants/{id}/client-keys/{keyId}', summary: 'Revoke a client API key', replies: [[204, 'Revoked'], [404, 'No such key, or no such tenant', 'Error']] },
  // Kill switch (src/guard/admin-routes.ts).
  { method: 'get', path: '/tenants/{id}/kill', summary: 'Kill switch state', replies: [[200, 'State', 'KillState'], [404, 'No such tenant', 'Error']] },
  { method: 'post', path: '/tenants/{id}/kill', summary: 'Stop the tenant, or one tool (`{"tool":"name"}`)', body: 'KillRequest', replies: [[200, 'State', 'KillState'], [400, 'Invalid body', 'Error'], [404, 'No such tenant', 'Error']] },
  { method: 'delete', path: '/tenants/{id}/kill', summary: 'Restore the tenant, or one tool (`{"tool":"name"}` or `?tool=name`)', replies: [[200, 'State', 'KillState'], [400, 'Invalid body', 'Error'], [404, 'No such tenant', 'Error']] },
  // Alerts (src/alerts/admin-routes.ts).
  { method: 'get', path: '/tenants/{id}/alerts', summary: 'Recent webhook deliveries and their status (`?status=`, `?limit=` 1 to 500)', replies: [[200, 'Deliveries', 'Object'], [400, 'Unknown query parameter or value', 'Error'], [404, 'No such tenant', 'Error']] },
  { method: 'post', path: '/tenants/{id}/alerts/test', summary: 'Send a signed test alert to every webhook', replies: [[202, 'Queued', 'Object'], [404, 'No such tenant', 'Error']] },
  // Tool integrity (src/tools/admin-routes.ts).
  { method: 'get', path: '/tenants/{id}/tools', summary: 'Pins and pending changes with a readable diff (`?state=`, `?origin=`)', replies: [[200, 'Pins', 'Object'], [400, 'Unknown query parameter or value', 'Error'], [404, 'No such tenant', 'Error']] },
  { method: 'post', path: '/tenants/{id}/tools/{name}/approve', summary: 'Approve a pending definition', replies: [[200, 'Approved', 'Object'], [404, 'Nothing pending, or no such tenant', 'Error']] },
  { method: 'post', path: '/tenants/{id}/tools/{name}/reject', summary: 'Reject a pending definition', replies: [[200, 'Rejected', 'Object'], [404, 'Nothing pending, or no such tenant', 'Error']] },
  { method: 'post', path: '/tenants/{id}/tools/approve-all', summary: 'Approve every pending definition (release pipelines)', replies: [[200, 'Approved', 'Object'], [404, 'No such tenant', 'Error']] },
  { method: 'get', path: '/tenants/{id}/tools/calls', summary: 'Calls to requireApproval tools waiting for a grant', replies: [[200, 'Calls', 'Object'], [400, 'A query parameter (it takes none)', 'Error'], [404, 'No such tenant', 'Error']] },
  { method: 'post', path: '/tenants/{id}/tools/calls/{approvalId}/approve', summary: 'Grant one waiting call for the approval window', replies: [[200, 'Granted', 'Object'], [404, 'No such call, or no such tenant', 'Error']] },
  { method: 'post', path: '/tenants/{id}/tools/calls/{approvalId}/reject', summary: 'Drop one waiting call, or revoke its unused grant', replies: [[200, 'Rejected: the row as it was', 'Object'], [404, 'No such call, or no such tenant', 'Error']] },
  // Budgets (src/budget/admin-routes.ts).
  { method: 'get', path: '/tenants/{id}/usage', summary: 'Tokens (o200k) and requests used and remaining per window', replies: [[200, 'Usage', 'Object']] },
]

let cached: Record<string, unknown> | undefined

/** The OpenAPI document, built once per isolate. */
export function openApiDocument(): Record<string, unknown> {
  cached ??= build()
  return cached
}

function build(): Record<string, unknown> {
  const schemas: Record<string, unknown> = {}
  for (const [name, s] of Object.entries(requests)) schemas[name] = jsonSchema(s, 'input')
  for (const [name, s] of Object.entries(responses)) schemas[name] = jsonSchema(s, 'output')
  const paths: Record<string, Record<string, unknown>> = {}
  for (const op of operations) (paths[op.path] ??= {})[op.method] = operation(op)
  return {
    openapi: '3.1.0',
    info: { title: 'MCP edge firewall admin API', version: '1' },
    servers: [{ url: '/admin/v1' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The operator token (ADMIN_TOKEN) or a tenant admin key (mcpfw_<tenant>_<keyId>_<secret>)' },
      },
      schemas,
    },
    paths,
  }
}

function operation(op: Operation): Record<string, unknown> {
  const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '')
  const parameters: unknown[] = names.map((name) => ({ name, in: 'path', required: true, schema: { type: name === 'version' ? 'integer' : 'string' } }))
  if (op.conditional) {
    parameters.push({ name: 'If-Match', in: 'header', required: false, description: 'Current version (`3` or `"3"`), or `*`', schema: { type: 'string' } })
    parameters.push({ name: 'If-None-Match', in: 'header', required: false, description: '`*`: create only', schema: { type: 'string' } })
  }
  const replies = [...op.replies, ...denied]
  return {
    summary: op.summary,
    ...(op.operatorOnly ? { description: 'Operator token only.' } : {}),
    parameters,
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(op.body) } } } } : {}),
    responses: Object.fromEntries(
      replies.map(([status, description, schema]) => [
        String(status),
        { description, ...(schema ? { content: { 'application/json': { schema: ref(schema) } } } : {}) },
      ]),
    ),
  }
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): unknown {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' })
  return rest
}
