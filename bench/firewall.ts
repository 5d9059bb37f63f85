/**
 * Starts the firewall for the HTTP bench the way test/support/firewall.ts does — wrangler's
 * `unstable_startWorker`, local KV and Durable Objects, ADMIN_TOKEN and ALLOW_PRIVATE_ORIGINS as
 * plain-text vars — but from a given wrangler.toml (the bench's snapshot, see snapshot.ts), and
 * configures one tenant that forwards to the bench origin.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unstable_startWorker } from 'wrangler'

const ADMIN_TOKEN = 'bench-admin-token'

/** A running firewall with one tenant configured. */
export interface BenchFirewall {
  /** The tenant's MCP endpoint. */
  readonly url: string
  stop(): Promise<void>
}

/**
 * Starts the firewall from `config` and configures `tenant` to forward to `originUrl`, under `policy`
 * when given, else under BENCH_TENANT_POLICY (JSON) when set, else the default policy.
 */
export async function startBenchFirewall(config: string, tenant: string, originUrl: string, policy?: unknown): Promise<BenchFirewall> {
  process.env.WRANGLER_SEND_METRICS ??= 'false'
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'
  const persist = await mkdtemp(join(tmpdir(), 'fw-bench-'))
  const vars = { ADMIN_TOKEN, ALLOW_PRIVATE_ORIGINS: 'true' }
  const worker = await unstable_startWorker({
    config,
    sendMetrics: false,
    bindings: Object.fromEntries(Object.entries(vars).map(([k, value]) => [k, { type: 'plain_text' as const, value }])),
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      remote: false,
      persist,
      watch: false,
      liveReload: false,
      logLevel: 'warn',
    },
  })
  const stop = async (): Promise<void> => {
    await worker.dispose()
    await rm(persist, { recursive: true, force: true })
  }
  const fromEnv = process.env['BENCH_TENANT_POLICY']
  const chosen: unknown = policy ?? (fromEnv ? (JSON.parse(fromEnv) as unknown) : undefined)
  try {
    await worker.ready
    const base = await worker.url
    const res = await fetch(new URL(`admin/v1/tenants/${tenant}`, base), {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ origin: { url: originUrl }, ...(chosen !== undefined ? { policy: chosen } : {}) }),
    })
    if (!res.ok) throw new Error(`PUT tenant: HTTP ${res.status} ${await res.text()}`)
    await res.body?.cancel()
    return { url: new URL(`t/${tenant}/mcp`, base).href, stop }
  } catch (err) {
    await stop().catch(() => undefined)
    throw err
  }
}
