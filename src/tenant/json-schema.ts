/**
 * The JSON Schema of a tenant config file (what a tenant writes, defaults not applied), generated from
 * the same zod schema the admin API validates with.
 */
import { z } from 'zod'
import { TenantConfig } from './config'

export function tenantConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(TenantConfig, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown> & { properties?: Record<string, unknown> }
  // Config files may name their schema; the CLI drops `$schema` before sending (the API is strict).
  schema.properties = { $schema: { type: 'string' }, ...schema.properties }
  return {
    ...schema,
    $id: 'https://mcp-edge-firewall.dev/schemas/tenant-config.schema.json',
    title: 'MCP edge firewall tenant config',
  }
}
