/**
 * The bounds on the second stage (second-stage.ts): how much one call carries, and what one client
 * request may spend on calls and on waiting for them.
 */

/**
 * Bounds on the second stage (src/detectors/classifier/README.md, "Bounds"). One call carries at most
 * `itemsPerCall` fields and `charsPerCall` characters of their text (a message with more uncertain fields
 * is split, the highest-scoring fields first), so a call's body and its answer stay small and well inside
 * the answer parser's 1000 results. One client request (a POST and its answer, JSON or a stream, or a GET
 * stream) makes at most `callsPerRequest` calls and waits for them at most `timeoutsPerRequest` times the
 * tenant's `timeoutMs` in all: without it, a batch or a stream of N uncertain messages took N timeouts and
 * N outbound calls, against the Worker's subrequest limit. Fields past either bound get the `failMode`
 * outcome without a call, as a timeout would give them.
 */
export const SECOND_STAGE_LIMITS = { itemsPerCall: 32, charsPerCall: 128 * 1024, callsPerRequest: 16, timeoutsPerRequest: 4 } as const

/** A call shorter than this is not worth making: the shortest `timeoutMs` a config may set. */
const MIN_CALL_MS = 50

/**
 * What one client request may still spend on the second stage: calls, and milliseconds of waiting for
 * them. Each call reserves its timeout (at most the tenant's, at most what is left) and gives back what it
 * did not use, so calls made at the same time cannot overdraw it.
 */
export class SecondStageBudget {
  #calls: number = SECOND_STAGE_LIMITS.callsPerRequest
  #ms: number

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#ms = timeoutMs * SECOND_STAGE_LIMITS.timeoutsPerRequest
  }

  /** One call's timeout and the function to call when it settles, or why no call is left. */
  take(): { timeoutMs: number; settle: () => void } | { spent: string } {
    if (this.#calls <= 0) return { spent: `${SECOND_STAGE_LIMITS.callsPerRequest} calls per request spent` }
    const timeoutMs = Math.min(this.timeoutMs, Math.floor(this.#ms))
    if (timeoutMs < MIN_CALL_MS) return { spent: `${this.timeoutMs * SECOND_STAGE_LIMITS.timeoutsPerRequest} ms per request spent` }
    this.#calls -= 1
    this.#ms -= timeoutMs
    const started = this.now()
    let settled = false
    return {
      timeoutMs,
      settle: () => {
        if (settled) return
        settled = true
        this.#ms += timeoutMs - Math.min(timeoutMs, Math.max(0, this.now() - started))
      },
    }
  }
}
