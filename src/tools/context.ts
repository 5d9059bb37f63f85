/**
 * What the tool-integrity checks of one exchange share: the tenant's tools policy and compiled access,
 * the pins (read through the edge cache, changed through the `ToolPins` object), and the event sink.
 */
import type { JsonObject, JsonRpcId, JsonRpcResponse } from '../mcp/jsonrpc'
import type { ProtocolEra } from '../mcp/era'
import type { CompiledPolicy } from '../inspect/policy'
import type { Direction, Finding } from '../inspect/types'
import type { EventSink } from '../audit/sink'
import { summarizeFindings } from '../audit/events'
import { FirewallCode } from '../errors'
import { compileAccess, type Access } from './access'
import type { ToolsPolicy } from './policy'
import type { OriginLister } from './origin-list'
import type { PinCacheDeps } from './pin-cache'

export interface ToolGateInit {
  env: Env
  tenantId: string
  configVersion: number
  /** The origin pins belong to: the tenant's configured origin URL. */
  origin: string
  tools: ToolsPolicy
  policy: CompiledPolicy
  identity?: string
  /** The legacy `Mcp-Session-Id` of the request, when it has one (a legacy confirmation is asked per session). */
  sessionId?: string
  era: ProtocolEra
  requestId: string
  sink: EventSink
  /** Lists the origin's tools itself when a call names a tool never seen (absent: no self-listing). */
  lister?: OriginLister
  /** Test seams for the pin cache (clock, cache, object reader). */
  pinDeps?: Omit<PinCacheDeps, 'env'>
}

const accessCache = new WeakMap<ToolsPolicy, Access>()

/** The compiled access lists of a tools policy (once per parsed config object). */
export function accessOf(tools: ToolsPolicy): Access {
  let a = accessCache.get(tools)
  if (!a) {
    a = compileAccess(tools)
    accessCache.set(tools, a)
  }
  return a
}

/** True when checks may change traffic: not in the tenant's monitor mode. */
export function enforcing(init: ToolGateInit): boolean {
  return !init.policy.monitor
}

/** Records one verdict of the tool checks in the tenant's security event log (no bodies, no text). */
export function recordVerdict(
  init: ToolGateInit,
  e: { direction: Direction; method: string; tool?: string; verdict: 'allow' | 'modify' | 'block'; findings: Finding[]; started: number; inAnyMode?: boolean },
): void {
  if (e.findings.length === 0) return
  const { ruleIds, kinds } = summarizeFindings(e.findings)
  init.sink.record({
    ts: new Date().toISOString(),
    requestId: init.requestId,
    tenant: init.tenantId,
    configVersion: init.configVersion,
    direction: e.direction,
    method: e.method,
    ...(e.tool ? { tool: e.tool } : {}),
    verdict: e.verdict,
    // A refusal made in every mode (inAnyMode) was applied, not only monitored.
    monitor: init.policy.monitor && e.verdict !== 'allow' && e.inAnyMode !== true,
    ruleIds,
    kinds,
    bytes: 0,
    inspectMicros: Math.round((performance.now() - e.started) * 1000),
  })
}

/** Why the firewall refused a request, as clients see it (rule ids stay in the event log). */
export type Refusal =
  | 'tool-not-allowed'
  | 'tool-not-reviewed'
  | 'tool-pending-approval'
  | 'tool-rejected'
  | 'tool-pins-unavailable'
  | 'tool-list-unavailable'
  | 'approval-required'
  | 'approval-arguments-too-long'
  | 'approval-requests-full'
  | 'prompt-not-allowed'
  | 'resource-not-allowed'
  | 'inspection-error'

const MESSAGES: Record<Refusal, string> = {
  'tool-not-allowed': 'tool not allowed',
  'tool-not-reviewed': 'tool not yet reviewed',
  'tool-pending-approval': 'tool definition changed; waiting for approval',
  'tool-rejected': 'tool definition rejected',
  'tool-pins-unavailable': 'tool approvals unavailable',
  'tool-list-unavailable': 'tool not yet reviewed; the origin did not list its tools',
  'approval-required': 'this call needs an approval; ask an administrator to approve it, then retry',
  'approval-arguments-too-long': 'this call needs an approval, but its arguments are too long to show an approver whole; it cannot be approved',
  'approval-requests-full': 'this call needs an approval, but too many calls are already waiting for one; retry once an administrator has decided them',
  'prompt-not-allowed': 'prompt not allowed',
  'resource-not-allowed': 'resource not allowed',
  // As the inspection pipeline words a message it could not inspect whole (src/proxy/exchange.ts).
  'inspection-error': 'inspection-error',
}

/** The -31001 answer for a refused request (HTTP 200, so SDK clients raise McpError with the code, §4.5). */
export function refusal(id: JsonRpcId, requestId: string, reason: Refusal, extra: JsonObject = {}): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error: { code: FirewallCode.blocked, message: `Blocked by MCP firewall: ${MESSAGES[reason]}`, data: { requestId, reason, ...extra } } }
}
