/**
 * Writes rules/rule.schema.json, the JSON Schema of a rule-pack file, generated from the zod schema the
 * engine validates packs with (so editors and the engine agree). A test fails when it is stale.
 *
 *   npm run gen:rule-schema
 */
import { writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { RulePack } from '../src/detectors/rules/schema'

const out = resolve(dirname(fileURLToPath(import.meta.url)), '../rules/rule.schema.json')
writeFileSync(out, `${JSON.stringify(z.toJSONSchema(RulePack, { io: 'input' }), null, 2)}\n`)
console.log(`wrote ${out}`)
