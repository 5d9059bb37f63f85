/**
 * Staleness bounds of the edge's copies of a tenant's pins (src/tools/pin-cache.ts), in a module with no
 * Workers types so tests running in Node can name them too.
 */

/** An isolate reuses a pin set it read for this long before looking again. */
export const PINS_FRESH_MS = 2_000
/** No copy is used once it is this old: an approval or rejection applies everywhere within this bound. */
export const PINS_MAX_AGE_MS = 5_000
/** With the object unreachable, the last known pins hold until they are this old; then changes fail closed. */
export const PINS_STALE_LIMIT_MS = 60_000
/** A call to a tool the copy does not know re-reads the object, at most this often per isolate and origin. */
export const PINS_MISS_REFRESH_MS = 1_000
/** The firewall lists the origin's tools itself (a call before any list) at most this often per isolate and origin. */
export const SELF_LIST_INTERVAL_MS = 10_000
