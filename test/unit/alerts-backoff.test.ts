/**
 * The retry schedule: 10 s doubling, capped at 1 h, ±20 % jitter; given up after 12 attempts or 24 h.
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_SCHEDULE, nextAttemptAt, retryDelayMs, scheduleFromEnv } from '../../src/alerts/backoff'

const middle = () => 0.5

describe('alert retry backoff', () => {
  it('doubles from 10 s and is capped at 1 h (no jitter at the midpoint)', () => {
    const delays = Array.from({ length: 12 }, (_, i) => retryDelayMs(i + 1, DEFAULT_SCHEDULE, middle) / 1000)
    expect(delays).toEqual([10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600])
  })

  it('jitters by at most ±20 %', () => {
    expect(retryDelayMs(1, DEFAULT_SCHEDULE, () => 0)).toBe(8_000)
    expect(retryDelayMs(1, DEFAULT_SCHEDULE, () => 0.999_999)).toBe(12_000)
    expect(retryDelayMs(20, DEFAULT_SCHEDULE, () => 0)).toBe(2_880_000)
    // random() < 1, so the top of the range is approached, never exceeded.
    expect(retryDelayMs(20, DEFAULT_SCHEDULE, () => 0.999_999)).toBe(4_319_999)
  })

  it('schedules retries until the 12th attempt, then gives up; 12 attempts span about 3.4 h', () => {
    const created = 1_000_000
    let now = created
    const times: number[] = [now]
    for (let attempts = 1; ; attempts++) {
      const next = nextAttemptAt(attempts, created, now, DEFAULT_SCHEDULE, { random: middle })
      if (next === null) break
      times.push((now = next))
    }
    expect(times).toHaveLength(12)
    expect(((times.at(-1) ?? 0) - created) / 1000).toBe(10 + 20 + 40 + 80 + 160 + 320 + 640 + 1280 + 2560 + 3600 + 3600)
  })

  it('gives up when the next attempt would fall past 24 h after creation', () => {
    const created = 0
    expect(nextAttemptAt(3, created, 86_400_000 - 40_001, DEFAULT_SCHEDULE, { random: middle })).toBe(86_399_999)
    expect(nextAttemptAt(3, created, 86_400_000 - 39_999, DEFAULT_SCHEDULE, { random: middle })).toBeNull()
  })

  it("waits at least what a receiver's Retry-After asks, never longer than the 1 h cap, within the 24 h bound", () => {
    const created = 0
    expect(nextAttemptAt(1, created, 1_000, DEFAULT_SCHEDULE, { random: middle, retryAfterMs: 5_000 })).toBe(11_000) // the backoff is longer
    expect(nextAttemptAt(1, created, 1_000, DEFAULT_SCHEDULE, { random: middle, retryAfterMs: 120_000 })).toBe(121_000)
    expect(nextAttemptAt(1, created, 1_000, DEFAULT_SCHEDULE, { random: middle, retryAfterMs: 86_400_000 })).toBe(3_601_000)
    expect(nextAttemptAt(1, created, 86_400_000 - 3_599_999, DEFAULT_SCHEDULE, { random: middle, retryAfterMs: 3_600_000 })).toBeNull() // past 24 h
  })

  it('takes its base from ALERT_RETRY_BASE_MS when valid, else keeps 10 s', () => {
    expect(scheduleFromEnv({ ALERT_RETRY_BASE_MS: '200' })).toEqual({ ...DEFAULT_SCHEDULE, baseMs: 200 })
    for (const raw of [undefined, '', 'soon', '5', '1.5', '9999999']) {
      expect(scheduleFromEnv({ ALERT_RETRY_BASE_MS: raw })).toEqual(DEFAULT_SCHEDULE)
    }
  })
})
