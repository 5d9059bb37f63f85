/**
 * Structured verdict events. Every inspected message yields one; no bodies, no secrets, no header values.
 */
import type { Direction, Finding } from '../inspect/types'
import { clipped } from '../clip'

export type EventVerdict = 'allow' | 'modify' | 'block'

export interface VerdictEvent {
  ts: string
  requestId: string
  tenant: string
  configVersion: number
  direction: Direction
  method?: string
  tool?: string
  verdict: EventVerdict
  /**
   * True when monitor mode turned a modify/block into an allow (the tenant's `policy.monitor`, or rules a
   * pack runs in monitor mode or stages behind its `enforceVersion`): `verdict` is what would have happened.
   * A `modify` with `monitor: true` may have been applied in part: staged rules would have changed more.
   */
  monitor: boolean
  ruleIds: string[]
  kinds: string[]
  bytes: number
  inspectMicros: number
  /**
   * What the classifier's second stage did for this message, when it was consulted: `answered`, or
   * `failed-closed` / `failed-open` when a call failed or the request's budget of calls was spent (a
   * `failed-closed` block carries rule id `classifier-second-stage-unavailable`). Absent when not asked.
   */
  secondStage?: 'answered' | 'failed-open' | 'failed-closed'
}

/**
 * Longest tool name an event keeps, as pins and alerts do. The name is the client's own text (any length
 * its body cap allows): unclipped, one request could write megabytes into the event log and the Workers
 * log, or carry prose there that no detector's verdict is about.
 */
export const EVENT_TOOL_MAX = 200

/** `e` with its tool name clipped to {@link EVENT_TOOL_MAX} (a clipped name ends in `…`). */
export function boundedEvent(e: VerdictEvent): VerdictEvent {
  if (e.tool === undefined || e.tool.length <= EVENT_TOOL_MAX) return e
  return { ...e, tool: clipped(e.tool, EVENT_TOOL_MAX) }
}

/** Where a `tools/call` request carries its tool name: a finding there has its span in the name itself. */
const TOOL_NAME_PATH = '/params/name'

/**
 * `tool`, the name of a `tools/call` request, with what the request's findings found in it (a secret,
 * personal data) replaced by `[REDACTED:<kind>]`, whatever their action: the name is written into the
 * events and the Workers log, which keep no secrets, and a call blocked for the secret in its name (or let
 * through in monitor mode) would otherwise be recorded with it in clear.
 * @example shownToolName('lookup ghp_…', [{ kind: 'secret', path: '/params/name', span: [7, 47], … }]) // 'lookup [REDACTED:secret]'
 */
export function shownToolName(tool: string, findings: readonly Finding[]): string {
  const found = findings
    .filter((f): f is Finding & { span: [number, number] } => (f.kind === 'secret' || f.kind === 'pii') && f.path === TOOL_NAME_PATH && f.span !== undefined)
    .sort((a, b) => a.span[0] - b.span[0])
  let shown = ''
  let at = 0
  for (const f of found) {
    const [start, end] = f.span
    if (end <= at) continue // inside a span already masked
    shown += `${tool.slice(at, Math.max(at, start))}[REDACTED:${f.kind}]`
    at = end
  }
  return shown + tool.slice(at)
}

/** A security event is anything but a clean allow: blocks, modifications, flags, monitor-mode hits. */
export function isSecurityEvent(e: VerdictEvent): boolean {
  return e.verdict !== 'allow' || e.monitor || e.ruleIds.length > 0
}

/** Unique rule ids and kinds of a verdict's findings, for events. */
export function summarizeFindings(findings: readonly Finding[]): { ruleIds: string[]; kinds: string[] } {
  return {
    ruleIds: [...new Set(findings.map((f) => f.ruleId))],
    kinds: [...new Set(findings.map((f) => f.kind))],
  }
}
