/**
 * A circuit breaker per second-stage back end (second-stage.ts), held by the isolate: a back end that
 * keeps failing is not called for a while, and the fields it would have judged get the tenant's
 * `failMode` at once instead of after a full timeout each (src/detectors/classifier/README.md,
 * "Circuit breaker").
 */
import { BoundedCache } from '../../bounded-cache'

/**
 * `failures` consecutive failed calls open the breaker for `coolDownMs`; then one call goes through as a
 * probe (half-open): its success closes the breaker, its failure opens it again for another `coolDownMs`.
 * Five failures cost at most five timeouts (5 s at the default `timeoutMs`) before the breaker opens, and
 * one probe per 30 s per isolate lets a back end that is back be found within half a minute.
 */
export const SECOND_STAGE_BREAKER = { failures: 5, coolDownMs: 30_000 } as const

/** Whether a call may go, and if not, why (for the `second_stage` log line; no endpoint details). */
export type Admission = { go: true } | { go: false; why: string }

/**
 * One back end's breaker. Closed: calls go, consecutive failures are counted. Open: no call goes until
 * the cool-down is over. Half-open: one probe goes, the calls beside it are refused as while open; a
 * probe that never reports (its request cancelled mid-call) stops blocking the next one after a cool-down.
 */
export class SecondStageBreaker {
  #failures = 0
  /** When the breaker opened; undefined while closed. */
  #openedAt: number | undefined
  /** When the half-open probe went; undefined when none is out. */
  #probeAt: number | undefined

  constructor(
    private readonly limits: { failures: number; coolDownMs: number } = SECOND_STAGE_BREAKER,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Asks for one call. A call admitted must be followed by {@link succeeded}, {@link failed} or {@link released}. */
  admit(): Admission {
    if (this.#openedAt === undefined) return { go: true }
    const now = this.now()
    const { failures, coolDownMs } = this.limits
    if (now - this.#openedAt < coolDownMs) return { go: false, why: `open after ${failures} consecutive failures; next probe in ${Math.ceil((this.#openedAt + coolDownMs - now) / 1000)} s` }
    if (this.#probeAt !== undefined && now - this.#probeAt < coolDownMs) return { go: false, why: 'half-open, a probe call is out' }
    this.#probeAt = now
    return { go: true }
  }

  /** A call admitted was not made after all (the request's budget was spent): a probe slot is free again. */
  released(): void {
    this.#probeAt = undefined
  }

  /** A call answered within the contract: the back end works, the breaker closes. */
  succeeded(): void {
    this.#failures = 0
    this.#openedAt = undefined
    this.#probeAt = undefined
  }

  /** A call failed (timeout, network, HTTP status, an answer off the contract). */
  failed(): void {
    if (this.#openedAt !== undefined) {
      // The probe failed: open for another cool-down. A call admitted before the breaker opened changes nothing.
      if (this.#probeAt !== undefined) this.#open()
      return
    }
    this.#failures += 1
    if (this.#failures >= this.limits.failures) this.#open()
  }

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.#openedAt === undefined) return 'closed'
    return this.now() - this.#openedAt < this.limits.coolDownMs ? 'open' : 'half-open'
  }

  #open(): void {
    this.#openedAt = this.now()
    this.#probeAt = undefined
  }
}

/**
 * Breakers kept by the isolate, one per key. Bounded like the isolate's other caches: past it they are all
 * dropped, and a back end that is still down fails `failures` more calls before its breaker opens again.
 */
const MAX_BREAKERS = 1_000
const MAX_BREAKER_KEY_CHARS = 4_000_000
const breakers = new BoundedCache<SecondStageBreaker>(MAX_BREAKERS, MAX_BREAKER_KEY_CHARS)

/**
 * The isolate's breaker for one tenant's back end under one config version: tenants never share one, and
 * neither do two endpoints or models of a tenant, nor two versions of its config (a new version, a fixed
 * URL say, starts closed).
 * @example secondStageBreaker({ tenantId: 'acme', configVersion: 7, backend: 'https https://guard.vendor.example/v1/classify' })
 */
export function secondStageBreaker(at: { tenantId: string; configVersion: number; backend: string }): SecondStageBreaker {
  const key = JSON.stringify([at.tenantId, at.configVersion, at.backend])
  const held = breakers.get(key)
  if (held) return held
  const made = new SecondStageBreaker()
  breakers.set(key, made, key.length)
  return made
}
