/**
 * A frozen copy of what the bench's two Workers are built from.
 *
 * wrangler's dev bundler always watches every file esbuild read (sources, tsconfig.json, package.json,
 * node_modules manifests), whatever `dev.watch` says. In a tree others are editing, the Workers would
 * be rebuilt and restarted mid-run and one table would mix several versions of the code (and the
 * 503s of a restart). So the bench copies `src/`, `rules/`, the configs and the pass-through Worker
 * into `.bench/snapshot/` — inside the checkout, so `node_modules` still resolves — and starts both
 * Workers from there. Edits under node_modules (an `npm install`) can still restart them; run.ts
 * detects that and repeats the affected run.
 */
import { cp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DIR = join(ROOT, '.bench', 'snapshot')
/** Everything the two bundles read from the checkout, outside node_modules. */
const COPIED = ['src', 'rules', 'wrangler.toml', 'tsconfig.json', 'package.json', 'bench/passthrough']

/** Where the copied Workers' configs are. */
export interface Snapshot {
  readonly firewallConfig: string
  readonly passthroughConfig: string
  /** Deletes the copy, so a second src/ does not linger for searches and editors to trip over. */
  remove(): Promise<void>
}

/** Copies the Workers' inputs into `.bench/snapshot/` (replacing any previous copy). */
export async function takeSnapshot(): Promise<Snapshot> {
  await rm(DIR, { recursive: true, force: true })
  // Local state wrangler keeps beside a config (`.wrangler/`) is not an input: leave it behind.
  const filter = (source: string): boolean => !source.split(/[\\/]/).includes('.wrangler')
  for (const entry of COPIED) await cp(join(ROOT, entry), join(DIR, entry), { recursive: true, filter })
  return {
    firewallConfig: join(DIR, 'wrangler.toml'),
    passthroughConfig: join(DIR, 'bench', 'passthrough', 'wrangler.toml'),
    remove: () => rm(DIR, { recursive: true, force: true }),
  }
}
