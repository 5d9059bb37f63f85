/**
 * Starts the pass-through Worker with wrangler's `unstable_startWorker`, the same API and workerd the
 * firewall runs on in the bench (test/support/firewall.ts), on 127.0.0.1 with a free port.
 */
import { fileURLToPath } from 'node:url'
import { unstable_startWorker } from 'wrangler'

const CONFIG_PATH = fileURLToPath(new URL('./wrangler.toml', import.meta.url))

/** A running pass-through Worker. */
export interface Passthrough {
  /** The URL to send MCP POSTs to (any path is forwarded to the origin endpoint). */
  readonly url: string
  stop(): Promise<void>
}

/** Starts the pass-through Worker (from `config`, default the one beside this file) forwarding to `originUrl`. */
export async function startPassthrough(originUrl: string, config = CONFIG_PATH): Promise<Passthrough> {
  process.env.WRANGLER_SEND_METRICS ??= 'false'
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'
  const worker = await unstable_startWorker({
    config,
    sendMetrics: false,
    bindings: { ORIGIN_URL: { type: 'plain_text', value: originUrl } },
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      remote: false,
      watch: false,
      liveReload: false,
      logLevel: 'warn',
    },
  })
  try {
    await worker.ready
    const base = await worker.url
    return { url: new URL('mcp', base).href, stop: () => worker.dispose() }
  } catch (err) {
    await worker.dispose().catch(() => undefined)
    throw err
  }
}
