/**
 * `startFirewall()`: runs the firewall Worker exactly as `wrangler dev` does (workerd, local KV and
 * Durable Objects) through wrangler's programmatic `unstable_startWorker`, on 127.0.0.1 with a free
 * port and a private persistence directory, and gives tests an admin API client. Start one per test
 * file (`beforeAll`) and reuse it across that file's tests.
 *
 * @example
 * const fw = await startFirewall()
 * await fw.admin.putTenant('acme', { origin: { url: origin.url } })
 * const c = await mcpClient(fw.tenantUrl('acme'))
 * await fw.stop()
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { unstable_startWorker } from 'wrangler'

export { mcpClient, modernClient, STUB_SAMPLING_TEXT } from './clients.js'
export type { LegacyClient, LegacyClientOptions, ModernClientHandle, ModernClientOptions } from './clients.js'

/** The admin bearer token every test firewall accepts. */
export const TEST_ADMIN_TOKEN = 'test-admin-token'

const CONFIG_PATH = fileURLToPath(new URL('../../wrangler.toml', import.meta.url))

/** Options for {@link startFirewall}. */
export interface FirewallOptions {
  /** Extra plain-text vars (override `wrangler.toml` and `.dev.vars`). */
  vars?: Record<string, string>
  /** Wrangler/workerd log level (default `warn`; `info` shows every request, `log` the Worker's console). */
  logLevel?: 'debug' | 'info' | 'log' | 'warn' | 'error' | 'none'
}

/** The answer of an admin API call. */
export interface AdminResult {
  readonly status: number
  /** Parsed JSON body, or the text when it is not JSON, or `undefined` when empty. */
  readonly body: unknown
}

/** A client for the admin API (`/admin/v1/tenants/:id`) with the test token. */
export interface AdminClient {
  /** PUTs a tenant config and throws unless the answer is 2xx (setup helper). */
  putTenant(id: string, config: unknown): Promise<AdminResult>
  getTenant(id: string): Promise<AdminResult>
  deleteTenant(id: string): Promise<AdminResult>
  /** Issues a client API key named `name` (apiKey mode) and throws unless the answer is 201. */
  issueClientKey(tenant: string, name: string): Promise<{ id: string; key: string }>
  /** Any admin call, with or without the token, for negative tests. */
  request(method: string, path: string, init?: { body?: unknown; token?: string | null }): Promise<AdminResult>
}

/** A running firewall. */
export interface Firewall {
  /** Base URL with trailing slash, e.g. `http://127.0.0.1:40807/`. */
  readonly url: string
  readonly port: number
  /** Milliseconds from the call to the Worker answering requests. */
  readonly startupMs: number
  /** A tenant's MCP endpoint; `host: 'localhost'` for checks that need a localhost URL (DNS rebinding). */
  tenantUrl(id: string, opts?: { host?: 'localhost' | '127.0.0.1' }): string
  readonly admin: AdminClient
  stop(): Promise<void>
}

async function readResult(res: Response): Promise<AdminResult> {
  const text = await res.text()
  if (text === '') return { status: res.status, body: undefined }
  try {
    return { status: res.status, body: JSON.parse(text) as unknown }
  } catch {
    return { status: res.status, body: text }
  }
}

function adminClient(base: string): AdminClient {
  const request: AdminClient['request'] = async (method, path, init = {}) => {
    const token = init.token === undefined ? TEST_ADMIN_TOKEN : init.token
    const res = await fetch(new URL(path.replace(/^\//, ''), base), {
      method,
      headers: {
        ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    })
    return readResult(res)
  }
  const tenantPath = (id: string): string => `admin/v1/tenants/${encodeURIComponent(id)}`
  return {
    async putTenant(id, config) {
      const result = await request('PUT', tenantPath(id), { body: config })
      if (result.status < 200 || result.status > 299) {
        throw new Error(`PUT tenant ${id}: HTTP ${result.status} ${JSON.stringify(result.body)}`)
      }
      return result
    },
    getTenant: (id) => request('GET', tenantPath(id)),
    deleteTenant: (id) => request('DELETE', tenantPath(id)),
    async issueClientKey(tenant, name) {
      const result = await request('POST', `${tenantPath(tenant)}/client-keys`, { body: { name } })
      if (result.status !== 201) throw new Error(`POST client key ${name}: HTTP ${result.status} ${JSON.stringify(result.body)}`)
      return result.body as { id: string; key: string }
    },
    request,
  }
}

interface Started {
  readonly worker: Awaited<ReturnType<typeof unstable_startWorker>>
  readonly base: URL
}

async function startOnce(persist: string, opts: FirewallOptions): Promise<Started> {
  // Imported on first use: loading wrangler takes about a second, which files that only want the
  // client helpers should not pay.
  const { unstable_startWorker: startWorker } = await import('wrangler')
  // SECRETS_MASTER_KEY: random per firewall (tenant secrets, identity assertions); tests may override it.
  const vars: Record<string, string> = { ADMIN_TOKEN: TEST_ADMIN_TOKEN, ALLOW_PRIVATE_ORIGINS: 'true', SECRETS_MASTER_KEY: `1:${randomBytes(32).toString('base64')}`, ...opts.vars }
  const worker = await startWorker({
    config: CONFIG_PATH,
    sendMetrics: false,
    bindings: Object.fromEntries(Object.entries(vars).map(([k, value]) => [k, { type: 'plain_text' as const, value }])),
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      remote: false,
      persist,
      watch: false,
      liveReload: false,
      logLevel: opts.logLevel ?? 'warn',
    },
  })
  try {
    await worker.ready
    const base = await worker.url
    // workerd compiles the script on the first request: pay that here, not in the first test's timeout.
    await (await fetch(new URL('__warmup', base))).body?.cancel()
    return { worker, base }
  } catch (err) {
    await worker.dispose().catch(() => undefined)
    throw err
  }
}

/** Starts the firewall Worker locally (no network, no account) and waits until it serves. */
export async function startFirewall(opts: FirewallOptions = {}): Promise<Firewall> {
  const started = performance.now()
  // No metrics, and no download of the `request.cf` object from workers.cloudflare.com (offline).
  process.env.WRANGLER_SEND_METRICS ??= 'false'
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'
  const persist = await mkdtemp(join(tmpdir(), 'fw-e2e-'))
  let instance: Started
  try {
    // One retry: a free port picked for workerd can be taken by another process before it binds.
    instance = await startOnce(persist, opts).catch(() => startOnce(persist, opts))
  } catch (err) {
    await rm(persist, { recursive: true, force: true })
    throw err
  }
  const { worker, base } = instance
  const url = base.href
  const port = Number(base.port)
  return {
    url,
    port,
    startupMs: Math.round(performance.now() - started),
    tenantUrl(id, o) {
      const host = o?.host ?? '127.0.0.1'
      return `http://${host}:${port}/t/${encodeURIComponent(id)}/mcp`
    },
    admin: adminClient(url),
    async stop() {
      await worker.dispose()
      await rm(persist, { recursive: true, force: true })
    },
  }
}
