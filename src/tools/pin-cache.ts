/**
 * Reading a tenant's pins on the hot path with a bounded staleness, the kill switch's pattern
 * (src/guard/kill-state.ts):
 *
 *   isolate memory (PINS_FRESH_MS) → Cache API, one copy per location → ToolPins object
 *
 * Every copy carries the time it was read from the object and none is used once PINS_MAX_AGE_MS old, so
 * an approval or a rejection applies everywhere within that bound; the location that took the admin call
 * drops its copies at once, and a copy the edge itself changed (an `observe`) replaces the old one at
 * once. If the object cannot be reached, the last known pins hold until PINS_STALE_LIMIT_MS old.
 */
import type { PinKind } from './canonical'
import { comparisonOf } from './canonical'
import { PINS_FRESH_MS, PINS_MAX_AGE_MS, PINS_STALE_LIMIT_MS } from './bounds'
import type { PinEntry, PinSet, PinState } from './pin-types'
import { looseName } from './shadowing'
import { BoundedCache } from '../bounded-cache'

/** One pin with its comparison forms under the tenant's volatile paths. */
export interface IndexedPin {
  readonly state: PinState
  /** Canonical approved definition (volatile fields included), or null. */
  readonly approved: string | null
  readonly candidate: string | null
  readonly approvedCmp: string | null
  readonly candidateCmp: string | null
  readonly rejectedCmp: ReadonlySet<string>
}

/** A pin set indexed for lookups by kind and name. */
export class PinIndex {
  readonly #pins = new Map<string, IndexedPin>()
  /** Loose names of every tool and prompt (for the shadowing check). */
  readonly names = new Set<string>()

  constructor(readonly set: PinSet, volatile: readonly string[]) {
    for (const e of set.entries) {
      this.#pins.set(key(e.kind, e.name), indexed(e, volatile))
      if (e.kind !== 'resourceTemplate') this.names.add(looseName(e.name))
    }
  }

  get(kind: PinKind, name: string): IndexedPin | undefined {
    return this.#pins.get(key(kind, name))
  }
}

const key = (kind: PinKind, name: string): string => `${kind}\n${name}`

function indexed(e: PinEntry, volatile: readonly string[]): IndexedPin {
  return {
    state: e.state,
    approved: e.approved,
    candidate: e.candidate,
    approvedCmp: e.approved === null ? null : comparisonOf(e.kind, e.approved, volatile),
    candidateCmp: e.candidate === null ? null : comparisonOf(e.kind, e.candidate, volatile),
    rejectedCmp: new Set(e.rejected.map((d) => comparisonOf(e.kind, d, volatile))),
  }
}

interface Known {
  set: PinSet
  /** When it was read from the object (not when it was copied). */
  readAt: number
  /** When this isolate last looked for a newer copy. */
  checkedAt: number
  index?: { volatile: string; index: PinIndex }
}

const MAX_KNOWN = 500
/**
 * Definition text of the sets kept, all together (a set's index holds comparison forms about as large
 * again). Without it 500 sets of up to MAX_PINS_PER_ORIGIN pins would outgrow the isolate's memory; a
 * 200-tool set of realistic definitions is about 150,000 characters. A larger set is used but not kept.
 */
export const MAX_KNOWN_CHARS = 4_000_000
const known = new BoundedCache<Known>(MAX_KNOWN, MAX_KNOWN_CHARS)

export interface PinCacheDeps {
  env: Env
  /** Injected clock (tests); defaults to Date.now. */
  now?: () => number
  /** The per-location cache; defaults to `caches.default`. */
  cache?: Cache
  /** Reads the object; defaults to the tenant's ToolPins (tests inject an unreachable one). */
  read?: (tenant: string, origin: string) => Promise<PinSet>
}

export type PinRead = { ok: true; index: PinIndex; readAt: number } | { ok: false }

const memoKey = (tenant: string, origin: string): string => `${tenant}\n${origin}`
const cacheKey = (tenant: string, origin: string): string => `https://tool-pins.internal/${encodeURIComponent(tenant)}/${encodeURIComponent(origin)}`

/**
 * The pins of a tenant's origin, never older than PINS_MAX_AGE_MS while the object answers.
 * `refreshOlderThan` forces an object read when the copy at hand is older (a call to a name it lacks).
 */
