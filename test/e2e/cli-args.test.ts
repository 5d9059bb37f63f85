/**
 * The CLI's argument checks, run in-process through its `main`: each is refused before anything is sent,
 * so no firewall is needed (test/e2e/cli.test.ts drives the CLI against one).
 */
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
