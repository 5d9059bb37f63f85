import { randomBytes } from 'node:crypto'
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'

// Two projects: `workers` runs inside workerd (the same runtime as `wrangler dev` and deploy) with real
// local KV and Durable Objects; `e2e` runs in Node, starts the firewall with wrangler's programmatic API
// and drives it with the official MCP SDK against a real SDK origin.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            main: './src/index.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              // SECRETS_MASTER_KEY: a fresh random key ring per run (version 1), never a fixed value.
              bindings: { ADMIN_TOKEN: 'test-admin-token', ALLOW_PRIVATE_ORIGINS: 'true', SECRETS_MASTER_KEY: `1:${randomBytes(32).toString('base64')}` },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/unit/**/*.test.ts'],
          // A file's first call into a Durable Object loads the whole Worker (classifier weights, tokenizer
          // tables): seconds on a cold 2-core machine, past vitest's 5 s default. No test here asserts time.
          testTimeout: 30_000,
          globalSetup: ['./test/support/global-origin.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
