// `npm start` as a new user runs it: the script itself, in a scratch copy of the checkout (so the test
// neither reads nor writes the developer's `.dev.vars` and local state), on free ports. The official
// SDK client then goes through the printed URL to the demo origin, and Ctrl-C stops everything.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mcpClient } from '../support/clients.js'

const ROOT = resolve(import.meta.dirname, '../..')
/** Copied, not linked: `start.mjs` finds the checkout from its own (real) path. */
const COPIED = ['scripts/start.mjs', 'scripts/demo-origin.mjs', 'scripts/demo-tour.mjs']
/** Never carried into the copy: what `npm start` creates, and what it must not see. */
const LEFT_OUT = new Set(['.git', '.dev.vars', '.wrangler', 'scripts'])

function scratchCheckout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fw-quick-start-'))
  for (const name of readdirSync(ROOT)) {
    if (!LEFT_OUT.has(name)) symlinkSync(join(ROOT, name), join(dir, name))
  }
  mkdirSync(join(dir, 'scripts'))
  for (const file of COPIED) copyFileSync(join(ROOT, file), join(dir, file))
  return dir
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? ok(address.port) : fail(new Error('no port'))))
    })
  })
}

/** Resolves with everything printed so far once `text` appears; rejects if the process exits first. */
function waitForOutput(child: ChildProcess, out: { text: string }, text: string, timeoutMs: number): Promise<string> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no "${text}" within ${timeoutMs} ms:\n${out.text}`)), timeoutMs)
    const check = (): void => {
      if (!out.text.includes(text)) return
      clearTimeout(timer)
      child.stdout?.off('data', check)
      ok(out.text)
    }
    child.stdout?.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      fail(new Error(`npm start exited (${code}) before "${text}":\n${out.text}`))
    })
    check()
  })
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((ok) => child.once('exit', (code) => ok(code)))
}

describe('npm start (quick start)', () => {
  let dir: string
  let child: ChildProcess
  const out = { text: '' }
  let firewallPort: number
  let originPort: number
  let banner: string

  beforeAll(async () => {
    dir = scratchCheckout()
    firewallPort = await freePort()
    originPort = await freePort()
    child = spawn(process.execPath, [join(dir, 'scripts/start.mjs')], {
      cwd: dir,
      env: { ...process.env, FIREWALL_PORT: String(firewallPort), DEMO_ORIGIN_PORT: String(originPort), WRANGLER_SEND_METRICS: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a failed run can stop wrangler and the demo origin with it.
      detached: true,
    })
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out.text += chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (out.text += chunk))
    banner = await waitForOutput(child, out, 'MCP firewall is running', 110_000)
  })

  afterAll(async () => {
    // After a failure the script may still run, or its children may outlive it: stop the whole group.
    if (child?.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // the group is gone already
      }
      await exited(child)
    }
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('writes a private .dev.vars with a random admin token and master key and prints the tenant URL', () => {
    const devVars = join(dir, '.dev.vars')
    expect(statSync(devVars).mode & 0o777).toBe(0o600)
    expect(readFileSync(devVars, 'utf8')).toMatch(/^ADMIN_TOKEN=[0-9a-f]{64}$/m)
    expect(readFileSync(devVars, 'utf8')).toMatch(/^SECRETS_MASTER_KEY=1:[A-Za-z0-9+/]{43}=$/m)
    expect(banner).toContain(`http://127.0.0.1:${firewallPort}/t/demo/mcp`)
  })

  it('serves the demo origin through the firewall to the SDK client, redacting the demo credentials', async () => {
    const { client } = await mcpClient(`http://127.0.0.1:${firewallPort}/t/demo/mcp`)
    try {
      const { tools } = await client.listTools()
      expect(tools.map((t) => t.name)).toEqual(['echo', 'add', 'get-weather', 'get-deploy-config', 'long-task'])
      expect(await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })).toEqual({ content: [{ type: 'text', text: '5' }] })

      const config = await client.callTool({ name: 'get-deploy-config', arguments: {} })
      const text = (config.content as { type: string; text: string }[])[0]?.text ?? ''
      expect(text).toMatch(/^region = eu-west-1\naws_access_key_id = \[REDACTED:[a-z-]+\]\ngithub_token = \[REDACTED:[a-z-]+\]\nreplicas = 3$/)
      expect(text).not.toMatch(/AKIA|ghp_/)
    } finally {
      await client.close()
    }
  })

  it('holds the poisoned demo tool back for review, and the tour shows each thing the firewall did', async () => {
    const tour = await new Promise<{ code: number | null; stdout: string; stderr: string }>((ok) => {
      execFile(process.execPath, [join(dir, 'scripts/demo-tour.mjs')], { env: { ...process.env, FIREWALL_PORT: String(firewallPort) } }, (err, stdout, stderr) =>
        ok({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      )
    })
    expect(tour.stderr).toBe('')
    expect(tour.code).toBe(0)
    expect(tour.stdout).toContain('1. tools/list through the firewall: echo, add, get-weather, get-deploy-config, long-task\n')
    expect(tour.stdout).toMatch(/aws_access_key_id = \[REDACTED:[a-z-]+\]/)
    expect(tour.stdout).toContain('MCP error -31001: Blocked by MCP firewall: injection')
    expect(tour.stdout).toContain('(GET /admin/v1/tenants/demo/tools?state=pending): daily-fact\n')
    expect(tour.stdout).not.toMatch(/AKIA|ghp_|id_rsa and pass/)
  })

  it('answers the admin API with the token it wrote, and refuses without it', async () => {
    const token = /^ADMIN_TOKEN=(\S+)$/m.exec(readFileSync(join(dir, '.dev.vars'), 'utf8'))?.[1]
    const url = `http://127.0.0.1:${firewallPort}/admin/v1/tenants/demo`
    const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ id: 'demo', config: { origin: { url: `http://127.0.0.1:${originPort}/mcp` } } })
    const refused = await fetch(url)
    expect(refused.status).toBe(401)
    await refused.body?.cancel()
    // Tenant secrets (webhook signing, origin credentials) work locally as documented.
    const secret = await fetch(`${url}/secrets/ops-webhook`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ value: ['fake', 'webhook', 'secret', 'for', 'tests'].join('-') }),
    })
    expect(secret.status).toBe(204)
  })

  it('stops the firewall and the demo origin on Ctrl-C', async () => {
    child.kill('SIGINT')
    expect(await exited(child)).toBe(0)
    for (const port of [firewallPort, originPort]) {
      await expect(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow()
    }
  })
})

