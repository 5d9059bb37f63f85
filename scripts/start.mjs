#!/usr/bin/env node
// `npm start`: the whole thing on your machine, no Cloudflare account and no network.
//   1. writes .dev.vars (a random ADMIN_TOKEN and SECRETS_MASTER_KEY, ALLOW_PRIVATE_ORIGINS=true) unless it
//      exists, and adds a SECRETS_MASTER_KEY to one that has none;
//   2. starts the demo MCP server (scripts/demo-origin.mjs) on 127.0.0.1:8788;
//   3. starts the firewall with `wrangler dev` on 127.0.0.1:8787 (local KV and Durable Objects);
//   4. points tenant `demo` at the demo server through the admin API, and prints where to connect.
// Ctrl-C stops both. Ports: FIREWALL_PORT, DEMO_ORIGIN_PORT.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const DEV_VARS = join(ROOT, '.dev.vars')
const FIREWALL_PORT = Number(process.env.FIREWALL_PORT ?? 8787)
const ORIGIN_PORT = Number(process.env.DEMO_ORIGIN_PORT ?? 8788)
const FIREWALL = `http://127.0.0.1:${FIREWALL_PORT}`
const ORIGIN_URL = `http://127.0.0.1:${ORIGIN_PORT}/mcp`
const TENANT = 'demo'

const say = (line) => console.log(`[start] ${line}`)

/** Reads KEY=value lines (the .env syntax wrangler reads, minus quoting subtleties we never write). */
function readDevVars() {
  const vars = {}
  for (const line of readFileSync(DEV_VARS, 'utf8').split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line)
    if (m) vars[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2')
  }
  return vars
}

/** A fresh key ring for tenant secrets and identity assertions: version 1, 32 random bytes. */
const newMasterKey = () => `1:${randomBytes(32).toString('base64')}`

function ensureDevVars() {
  if (!existsSync(DEV_VARS)) {
    const token = randomBytes(32).toString('hex')
    writeFileSync(DEV_VARS, `# Local secrets for wrangler dev (gitignored).\nADMIN_TOKEN=${token}\nSECRETS_MASTER_KEY=${newMasterKey()}\nALLOW_PRIVATE_ORIGINS=true\n`, { mode: 0o600 })
    say(`wrote ${DEV_VARS} with a new random ADMIN_TOKEN and SECRETS_MASTER_KEY`)
  } else if (!readDevVars().SECRETS_MASTER_KEY) {
    // Without it tenant secrets, API-key and JWT clients and alert webhooks cannot work locally.
    const newline = readFileSync(DEV_VARS, 'utf8').endsWith('\n') ? '' : '\n'
    appendFileSync(DEV_VARS, `${newline}SECRETS_MASTER_KEY=${newMasterKey()}\n`)
    say(`added a new random SECRETS_MASTER_KEY to ${DEV_VARS}`)
  }
  const vars = readDevVars()
  if (!vars.ADMIN_TOKEN) throw new Error(`${DEV_VARS} has no ADMIN_TOKEN: add one or delete the file to have it generated`)
  if (vars.ADMIN_TOKEN.length < 16) {
    throw new Error(`${DEV_VARS}: ADMIN_TOKEN is shorter than 16 characters, so the admin API stays off: set a longer random one (openssl rand -hex 32) or delete the file to have it generated`)
  }
  if (vars.ALLOW_PRIVATE_ORIGINS !== 'true') {
    throw new Error(`${DEV_VARS} must set ALLOW_PRIVATE_ORIGINS=true: the demo origin is on 127.0.0.1`)
  }
  return vars.ADMIN_TOKEN
}

/** @type {import('node:child_process').ChildProcess[]} */
const children = []
let stopping = false

function run(name, args, env) {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    // No stdin: wrangler then skips its interactive hotkeys, and Ctrl-C reaches us.
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  children.push(child)
  child.on('exit', (code, signal) => {
    if (stopping) return
    say(`${name} exited (${signal ?? `code ${code}`}); stopping`)
    stop(1)
  })
  return child
}

function stop(code = 0) {
  if (stopping) return
  stopping = true
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null)
  if (alive.length === 0) process.exit(code)
  let left = alive.length
  for (const child of alive) {
    child.once('exit', () => {
      if (--left === 0) process.exit(code)
    })
    child.kill('SIGTERM')
  }
  setTimeout(() => {
    for (const child of alive) child.kill('SIGKILL')
    process.exit(code)
  }, 5000).unref()
}

/** Polls until `url` answers any HTTP status (the server is up), or fails after `timeoutMs`. */
async function waitForHttp(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (stopping) throw new Error('stopped')
    try {
      // A refused connection fails at once; a connected probe waits as long as the deadline allows, since
      // the Worker's first request can take seconds here and an aborted one makes workerd log a broken pipe.
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(1000, deadline - Date.now())) })
      await res.body?.cancel()
      return
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

/**
 * Fails unless `port` is free. Otherwise the wait below would find whatever already listens there (often
 * another `npm start`) and configuring the tenant would fail with that firewall's 401.
 */
function ensurePortFree(port, variable) {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', () => reject(new Error(`port ${port} on 127.0.0.1 is in use (another \`npm start\`?): stop it, or set ${variable} to a free port`)))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()))
  })
}

async function configureTenant(token) {
  const res = await fetch(`${FIREWALL}/admin/v1/tenants/${TENANT}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ origin: { url: ORIGIN_URL } }),
  })
  if (!res.ok) throw new Error(`configuring tenant '${TENANT}' failed: HTTP ${res.status} ${await res.text()}`)
}

async function main() {
  process.on('SIGINT', () => stop(0))
  process.on('SIGTERM', () => stop(0))
  const token = ensureDevVars()
  await ensurePortFree(FIREWALL_PORT, 'FIREWALL_PORT')
  await ensurePortFree(ORIGIN_PORT, 'DEMO_ORIGIN_PORT')
  run('demo origin', [join(ROOT, 'scripts/demo-origin.mjs')], { PORT: String(ORIGIN_PORT) })
  run('wrangler dev', [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'dev', '--ip', '127.0.0.1', '--port', String(FIREWALL_PORT)], {
    WRANGLER_SEND_METRICS: 'false',
    // Offline: do not download the `request.cf` object from workers.cloudflare.com.
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  })
  await waitForHttp(ORIGIN_URL, 15_000)
  await waitForHttp(`${FIREWALL}/`, 120_000)
  await configureTenant(token)
  const mcpUrl = `${FIREWALL}/t/${TENANT}/mcp`
  console.log(`
  ┌──────────────────────────────────────────────────────────────────────────┐
    MCP firewall is running (local, no account needed)

    MCP URL (paste into your client or the MCP Inspector, transport "Streamable HTTP"):
      ${mcpUrl}

    Inspector:  npx @modelcontextprotocol/inspector
                (or CLI: npx @modelcontextprotocol/inspector --cli ${mcpUrl} --transport http --method tools/list)
    Origin:     ${ORIGIN_URL}  (demo server, tenant "${TENANT}")
    Admin API:  ${FIREWALL}/admin/v1/tenants/${TENANT}
                Bearer token = ADMIN_TOKEN in ${DEV_VARS}
    See it work: npm run tour   (in another terminal)

    Ctrl-C stops everything.
  └──────────────────────────────────────────────────────────────────────────┘
`)
}

main().catch((err) => {
  if (!stopping) console.error(`[start] ${err instanceof Error ? err.message : String(err)}`)
  stop(1)
})
