/**
 * The kill switch's staleness bounds (src/guard/kill-state.ts), in a module with no Workers types so
 * tests running in Node can name them too.
 */

/** An isolate reuses a state it read for this long before looking again. */
export const FRESH_MS = 2_000
/** No copy of a state is used once it is this old: a kill bites everywhere within this bound. */
export const MAX_AGE_MS = 3_000
/** With the guard unreachable, the last known state holds until it is this old; then the tenant fails closed. */
export const STALE_LIMIT_MS = 30_000
