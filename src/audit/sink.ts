/**
 * Where verdict events go. Security events are batched per request and appended to the tenant's
 * `SecurityEventLog` (never sampled); clean allows are sampled into the Workers log.
 */
import type { VerdictEvent } from './events'
import { boundedEvent, isSecurityEvent } from './events'
import { blockedSummary } from '../alerts/blocked'
import { sendAlert } from '../alerts/send'

const FLUSH_AT = 50
/** Fraction of clean allows written to the Workers log. */
export const ALLOW_SAMPLE_RATE = 0.01

export class EventSink {
  #pending: VerdictEvent[] = []
  /** Tool names this request's events show otherwise (their secrets masked, `shownToolName`). */
  readonly #shownTools = new Map<string, string>()
  readonly #waits: Promise<unknown>[] = []

  constructor(
    private readonly env: Env,
    private readonly tenant: string,
    private readonly waitUntil: (p: Promise<unknown>) => void,
    private readonly sample: () => number = Math.random,
  ) {}

  /**
   * Every later event of this request that names `tool` (the call's, its result's, the tool checks')
   * names it `shown` instead.
   */
  showToolAs(tool: string, shown: string): void {
    if (shown !== tool) this.#shownTools.set(tool, shown)
  }

  record(verdict: VerdictEvent): void {
    const shown = verdict.tool === undefined ? undefined : this.#shownTools.get(verdict.tool)
    const event = boundedEvent(shown === undefined ? verdict : { ...verdict, tool: shown })
    if (isSecurityEvent(event)) {
      console.log(JSON.stringify({ event: 'verdict', ...event }))
      this.#pending.push(event)
      if (this.#pending.length >= FLUSH_AT) this.flush()
    } else if (this.sample() < ALLOW_SAMPLE_RATE) {
      console.log(JSON.stringify({ event: 'verdict', sampled: true, ...event }))
    }
  }

  /** Hands buffered security events to the tenant's log; safe to call repeatedly. */
  flush(): void {
    if (this.#pending.length === 0) return
    const batch = this.#pending
    this.#pending = []
    const p = this.env.EVENTS.getByName(this.tenant)
      .append(batch)
      .catch((err: unknown) => {
        // The log is best effort only in the sense that the request is never failed for it; say so loudly.
        console.error(JSON.stringify({ event: 'security_event_sink_failed', tenant: this.tenant, count: batch.length, error: String(err) }))
      })
    this.#waits.push(p)
    this.waitUntil(p)
    // One `security.blocked` summary per flushed batch (never per message); the outbox merges bursts.
    const blocked = blockedSummary(batch)
    if (blocked) this.waitUntil(sendAlert(this.env, this.tenant, { type: 'security.blocked', data: blocked }))
  }

  /** Resolves once every flushed batch has been written (tests, and stream ends). */
  async settled(): Promise<void> {
    await Promise.all(this.#waits)
  }
}

/** The newest security events of a tenant. */
export async function readEvents(env: Env, tenant: string, limit: number): Promise<VerdictEvent[]> {
  return env.EVENTS.getByName(tenant).list(limit)
}
