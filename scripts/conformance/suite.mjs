// Runs the official conformance suite (@modelcontextprotocol/conformance, pinned) against one URL and
// reads its per-scenario `checks.json` files. The suite needs Node >= 22; on an older Node it runs
// under `npx -p node@22` (fetched from the npm registry once, then cached in ~/.npm/_npx).
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

export const CONFORMANCE_PACKAGE = '@modelcontextprotocol/conformance@0.1.16'

function npxArgs() {
  const major = Number(process.versions.node.split('.')[0])
  const nodePkg = major >= 22 ? [] : ['-p', 'node@22']
  return ['-y', ...nodePkg, '-p', CONFORMANCE_PACKAGE, 'conformance']
}

/**
 * Runs `conformance server --url <url> --suite <suite> -o <outDir>`; its output goes to
 * `<outDir>/run.log`. Resolves with the exit code (non-zero when any check failed).
 */
export async function runSuite(url, outDir, { suite = 'all', scenario } = {}) {
  await mkdir(outDir, { recursive: true })
  const args = [...npxArgs(), 'server', '--url', url, '-o', outDir, ...(scenario ? ['--scenario', scenario] : ['--suite', suite])]
  const log = createWriteStream(join(outDir, 'run.log'))
  const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } })
  child.stdout.pipe(log, { end: false })
  child.stderr.pipe(log, { end: false })
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  log.end()
  return code
}

/** @typedef {{ id: string, status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | string, errorMessage?: string }} Check */
/** @typedef {{ scenario: string, passed: boolean, checks: Check[] }} ScenarioResult */

/**
 * Reads `<outDir>/server-<scenario>-<timestamp>/checks.json`. A scenario passes when none of its
 * checks is a FAILURE (WARNING and INFO do not fail it, as in the suite's own summary).
 * @returns {Promise<Map<string, ScenarioResult>>}
 */
export async function readResults(outDir) {
  const results = new Map()
  for (const entry of (await readdir(outDir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry.name)
    if (!entry.isDirectory() || !m) continue
    /** @type {Check[]} */
    const checks = JSON.parse(await readFile(join(outDir, entry.name, 'checks.json'), 'utf8'))
    results.set(m[1], { scenario: m[1], passed: !checks.some((c) => c.status === 'FAILURE'), checks })
  }
  return results
}

/** Counts of check statuses, e.g. `3 ok, 1 warn`. */
export function checkSummary(result) {
  if (!result) return 'not run'
  const count = (s) => result.checks.filter((c) => c.status === s).length
  const parts = [`${count('SUCCESS')} ok`]
  if (count('FAILURE')) parts.push(`${count('FAILURE')} FAIL`)
  if (count('WARNING')) parts.push(`${count('WARNING')} warn`)
  return parts.join(', ')
}

/** The first failure message of a scenario, shortened. */
export function firstFailure(result) {
  const failed = result?.checks.find((c) => c.status === 'FAILURE')
  return failed ? `${failed.id}: ${(failed.errorMessage ?? '').slice(0, 120)}` : ''
}
