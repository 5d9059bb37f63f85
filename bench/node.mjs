/**
 * Runs a bench that measures in Node (`node bench/node.mjs bench/inspect.ts [args…]`) bundled as wrangler
 * bundles the Worker: esbuild, without keep_names (wrangler.toml turns it off). tsx, which runs the other
 * scripts, keeps function names by wrapping every named closure in a helper call each time one is
 * created; on the inspection path that wrapper cost more than the work it wrapped (a 120-row structured
 * result: about 16 ms per message under tsx, 2.6 ms bundled), so figures taken under tsx described tsx.
 * The bundle goes to `.bench/`, one level below the repository, so the bench's own relative URLs
 * (`../src/…`, `../.bench/…`) still resolve.
 */
import { build } from 'esbuild'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'

const [entry, ...args] = process.argv.slice(2)
if (entry === undefined) {
  console.error('usage: node bench/node.mjs <bench script> [args…]')
  process.exit(2)
}
const outfile = new URL(`../.bench/${basename(entry).replace(/\.ts$/, '')}.mjs`, import.meta.url)
await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  keepNames: false,
  outfile: fileURLToPath(outfile),
  logLevel: 'warning',
})
process.argv = [process.argv[0] ?? 'node', fileURLToPath(outfile), ...args]
await import(outfile.href)
