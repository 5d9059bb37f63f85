/** A `ToolGate` for one fresh tenant, against the real Durable Objects: shared by the tool-integrity unit tests. */
import { env } from 'cloudflare:workers'
import { EventSink } from '../../src/audit/sink'
import { compilePolicy } from '../../src/inspect/policy'
import { TenantConfig } from '../../src/tenant/config'
import { ToolGate } from '../../src/tools/gate'
import type { OriginLister } from '../../src/tools/origin-list'

export interface TestGateOptions {
  /** The origin MCP endpoint the tenant's config names. */
  origin: string
  /** Tenant id prefix; a counter makes each gate's tenant fresh. */
  prefix: string
  era: 'legacy' | 'modern'
  /** An explicit tenant id (to share one object between gates). */
  tenantId?: string
  identity?: string
  sessionId?: string
  lister?: OriginLister
  monitor?: boolean
  /** The config version (policies are compiled once per tenant and version: a gate sharing a tenant with another config needs its own). */
  version?: number
}

let seq = 0

/** A gate for `policy.tools` = `tools`, with the tenant's compiled policy and the sink its events go to. */
export function testGate(tools: unknown, opts: TestGateOptions): { gate: ToolGate; tenantId: string; sink: EventSink } {
  const n = ++seq
  const tenantId = opts.tenantId ?? `${opts.prefix}-${n}`
  const config = TenantConfig.parse({ origin: { url: opts.origin }, policy: { tools, monitor: opts.monitor ?? false } })
  const sink = new EventSink(env, tenantId, () => undefined)
  const gate = new ToolGate({
    env,
    tenantId,
    configVersion: opts.version ?? 1,
    origin: opts.origin,
    tools: config.policy.tools,
    policy: compilePolicy(tenantId, opts.version ?? 1, config),
    era: opts.era,
    requestId: `req-${n}`,
    sink,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.sessionId ? { sessionId: opts.sessionId } : {}),
    ...(opts.lister ? { lister: opts.lister } : {}),
  })
  return { gate, tenantId, sink }
}
