/**
 * Budget threshold alerts: the first time a window's use (used + reserved) reaches one of the tenant's
 * `alertThresholds`, a signed `budget.threshold` webhook goes out through the alert outbox
 * (src/alerts/send.ts, docs/webhooks.md). Each threshold is announced once per window instance.
 */
import { sendAlert } from '../alerts/send'
import { sha256Hex } from '../hex'
import type { Metric, Window } from './windows'

/** A threshold first crossed in one window instance. */
export interface ThresholdAlert {
  scope: string
  metric: Metric
  window: Window
  threshold: number
  used: number
  limit: number
}

/** Queues the alert; never throws (sendAlert logs its own failures). */
export async function notifyThreshold(env: Env, tenant: string, a: ThresholdAlert): Promise<void> {
  const client = await clientLabel(a.scope)
  const scope = client ? 'client' : a.scope
  await sendAlert(env, tenant, {
    type: 'budget.threshold',
    data: { budget: `${scope} ${a.metric}/${a.window}`.slice(0, 200), threshold: a.threshold, used: a.used, limit: a.limit, ...(client ? { client } : {}) },
  })
}

/**
 * The client a scope is for, as an alert names it: the verified identity (`client:<id>`), or for an
 * unverified client a fingerprint of its session id (`session:sha256:<16 hex>`), never the id itself: an
 * `Mcp-Session-Id` is a handle on a live session, kept out of logs and so out of alerts leaving the firewall.
 */
async function clientLabel(scope: string): Promise<string | undefined> {
  if (scope.startsWith('client:')) return scope.slice(0, 200)
  if (scope.startsWith('session:')) return `session:sha256:${(await sha256Hex(scope.slice('session:'.length))).slice(0, 16)}`
  return undefined
}
