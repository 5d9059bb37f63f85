/**
 * Structured verdict events. Every inspected message yields one; no bodies, no secrets, no header values.
 */
import type { Direction, Finding } from '../inspect/types'

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
  /** True when monitor mode turned a modify/block into an allow: `verdict` is what would have happened. */
  monitor: boolean
  ruleIds: string[]
  kinds: string[]
  bytes: number
  inspectMicros: number
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
