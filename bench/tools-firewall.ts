/**
 * Starts the firewall for the tool-integrity bench as bench/firewall.ts does (wrangler's
 * `unstable_startWorker` from the bench's snapshot config, local KV and Durable Objects), with one
 * tenant whose `policy` the bench chooses.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unstable_startWorker } from 'wrangler'

const ADMIN_TOKEN = 'bench-admin-token'
const TENANT = 'bench'

/** Starts the firewall from `config` with tenant `bench` → `originUrl` under `policy`; resolves with its MCP endpoint. */
export async function startToolsFirewall(config: string, originUrl: string, policy: unknown): Promise<{ url: string; stop: () => Promise<void> }> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'
  const persist = await mkdtemp(join(tmpdir(), 'fw-bench-tools-'))
  const worker = await unstable_startWorker({
    config,
    sendMetrics: false,
    bindings: { ADMIN_TOKEN: { type: 'plain_text', value: ADMIN_TOKEN }, ALLOW_PRIVATE_ORIGINS: { type: 'plain_text', value: 'true' } },
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, remote: false, persist, watch: false, liveReload: false, logLevel: 'warn' },
  })
  const stop = async (): Promise<void> => {
    await worker.dispose()
    await rm(persist, { recursive: true, force: true })
  }
  try {
    await worker.ready
    const base = await worker.url
    const res = await fetch(new URL(`admin/v1/tenants/${TENANT}`, base), {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ origin: { url: originUrl }, policy }),
    })
    if (!res.ok) throw new Error(`PUT tenant: HTTP ${res.status} ${await res.text()}`)
    await res.body?.cancel()
    return { url: new URL(`t/${TENANT}/mcp`, base).href, stop }
  } catch (err) {
    await stop().catch(() => undefined)
    throw err
  }
}
