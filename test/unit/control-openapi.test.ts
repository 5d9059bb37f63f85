import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { workerFetch } from '../support/worker/fetch'
import { adminRoutes } from '../../src/tenant/admin'
import { authAdminRoutes } from '../../src/auth/admin-routes'
import { killRoutes } from '../../src/guard/admin-routes'
import { alertRoutes } from '../../src/alerts/admin-routes'
import { toolRoutes } from '../../src/tools/admin-routes'
import { usageRoutes } from '../../src/budget/admin-routes'
import { TenantConfig } from '../../src/tenant/config'
import { DryRunRequest } from '../../src/tenant/dry-run'

type Doc = {
  openapi: string
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref: string } }> }; responses: Record<string, unknown> }>>
  components: { schemas: Record<string, unknown> }
}

async function fetchDoc(): Promise<Doc> {
  const res = await workerFetch('https://fw.example/admin/v1/openapi.json')
  expect(res.status).toBe(200)
  return res.json<Doc>()
}

describe('admin OpenAPI document', () => {
  it('is served without a credential and describes exactly the routes the app serves', async () => {
    const doc = await fetchDoc()
    expect(doc.openapi).toBe('3.1.0')
    const apps: Array<{ routes: Array<{ method: string; path: string }> }> = [adminRoutes(), authAdminRoutes(), killRoutes(), alertRoutes(), toolRoutes(), usageRoutes()]
    const served = apps
      .flatMap((app) => app.routes)
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace('/admin/v1', '').replace(/:(\w+)/g, '{$1}')}`)
      .filter((r) => r !== 'get /openapi.json')
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
    // Every admin sub-app's routes, not only the tenant config app's.
    expect(documented.sort()).toEqual([...new Set(served)].sort())
  })

  it('generates its schemas from the validation schemas, with every reference resolvable', async () => {
    const doc = await fetchDoc()
    const { $schema: _a, ...config } = z.toJSONSchema(TenantConfig, { io: 'input', unrepresentable: 'any' })
    expect(doc.components.schemas['TenantConfigInput']).toEqual(config)
    const { $schema: _b, ...dry } = z.toJSONSchema(DryRunRequest, { io: 'input', unrepresentable: 'any' })
    expect(doc.components.schemas['DryRunRequest']).toEqual(dry)
    expect(doc.paths['/tenants/{id}']?.['put']?.requestBody?.content['application/json']?.schema).toEqual({ $ref: '#/components/schemas/TenantConfigInput' })
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1] ?? '')
    expect(refs.length).toBeGreaterThan(10)
    for (const ref of refs) expect(Object.keys(doc.components.schemas)).toContain(ref.replace('#/components/schemas/', ''))
  })
})
