/**
 * The CLI's argument checks, run in-process through its `main`: each is refused before anything is sent,
 * so no firewall is needed (test/e2e/cli.test.ts drives the CLI against one). And its request timeout,
 * against a local server that takes the connection and never answers.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const CLI = fileURLToPath(new URL('../../bin/mcp-firewall.mjs', import.meta.url))

type Main = (argv: string[], out: (line: string) => void, err: (line: string) => void) => Promise<number>

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = (await import(CLI)) as { main: Main }
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, (l) => void out.push(l), (l) => void err.push(l))
  return { code, stdout: out.join('\n'), stderr: err.join('\n') }
}

describe('mcp-firewall arguments', () => {
  it('names an unknown option as unknown even when no value follows it', async () => {
    // Asked for a value, the caller would supply one and only then learn the option does not exist.
    const cases: Array<[argv: string[], refusal: string]> = [
      [['tenant', 'get', 'acme', '--bogus'], 'unknown option --bogus for tenant get'],
      [['tenant', 'kill', 'acme', '--bogus', '--tool', 'echo'], 'unknown option --bogus for tenant kill'],
      [['tenant', 'get', 'acme', '--tool'], 'unknown option --tool for tenant get'], // an option of other commands
    ]
    for (const [argv, refusal] of cases) {
      const res = await run(argv)
      expect(res.code, argv.join(' ')).toBe(1)
      expect(res.stderr, argv.join(' ')).toContain(refusal)
      expect(res.stderr, argv.join(' ')).toContain(`usage: mcp-firewall tenant ${argv[1]} <id>`)
      expect(res.stderr).not.toContain('needs a value')
    }
  })

  it('still asks a value for a known option given without one', async () => {
    const cases: Array<[argv: string[], refusal: string]> = [
      [['tenant', 'push', 'acme', 'c.json', '--if-match'], '--if-match needs a value'],
      [['tenant', 'kill', 'acme', '--tool', '--tool', 'echo'], '--tool needs a value'],
    ]
    for (const [argv, refusal] of cases) {
      const res = await run(argv)
      expect(res.code, argv.join(' ')).toBe(1)
      expect(res.stderr.trim(), argv.join(' ')).toBe(refusal)
    }
  })
})

/** Runs the CLI with these environment variables set, and the previous values back afterwards. */
async function runWith(env: Record<string, string | undefined>, argv: string[]): ReturnType<typeof run> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  const set = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
  set(env)
  try {
    return await run(argv)
  } finally {
    set(saved)
  }
}

describe('mcp-firewall timeout', () => {
  it('gives up on a firewall that never answers, as unreachable (exit 3), naming the timeout', async () => {
    const server = createServer(() => undefined) // takes the request, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const started = performance.now()
      const res = await runWith({ MCP_FIREWALL_URL: url, MCP_FIREWALL_TOKEN: 'test-token', MCP_FIREWALL_TIMEOUT_MS: '300' }, ['tenant', 'get', 'acme'])
      expect(res.code).toBe(3)
      expect(res.stderr.trim()).toBe(`cannot reach the firewall at ${url}: no answer within 300 ms (MCP_FIREWALL_TIMEOUT_MS)`)
      expect(performance.now() - started).toBeLessThan(5_000)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }, 10_000)

  it.each(['0', '-5', '1.5', 'soon', '2147483648'])('refuses MCP_FIREWALL_TIMEOUT_MS=%j as a usage error before sending anything', async (value) => {
    const res = await runWith({ MCP_FIREWALL_URL: 'http://127.0.0.1:9', MCP_FIREWALL_TOKEN: 'test-token', MCP_FIREWALL_TIMEOUT_MS: value }, ['tenant', 'get', 'acme'])
    expect(res.code).toBe(1)
    expect(res.stderr).toContain('MCP_FIREWALL_TIMEOUT_MS must be a whole number of milliseconds')
  })
})
