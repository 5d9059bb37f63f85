#!/usr/bin/env node
// `npm run conformance`: the official MCP conformance suite, run (a) directly against an SDK origin
// and (b) through the firewall (tenant with default policies) in front of the same origin. The
// firewall must not change any scenario's pass/fail, and it must itself pass dns-rebinding-protection
// (it rewrites Host, so the origin's own check cannot protect it).
//
//   node scripts/conformance/run.mjs [--suite all|active] [--scenario <name>] [--out <dir>] [--bare-tenant]
//
// The tenant lists the endpoint's own browser origin (http://localhost:<port>) in `allowedOrigins`:
// the dns-rebinding scenario's "valid" request carries exactly that Origin, and the firewall refuses
// any Origin a tenant did not list. `--bare-tenant` leaves `allowedOrigins` empty.
//
// Exit 0 when the pass/fail sets match and dns-rebinding-protection passes through the firewall.
// Needs the npm registry (or a warm ~/.npm/_npx cache) for the suite and Node 22; nothing else.
// CONFORMANCE_FIREWALL_LOG=warn|info|debug shows the firewall's own logs.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { unstable_startWorker } from 'wrangler'
import { startConformanceOrigin } from './origin.mjs'
import { CONFORMANCE_PACKAGE, checkSummary, firstFailure, readResults, runSuite } from './suite.mjs'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
const TENANT = 'conformance'
const DNS_SCENARIO = 'dns-rebinding-protection'

const { values: args } = parseArgs({
  options: {
    suite: { type: 'string', default: 'all' },
    scenario: { type: 'string' },
    out: { type: 'string' },
    'bare-tenant': { type: 'boolean', default: false },
  },
})

const say = (line) => console.log(`[conformance] ${line}`)

/** Starts the firewall Worker locally (as `wrangler dev` would) with a throwaway admin token and state. */
async function startFirewall() {
  process.env.WRANGLER_SEND_METRICS ??= 'false'
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'
  const persist = await mkdtemp(join(tmpdir(), 'fw-conformance-state-'))
  const token = randomBytes(16).toString('hex')
  const worker = await unstable_startWorker({
    config: join(ROOT, 'wrangler.toml'),
    sendMetrics: false,
    bindings: {
      ADMIN_TOKEN: { type: 'plain_text', value: token },
      ALLOW_PRIVATE_ORIGINS: { type: 'plain_text', value: 'true' },
    },
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      remote: false,
      persist,
      watch: false,
      // Quiet by default: the SSE scenarios cancel streams on purpose, which workerd logs as errors.
      logLevel: process.env.CONFORMANCE_FIREWALL_LOG ?? 'none',
    },
  })
  await worker.ready
  const base = await worker.url
  return {
    port: Number(base.port),
    async putTenant(id, config) {
      const res = await fetch(new URL(`admin/v1/tenants/${id}`, base), {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(config),
      })
      if (!res.ok) throw new Error(`PUT tenant ${id}: HTTP ${res.status} ${await res.text()}`)
    },
    async stop() {
      await worker.dispose()
      await rm(persist, { recursive: true, force: true })
    },
  }
}

function printTable(direct, viaFirewall) {
  const names = [...new Set([...direct.keys(), ...viaFirewall.keys()])]
  const rows = names.map((name) => {
    const d = direct.get(name)
    const f = viaFirewall.get(name)
    const mark = (r) => (r ? (r.passed ? 'pass' : 'FAIL') : '-')
    const same = d?.passed === f?.passed
    return [name, `${mark(d)} (${checkSummary(d)})`, `${mark(f)} (${checkSummary(f)})`, same ? '' : 'DIFFERS', firstFailure(f) || firstFailure(d)]
  })
  const header = ['scenario', 'direct', 'through firewall', '', 'first failure']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ')
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`)
  for (const r of rows) console.log(line(r))
  return names.filter((n) => direct.get(n)?.passed !== viaFirewall.get(n)?.passed)
}

async function main() {
  const out = args.out ?? (await mkdtemp(join(tmpdir(), 'mcp-conformance-')))
  const suiteOpts = { suite: args.suite, scenario: args.scenario }
  const origin = await startConformanceOrigin()
  let firewall
  try {
    say(`${CONFORMANCE_PACKAGE}, suite ${args.scenario ?? args.suite}; results in ${out}`)
    say(`origin ${origin.url}`)
    let t = performance.now()
    await runSuite(origin.url, join(out, 'direct'), suiteOpts)
    const direct = await readResults(join(out, 'direct'))
    say(`direct: ${[...direct.values()].filter((r) => r.passed).length}/${direct.size} scenarios pass (${Math.round(performance.now() - t)} ms)`)

    t = performance.now()
    firewall = await startFirewall()
    // localhost, not 127.0.0.1: the dns-rebinding scenario only runs against a localhost URL.
    const ownOrigin = `http://localhost:${firewall.port}`
    const tenant = {
      origin: { url: `http://127.0.0.1:${origin.port}/mcp` },
      ...(args['bare-tenant'] ? {} : { allowedOrigins: [ownOrigin] }),
    }
    await firewall.putTenant(TENANT, tenant)
    const url = `${ownOrigin}/t/${TENANT}/mcp`
    say(`tenant ${JSON.stringify(tenant)}`)
    say(`firewall ${url} (started in ${Math.round(performance.now() - t)} ms)`)
    const refusedBefore = origin.refused.length
    t = performance.now()
    await runSuite(url, join(out, 'firewall'), suiteOpts)
    const viaFirewall = await readResults(join(out, 'firewall'))
    say(`through firewall: ${[...viaFirewall.values()].filter((r) => r.passed).length}/${viaFirewall.size} scenarios pass (${Math.round(performance.now() - t)} ms)`)

    const differing = printTable(direct, viaFirewall)
    const refusedByOrigin = origin.refused.slice(refusedBefore)
    if (refusedByOrigin.length > 0) {
      say(`note: the origin itself refused ${refusedByOrigin.length} request(s) the firewall forwarded: ${JSON.stringify(refusedByOrigin)}`)
    }
    const dns = viaFirewall.get(DNS_SCENARIO)
    const problems = []
    if (differing.length > 0) problems.push(`pass/fail differs for: ${differing.join(', ')}`)
    if (dns && !dns.passed) problems.push(`${DNS_SCENARIO} fails through the firewall`)
    if (direct.size === 0 || viaFirewall.size === 0) problems.push('the suite produced no results (see run.log)')
    if (problems.length > 0) {
      for (const p of problems) say(`FAIL: ${p}`)
      process.exitCode = 1
    } else {
      say('OK: the firewall is transparent to the conformance suite')
    }
  } finally {
    await firewall?.stop()
    await origin.close()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
