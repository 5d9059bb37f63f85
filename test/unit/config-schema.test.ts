import { describe, expect, it } from 'vitest'
import committed from '../../schemas/tenant-config.schema.json'
import example from '../../examples/tenant.json'
import { tenantConfigJsonSchema } from '../../src/tenant/json-schema'
import { TenantConfig } from '../../src/tenant/config'

describe('tenant config JSON Schema', () => {
  it('is generated from the zod schema and committed fresh (run npm run gen:config-schema)', () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(tenantConfigJsonSchema())))
  })

  it('accepts the shipped example once $schema is dropped, as the CLI does', () => {
    const { $schema: _ignored, ...config } = example as Record<string, unknown>
    expect(TenantConfig.safeParse(config).success).toBe(true)
  })
})