describe('npm start on a port already in use', () => {
  it('says which port is taken and how to pick another, instead of configuring whatever listens there', async () => {
    const dir = scratchCheckout()
    const taken = createServer()
    await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', () => ok()))
    const port = (taken.address() as { port: number }).port
    try {
      const child = spawn(process.execPath, [join(dir, 'scripts/start.mjs')], {
        cwd: dir,
        env: { ...process.env, FIREWALL_PORT: String(port), DEMO_ORIGIN_PORT: String(await freePort()), WRANGLER_SEND_METRICS: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      expect(await exited(child)).toBe(1)
      expect(stderr).toContain(`[start] port ${port} on 127.0.0.1 is in use (another \`npm start\`?): stop it, or set FIREWALL_PORT to a free port`)
    } finally {
      taken.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('npm start with a short ADMIN_TOKEN in an existing .dev.vars', () => {
  it('says the admin API would stay off and what to do, instead of failing at the first admin call', async () => {
    const dir = scratchCheckout()
    writeFileSync(join(dir, '.dev.vars'), 'ADMIN_TOKEN=admin\nALLOW_PRIVATE_ORIGINS=true\n')
    try {
      const child = spawn(process.execPath, [join(dir, 'scripts/start.mjs')], {
        cwd: dir,
        env: { ...process.env, FIREWALL_PORT: String(await freePort()), DEMO_ORIGIN_PORT: String(await freePort()), WRANGLER_SEND_METRICS: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      expect(await exited(child)).toBe(1)
      expect(stderr).toContain('ADMIN_TOKEN is shorter than 16 characters')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
