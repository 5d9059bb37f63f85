/**
 * Writes schemas/tenant-config.schema.json, the JSON Schema of a tenant config file, generated from the
 * zod schema the admin API validates with, so editors and the firewall agree. A test fails when it is
 * stale.
 *
 *   npm run gen:config-schema
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tenantConfigJsonSchema } from '../src/tenant/json-schema'

const out = resolve(dirname(fileURLToPath(import.meta.url)), '../schemas/tenant-config.schema.json')
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, `${JSON.stringify(tenantConfigJsonSchema(), null, 2)}\n`)
console.log(`wrote ${out}`)
