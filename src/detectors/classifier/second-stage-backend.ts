/**
 * What a second-stage back end is (second-stage.ts): the interface the HTTPS endpoint and the Workers AI
 * model both implement, the items a call carries, and the one error a call fails with.
 */
import type { FieldRole } from '../../inspect/types'
import { clipped } from '../../clip'
import type { SecondStageBreaker } from './second-stage-breaker'

export interface SecondStageItem {
  /** Unique within the call. */
  id: string
  text: string
  role: FieldRole
  /** The first stage's score (0..1), for the endpoint's own logging or thresholds. */
  score: number
}

/** A second-stage back end. Resolves with one probability of injection (0..1) per item, in order; rejects on any failure. */
export interface SecondStage {
  readonly kind: 'https' | 'workers-ai'
  /** The isolate's breaker for this back end (second-stage-breaker.ts): while it is open, no call is made. */
  readonly breaker?: SecondStageBreaker
  /** `timeoutMs`: this call's timeout when shorter than the configured one (what is left of the request's budget). */
  classify(items: readonly SecondStageItem[], requestId: string, timeoutMs?: number): Promise<number[]>
}

const DETAIL_MAX = 200

export class SecondStageError extends Error {
  /**
   * `detail` is clipped to {@link DETAIL_MAX} characters: it can be a message the back end or the runtime
   * wrote, and the error goes into the `second_stage` log line.
   */
  constructor(
    readonly reason: 'timeout' | 'http-status' | 'bad-response' | 'network' | 'budget' | 'circuit-open',
    detail: string,
  ) {
    super(`second stage ${reason}: ${clipped(detail, DETAIL_MAX)}`)
    this.name = 'SecondStageError'
  }
}
