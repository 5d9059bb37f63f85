/**
 * Builds the `ToolGate` of one MCP request from what the endpoint knows: the tenant and its config, the
 * compiled policy, the verified identity, and how to reach the origin as this caller (for listing the
 * origin's tools itself when a call names a tool no list has shown yet).
 */
import type { CompiledPolicy } from '../inspect/policy'
import type { EventSink } from '../audit/sink'
import type { LoadedTenant } from '../tenant/store'
import { originLister } from './origin-list'
import { ToolGate } from './gate'

export interface GateRequest {
  env: Env
  tenant: LoadedTenant
  requestId: string
  era: 'legacy' | 'modern'
  identity?: string
  /** The request's legacy `Mcp-Session-Id`, if any. */
  sessionId?: string
  policy: CompiledPolicy
  sink: EventSink
  /** The checked origin URL. */
  originUrl: URL
  /** Headers for the origin as this caller (session, version, credentials). */
  originHeaders: () => Promise<Headers>
  /** What `originHeaders` lends the origin (ClientAuth.lent), kept out of the definitions the gate pins. */
  lent?: readonly string[]
  maxDepth: number
}

/**
 * The gate for one request; null when the tenant's config leaves nothing for it to do. Per-tool budgets
 * give it something: the gate records which tool each task runs, and without that record a task's
 * `tasks/result` would be charged to tenant and client only, past the tool's own limits. So does a
 * verified caller: the gate binds each task to the identity that created it, and refuses it to others.
 */
export function toolGateFor(r: GateRequest): ToolGate | null {
  const config = r.tenant.record.config
  const tools = config.policy.tools
  const idle =
    r.identity === undefined &&
    Object.keys(config.budget?.perTool ?? {}).length === 0 &&
    tools.pinning === 'off' &&
    tools.requireApproval.length === 0 &&
    tools.allow === undefined &&
    tools.deny.length === 0 &&
    tools.prompts.allow === undefined &&
    tools.prompts.deny.length === 0 &&
    tools.resources.allow === undefined &&
    tools.resources.deny.length === 0 &&
    Object.keys(tools.byIdentity).length === 0
  if (idle) return null
  return new ToolGate({
    env: r.env,
    tenantId: r.tenant.id,
    configVersion: r.tenant.record.version,
    origin: config.origin.url,
    tools,
    policy: r.policy,
    ...(r.identity !== undefined ? { identity: r.identity } : {}),
    ...(r.sessionId !== undefined ? { sessionId: r.sessionId } : {}),
    era: r.era,
    requestId: r.requestId,
    sink: r.sink,
    lister: originLister({
      url: r.originUrl,
      headers: r.originHeaders,
      era: r.era,
      timeoutMs: config.origin.timeoutMs,
      maxBytes: config.limits.maxResponseBytes,
      maxDepth: r.maxDepth,
      log: { requestId: r.requestId, tenant: r.tenant.id },
      ...(r.lent ? { lent: r.lent } : {}),
    }),
  })
}
