/**
 * Budget threshold alerts: the first time a window's use (used + reserved) reaches one of the tenant's
 * `alertThresholds`, a signed `budget.threshold` webhook goes out through the alert outbox
 * (src/alerts/send.ts, docs/webhooks.md). Each threshold is announced once per window instance.
 */
import { sendAlert } from '../alerts/send'
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
  const client = a.scope.startsWith('client:') || a.scope.startsWith('session:') ? a.scope.slice(0, 200) : undefined
  const scope = client ? 'client' : a.scope
  await sendAlert(env, tenant, {
    type: 'budget.threshold',
    data: { budget: `${scope} ${a.metric}/${a.window}`.slice(0, 200), threshold: a.threshold, used: a.used, limit: a.limit, ...(client ? { client } : {}) },
  })
}
