/**
 * When a failed webhook delivery is tried again: exponential backoff with jitter, capped, and a point
 * where the outbox gives up and records the delivery as failed.
 *
 * Attempt n (n ≥ 1 attempts made so far) waits `min(cap, base × 2^(n−1)) × (0.8 … 1.2)`. With the
 * defaults (10 s, cap 1 h, 12 attempts, 24 h) the 12 attempts span about 3.4 hours; the age bound stops
 * a delivery whose schedule was stretched (alarms delayed, many queued) from going on past a day.
 */
import { z } from 'zod'

export interface RetrySchedule {
  /** Wait after the first failure, in milliseconds. */
  baseMs: number
  /** Longest wait between two attempts, in milliseconds. */
  capMs: number
  /** Attempts (the first one included) before a delivery is dropped as failed. */
  maxAttempts: number
  /** Age after which a delivery is dropped as failed instead of retried, in milliseconds. */
  maxAgeMs: number
}

export const DEFAULT_SCHEDULE: RetrySchedule = { baseMs: 10_000, capMs: 3_600_000, maxAttempts: 12, maxAgeMs: 86_400_000 }

/** ±20 %: deliveries that failed together (a receiver outage) do not all come back at once. */
const JITTER = 0.2

/**
 * Milliseconds to wait after `attempts` failed attempts; `random` is in [0, 1).
 *
 * @example retryDelayMs(1, DEFAULT_SCHEDULE, () => 0.5) // 10_000
 */
export function retryDelayMs(attempts: number, schedule: RetrySchedule, random: () => number = Math.random): number {
  const nominal = Math.min(schedule.capMs, schedule.baseMs * 2 ** Math.max(0, attempts - 1))
  return Math.round(nominal * (1 - JITTER + 2 * JITTER * random()))
}

/** What else decides the next attempt: the jitter's source, and a wait the receiver asked for (`Retry-After`). */
export interface RetryOptions {
  /** In [0, 1); `Math.random` by default. */
  random?: () => number
  /** Waited at least this long, up to `capMs` (a receiver cannot park a delivery for longer). */
  retryAfterMs?: number
}

/**
 * When the next attempt is due after `attempts` failures, or null when the delivery should be dropped
 * (attempts exhausted, or the next attempt would fall past the age bound).
 */
export function nextAttemptAt(attempts: number, createdAt: number, now: number, schedule: RetrySchedule, opts: RetryOptions = {}): number | null {
  if (attempts >= schedule.maxAttempts) return null
  const asked = Math.min(opts.retryAfterMs ?? 0, schedule.capMs)
  const at = now + Math.max(retryDelayMs(attempts, schedule, opts.random), asked)
  return at - createdAt > schedule.maxAgeMs ? null : at
}

/** `ALERT_RETRY_BASE_MS`: 100 ms … 10 min. Tests shorten the first retry; production keeps 10 s. */
const BaseSetting = z.coerce.number().int().min(100).max(600_000)

/** The schedule for this Worker: the default, with `ALERT_RETRY_BASE_MS` as the base when it is set and valid. */
export function scheduleFromEnv(env: { ALERT_RETRY_BASE_MS?: string }): RetrySchedule {
  const raw = env.ALERT_RETRY_BASE_MS?.trim()
  const base = raw ? BaseSetting.safeParse(raw) : null
  return base?.success ? { ...DEFAULT_SCHEDULE, baseMs: base.data } : DEFAULT_SCHEDULE
}
