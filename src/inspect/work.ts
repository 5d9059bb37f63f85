/**
 * The inspection pipeline's own work per message, counted in items: every JSON value and object key the
 * field walk visits (`fields.ts`), and every finding the detectors report. Each item costs a fixed toll
 * whatever its length (a pointer, a field, its normalisation, a call into every detector, a finding's
 * bookkeeping), which the rule engine's work cap (characters scanned) does not see: a 4 MiB body of
 * 5-character strings or of `{"a":1}` objects cost a second or more of CPU while every rule stayed far
 * inside its budget. Past the cap the message is refused (`inspection-work-exceeded`, kind `error`, so
 * `inspection-error` on the wire, in monitor mode too); values and keys are counted as the walk reaches
 * them, before the detectors run on any field, so a message of too many stops there.
 */

/**
 * Items per message. Ordinary messages are far below it (the 120-row structured result of the benches:
 * 2,052 items; their 200-tool `tools/list`: 9,606); just under it the dearest shape measured, 200,000
 * integers that each make a field the PII rules read, costs 0.3–0.75 s in Node, the order of what the rule
 * engine's default work cap allows (docs/performance.md, `npm run bench:shapes`).
 */
export const MAX_INSPECTION_ITEMS = 200_000

/** Thrown by `InspectionWork.charge` past the cap; the pipeline turns it into a refusal. */
export class InspectionWorkExceeded extends Error {
  constructor(readonly spent: number, readonly limit: number) {
    super(`inspection work ${spent} over the cap of ${limit} items per message`)
  }
}

/** A per-message meter of items, shared by the field walk and the pipeline. */
export class InspectionWork {
  #spent = 0
  constructor(readonly limit: number = MAX_INSPECTION_ITEMS) {}

  /** Items counted so far; once over the cap, the cap plus one (the first item past it). */
  get spent(): number {
    return this.#spent
  }

  /**
   * Counts `items` more, or throws `InspectionWorkExceeded` when they would take the total past the cap
   * (counting up to the first item over it: what would have been spent on the rest never is).
   */
  charge(items: number): void {
    if (this.#spent + items > this.limit) {
      this.#spent = this.limit + 1
      throw new InspectionWorkExceeded(this.#spent, this.limit)
    }
    this.#spent += items
  }
}
