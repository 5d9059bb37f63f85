/**
 * The per-message work and time budget of the rule engine: every regex run charges the characters it
 * reads (times the matcher's cost factor), and a scan past the work cap or the time cap stops with
 * {@link BudgetExceeded} so the pipeline can fail closed.
 */
import type { Direction } from '../../inspect/types'
import type { CompiledRuleSet } from './compile'

/** Work and time spent on one message, shared by every field of it. */
export interface Budget {
  work: number
  readonly startedAt: number
  exhausted: boolean
  /** The clock is read when `work` reaches this (every {@link CLOCK_EVERY} units), not on every rule run. */
  clockAt: number
}

/**
 * Work units between two reads of the clock. A short field runs a dozen rules over a few characters
 * each, and reading the clock for every run cost more than the runs; a long scan still reads it before
 * every regex, since its own work crosses the mark.
 */
const CLOCK_EVERY = 16_384

/** Starts a budget (call once per message). */
export function newBudget(): Budget {
  return { work: 0, startedAt: now(), exhausted: false, clockAt: 0 }
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now()
}

/** Thrown by {@link spend} when the message's budget runs out; `scanField` turns it into a finding. */
export class BudgetExceeded extends Error {}

/** What one field's scan carries to the rules it runs: the rule set, the message's budget, the direction. */
export interface RunCtx {
  readonly set: CompiledRuleSet
  readonly budget: Budget
  readonly direction: Direction
}

/** Charges `chars` units of text read `factor` times; throws {@link BudgetExceeded} past either cap. */
export function spend(rc: RunCtx, chars: number, factor: number): void {
  const b = rc.budget
  b.work += chars * factor
  let over = b.work > rc.set.limits.maxWorkPerMessage
  if (!over && b.work >= b.clockAt) {
    b.clockAt = b.work + CLOCK_EVERY
    over = now() - b.startedAt > rc.set.limits.maxMillisPerMessage
  }
  if (over) {
    b.exhausted = true
    throw new BudgetExceeded()
  }
}
