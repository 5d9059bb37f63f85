/**
 * Budget windows: fixed, UTC-aligned periods (a minute, an hour, a day, a calendar month). A window
 * instance is named by its start in epoch milliseconds, so rollover is computation, not a timer: the
 * first charge after a boundary lands in a new row that starts at zero.
 */

/** Every window a budget can limit, shortest first. */
export const WINDOWS = ['minute', 'hour', 'day', 'month'] as const
export type Window = (typeof WINDOWS)[number]

/** What a window counts. */
export const METRICS = ['tokens', 'requests'] as const
export type Metric = (typeof METRICS)[number]

/**
 * The budget's clock (epoch ms), read by the object and by lease holders. Tests replace `now` to cross
 * window boundaries without waiting; nothing else should.
 */
export const budgetClock: { now: () => number } = { now: () => Date.now() }

const FIXED_MS: Record<Exclude<Window, 'month'>, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }

/**
 * Start (epoch ms) of the instance of `window` that contains `at`.
 * @example windowStart('minute', Date.UTC(2026, 0, 1, 10, 30, 15)) // Date.UTC(2026, 0, 1, 10, 30)
 */
export function windowStart(window: Window, at: number): number {
  if (window === 'month') {
    const d = new Date(at)
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
  }
  const size = FIXED_MS[window]
  return Math.floor(at / size) * size
}

/** End (exclusive, epoch ms) of the instance of `window` that starts at `start`: when it resets. */
export function windowEnd(window: Window, start: number): number {
  if (window === 'month') {
    const d = new Date(start)
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
  }
  return start + FIXED_MS[window]
}

/** The start of every window's current instance at `at`. */
export function windowStarts(at: number): Record<Window, number> {
  return { minute: windowStart('minute', at), hour: windowStart('hour', at), day: windowStart('day', at), month: windowStart('month', at) }
}
