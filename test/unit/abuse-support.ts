/** Helpers for the abuse tests: exact stand-ins for rate-limit bindings, and a fresh local window. */
import { env } from 'cloudflare:workers'
import type { AbuseScope } from '../../src/abuse/limits'
import { ABUSE_LIMITS } from '../../src/abuse/limits'

/**
 * A binding with the Rate Limiting API's contract and an exact count that never resets, so tests of
 * the guards do not depend on where the clock is in a window. `calls` records every key asked about.
 */
export class ExactLimit implements RateLimit {
  readonly calls: string[] = []
  readonly #counts = new Map<string, number>()
  constructor(readonly max: number) {}

  async limit({ key }: RateLimitOptions): Promise<RateLimitOutcome> {
    this.calls.push(key)
    const n = this.#counts.get(key) ?? 0
    if (n >= this.max) return { success: false }
    this.#counts.set(key, n + 1)
    return { success: true }
  }
}

/** A binding that must not be reached (passthrough, authenticated traffic, requests from no address). */
export const unreachable: RateLimit = {
  limit: () => Promise.reject(new Error('the rate limiter was called')),
}

/** The test env with some limiter bindings replaced. */
export function envWith(bindings: Partial<Record<AbuseScope, RateLimit>>): Env {
  const replaced = Object.fromEntries(Object.entries(bindings).map(([scope, b]) => [ABUSE_LIMITS[scope as AbuseScope].binding, b]))
  return { ...env, ...replaced }
}

/**
 * Local rate-limit bindings (miniflare) count in fixed windows aligned to the period. A burst meant to
 * be counted in one window is checked to have started and ended in the same window; if the window
 * turned while it ran, its count was split, so it runs once more (`attempt` 1, with fresh keys), now
 * early in a new window. It is repeated because its precondition did not hold, never because its
 * outcome was wrong.
 */
export async function inOneWindow<T>(burst: (attempt: number) => Promise<T>, periodMs = 60_000): Promise<T> {
  const window = (): number => Math.floor(Date.now() / periodMs)
  for (let attempt = 0; attempt < 2; attempt++) {
    const start = window()
    const result = await burst(attempt)
    if (window() === start) return result
  }
  throw new Error('a burst took longer than a whole rate-limit window')
}