export async function readPins(tenant: string, origin: string, volatile: readonly string[], deps: PinCacheDeps, refreshOlderThan?: number): Promise<PinRead> {
  const now = (deps.now ?? Date.now)()
  const mk = memoKey(tenant, origin)
  const hit = known.get(mk)
  const cache = deps.cache ?? caches.default
  const answer = (k: Known): PinRead => ({ ok: true, index: indexOf(k, volatile), readAt: k.readAt })
  if (refreshOlderThan === undefined) {
    if (hit && now - hit.checkedAt < PINS_FRESH_MS && now - hit.readAt < PINS_MAX_AGE_MS) return answer(hit)
    const shared = await readCache(cache, tenant, origin)
    if (shared && now - shared.readAt < PINS_MAX_AGE_MS && (!hit || shared.readAt >= hit.readAt)) return answer(remember(mk, shared, now))
  } else if (hit && now - hit.readAt < refreshOlderThan) return answer(hit)
  const read = deps.read ?? (async (t: string, o: string) => (await deps.env.TOOL_PINS.getByName(t).pinSet(o)) ?? Promise.reject(new Error('invalid origin key')))
  try {
    const fresh = remember(mk, { set: await read(tenant, origin), readAt: now }, now)
    await putCache(cache, tenant, origin, fresh)
    return answer(fresh)
  } catch (err) {
    console.error(JSON.stringify({ event: 'tool_pins_unreachable', tenant, error: String(err) }))
    const last = known.get(mk)
    if (last && now - last.readAt < PINS_STALE_LIMIT_MS) return answer(last)
    return { ok: false }
  }
}

/** Replaces this isolate's and this location's copy with a set the object just returned. */
export async function storePins(tenant: string, origin: string, set: PinSet, deps: Pick<PinCacheDeps, 'now' | 'cache'>): Promise<void> {
  const now = (deps.now ?? Date.now)()
  await putCache(deps.cache ?? caches.default, tenant, origin, remember(memoKey(tenant, origin), { set, readAt: now }, now))
}

/** Drops this isolate's and this location's copies of a tenant's pins (after an admin decision, and in tests). */
export async function forgetPins(tenant: string, origins: readonly string[], cache: Cache = caches.default): Promise<void> {
  for (const k of known.keys()) if (k.startsWith(`${tenant}\n`)) known.delete(k)
  await Promise.all(origins.map((o) => cache.delete(cacheKey(tenant, o)).catch(() => false)))
}

function indexOf(k: Known, volatile: readonly string[]): PinIndex {
  const sig = volatile.join('\n')
  if (k.index?.volatile !== sig) k.index = { volatile: sig, index: new PinIndex(k.set, volatile) }
  return k.index.index
}

/**
 * Keeps a copy in the isolate, checked at `now`. A copy of the same object version as the one held keeps
 * the held one's index: re-indexing a large set on every look would cost more than the look.
 */
function remember(mk: string, k: { set: PinSet; readAt: number }, now: number): Known {
  const current = known.get(mk)
  if (current && current.set.version === k.set.version) {
    current.readAt = Math.max(current.readAt, k.readAt)
    current.checkedAt = now
    return current
  }
  // Never replace a newer copy (an observe result) with an older one.
  if (current && current.readAt > k.readAt && current.set.version > k.set.version) {
    current.checkedAt = now
    return current
  }
  const fresh: Known = { set: k.set, readAt: k.readAt, checkedAt: now }
  known.set(mk, fresh, charsOf(k.set))
  return fresh
}

/** Characters of definition text the isolate's copies hold (tests). */
export function knownPinChars(): number {
  return known.chars
}

function charsOf(set: PinSet): number {
  let n = 0
  for (const e of set.entries) {
    n += e.name.length + (e.approved?.length ?? 0) + (e.candidate?.length ?? 0)
    for (const d of e.rejected) n += d.length
  }
  return n
}

async function putCache(cache: Cache, tenant: string, origin: string, k: Known): Promise<void> {
  const body = JSON.stringify({ set: k.set, readAt: k.readAt })
  await cache
    .put(cacheKey(tenant, origin), new Response(body, { headers: { 'cache-control': `max-age=${Math.ceil(PINS_MAX_AGE_MS / 1000)}` } }))
    .catch(() => undefined)
}

async function readCache(cache: Cache, tenant: string, origin: string): Promise<{ set: PinSet; readAt: number } | undefined> {
  try {
    const res = await cache.match(cacheKey(tenant, origin))
    if (!res) return undefined
    const v = (await res.json()) as { set?: PinSet; readAt?: number }
    return v.set && typeof v.readAt === 'number' ? { set: v.set, readAt: v.readAt } : undefined
  } catch {
    return undefined // a broken cache is only a missed optimisation
  }
}
