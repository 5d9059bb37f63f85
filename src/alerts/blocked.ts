/**
 * `security.blocked` alerts summarise a batch of verdict events (one flush of the request's
 * `EventSink`): counts by rule and direction, never the messages, never one alert per message.
 */
import type { VerdictEvent } from '../audit/events'
import type { SecurityBlockedData } from './events'

/**
 * The summary of the block verdicts in `events`, or null when there are none (modifications and flags
 * do not alert). Monitor-mode blocks count too, and are counted again in `monitor`.
 *
 * @example blockedSummary(batch) // { count: 2, monitor: 0, byRule: { 'injection-ignore-previous': 2 }, … }
 */
export function blockedSummary(events: readonly VerdictEvent[]): SecurityBlockedData | null {
  const blocks = events.filter((e) => e.verdict === 'block')
  const [first] = blocks
  if (!first) return null
  const summary: SecurityBlockedData = {
    count: 0,
    monitor: 0,
    byRule: {},
    byDirection: { client_to_server: 0, server_to_client: 0 },
    from: first.ts,
    to: first.ts,
  }
  for (const e of blocks) {
    summary.count += 1
    if (e.monitor) summary.monitor += 1
    summary.byDirection[e.direction] += 1
    for (const rule of e.ruleIds) summary.byRule[rule] = (summary.byRule[rule] ?? 0) + 1
    if (e.ts < summary.from) summary.from = e.ts
    if (e.ts > summary.to) summary.to = e.ts
  }
  return summary
}
