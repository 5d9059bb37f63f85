/**
 * The classifier end to end through the real SDK origin and client: a paraphrased injection with no
 * rule keyword inside a tool result is blocked (the rule packs alone let it through), while benign
 * documents and real-looking tool descriptions pass untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import fixtures from '../../rules/classifier/e2e-fixtures.json'
import { startOrigin } from '../support/origin.js'
import type { ExtraTool, Origin } from '../support/origin.js'
import { mcpClient, startFirewall } from '../support/firewall.js'
import type { Firewall } from '../support/firewall.js'

let fw: Firewall
let origin: Origin

const fixture = (name: string): string => {
  const f = fixtures.fixtures.find((x) => x.name === name)
  if (!f) throw new Error(`no fixture ${name}`)
  return f.text
}
const resultTool = (name: string, text: string): ExtraTool => ({
  definition: { name, description: 'Returns the status page text.', inputSchema: { type: 'object' } },
  result: () => ({ content: [{ type: 'text', text }] }),
})

beforeAll(async () => {
  ;[fw, origin] = await Promise.all([startFirewall(), startOrigin({ mode: 'sse', stateful: true })])
  await fw.admin.putTenant('clf', { origin: { url: origin.url } })
  await fw.admin.putTenant('clf-rules-only', { origin: { url: origin.url }, policy: { classifier: { enabled: false } } })
})
afterAll(async () => {
  await Promise.all([fw?.stop(), origin?.close()])
})

async function call(tenant: string, tool: ExtraTool): Promise<unknown> {
  origin.behaviour.extraTools = [tool]
  const c = await mcpClient(fw.tenantUrl(tenant))
  try {
    return await c.client.callTool({ name: tool.definition.name, arguments: {} }).catch((e: unknown) => e)
  } finally {
    origin.behaviour.extraTools = []
    await c.close()
  }
}

describe('classifier, default policy', () => {
  it('blocks a keyword-free injection in a tool result that the rule packs alone let through', async () => {
    const tool = resultTool('status', fixture('keyword-free-injection-in-tool-result'))
    const rulesOnly = (await call('clf-rules-only', tool)) as { content: Array<{ text: string }> }
    expect(rulesOnly.content[0]?.text).toBe(fixture('keyword-free-injection-in-tool-result'))
    const blocked = await call('clf', tool)
    expect(blocked).toBeInstanceOf(McpError)
    expect((blocked as McpError).code).toBe(-31001)
    expect((blocked as McpError).data).toMatchObject({ reason: 'injection' })
  })

  it.each(fixtures.fixtures.filter((f) => f.label === 0).map((f) => f.name))('passes the benign fixture %s untouched', async (name) => {
    const text = fixture(name)
    const r = (await call('clf', resultTool('benign', text))) as { content: Array<{ text: string }> }
    expect(r.content).toEqual([{ type: 'text', text }])
  })
})
