/**
 * Counting and remembering. `count()` spends one unit of a scope's Rate Limiting binding for a key;
 * when the binding says the key is over its limit, the key is refused for one period, and this isolate
 * remembers that so `refusedFor()` can answer later requests with no I/O at all (the "cheap check
 * first" that runs before any credential is looked at). Other isolates learn it from the binding the
 * next time they count the key.
 *
 * Failure mode: a binding that throws is logged and treated as "within the limit". These limits are
 * abuse damping, not an access decision: the request still faces full authentication, and an operator
 * must not be locked out of the admin API because a counter is unavailable.
 */
import { ABUSE_LIMITS } from './limits'
import type { AbuseScope } from './limits'

/** Most keys one isolate remembers as refused; beyond it the oldest are forgotten first. */
export const MAX_REMEMBERED = 10_000

/** `scope:key` → epoch ms until which the key is refused in this isolate. */
const refused = new Map<string, number>()

/** Where a refusal happened, for the log line (never the client address). */
export interface LimitContext {
  readonly requestId: string
  readonly tenant?: string
}

/**
 * Seconds `key` is still refused in `scope` by this isolate's memory, or `null`. No I/O.
 *
 * @example if (refusedFor('admin_failed_ip', ip) !== null) return tooManyRequests(...)
 */
export function refusedFor(scope: AbuseScope, key: string, now = Date.now()): number | null {
  const id = `${scope}:${key}`
  const until = refused.get(id)
  if (until === undefined) return null
  if (until <= now) {
    refused.delete(id)
    return null
  }
  return Math.max(1, Math.ceil((until - now) / 1000))
}

/**
 * Counts one event for `key` in `scope`. Returns `null` while the key is within its limit, otherwise the
 * seconds to refuse it (the scope's period), remembering the refusal in this isolate.
 */
export async function count(env: Env, scope: AbuseScope, key: string, ctx: LimitContext, now = Date.now()): Promise<number | null> {
  const { binding, period } = ABUSE_LIMITS[scope]
  let success: boolean
  try {
    ;({ success } = await env[binding].limit({ key }))
  } catch (err) {
    console.error(JSON.stringify({ event: 'abuse_limiter_error', scope, requestId: ctx.requestId, error: String(err) }))
    return null
  }
  if (success) return null
  remember(`${scope}:${key}`, now + period * 1000, now)
  console.log(JSON.stringify({ event: 'abuse_limited', scope, requestId: ctx.requestId, ...(ctx.tenant ? { tenant: ctx.tenant } : {}) }))
  return period
}

/** Forgets every remembered refusal (tests). */
export function forgetRefusals(): void {
  refused.clear()
}

function remember(id: string, until: number, now: number): void {
  refused.delete(id)
  if (refused.size >= MAX_REMEMBERED) {
    for (const [k, t] of refused) if (t <= now) refused.delete(k)
    // Still full: drop the oldest (a Map iterates in insertion order).
    for (const k of refused.keys()) {
      if (refused.size < MAX_REMEMBERED) break
      refused.delete(k)
    }
  }
  refused.set(id, until)
}
