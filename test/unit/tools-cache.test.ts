import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { definitionJson } from '../../src/tools/canonical'
import { PINS_FRESH_MS, PINS_MAX_AGE_MS, PINS_STALE_LIMIT_MS } from '../../src/tools/bounds'
import { MAX_KNOWN_CHARS, forgetPins, knownPinChars, readPins, storePins } from '../../src/tools/pin-cache'
import { MAX_DEFINITION_CHARS, type PinSet } from '../../src/tools/pin-types'

const ORIGIN = 'https://origin.example/mcp'
const observe = (tenant: string, description: string) =>
  env.TOOL_PINS.getByName(tenant).observe({
    tenant,
    origin: ORIGIN,
    volatile: [],
    items: [{ kind: 'tool', name: 'q', definition: definitionJson('tool', { name: 'q', description }), scan: { held: false, score: 0, findings: [] } }],
  })
const state = async (tenant: string, deps: Parameters<typeof readPins>[3], refresh?: number) => {
  const read = await readPins(tenant, ORIGIN, [], deps, refresh)
  return read.ok ? read.index.get('tool', 'q')?.state ?? 'none' : 'unreadable'
}

describe('pins on the hot path, with bounded staleness (injected clock)', () => {
  it('an approval made at the object is seen by every reader within PINS_MAX_AGE_MS, never later', async () => {
    const tenant = 'pins-clock'
    const cache = await caches.open('pins-test-1')
    await forgetPins(tenant, [ORIGIN], cache)
    await observe(tenant, 'v1')
    await observe(tenant, 'v2') // pending
    let t = 1_000_000
    const deps = { env, cache, now: () => t }
    expect(await state(tenant, deps)).toBe('pending')
    await env.TOOL_PINS.getByName(tenant).decide({ origin: ORIGIN, kind: 'tool', name: 'q', decision: 'approve', by: 'test' })
    t += PINS_FRESH_MS - 1
    expect(await state(tenant, deps)).toBe('pending') // isolate copy
    t += 1
    expect(await state(tenant, deps)).toBe('pending') // location copy, younger than PINS_MAX_AGE_MS
    t = 1_000_000 + PINS_MAX_AGE_MS
    expect(await state(tenant, deps)).toBe('approved')
  })

  it('a name the copy lacks re-reads the object when asked to', async () => {
    const tenant = 'pins-miss'
    const cache = await caches.open('pins-test-2')
    await forgetPins(tenant, [ORIGIN], cache)
    let t = 2_000_000
    const deps = { env, cache, now: () => t }
    expect(await state(tenant, deps)).toBe('none')
    await observe(tenant, 'v1')
    t += 10
    expect(await state(tenant, deps)).toBe('none')
    t += 1_000
    expect(await state(tenant, deps, 1_000)).toBe('approved')
  })

  it('when the object cannot be reached, the last known pins hold until PINS_STALE_LIMIT_MS, then reads fail', async () => {
    const tenant = 'pins-unreachable'
    const cache = await caches.open('pins-test-3')
    await forgetPins(tenant, [ORIGIN], cache)
    await observe(tenant, 'v1')
    let t = 3_000_000
    let reachable = true
    const read = async (name: string, origin: string): Promise<PinSet> => {
      if (!reachable) throw new Error('unreachable')
      const set = await env.TOOL_PINS.getByName(name).pinSet(origin)
      if (!set) throw new Error('no set')
      return set
    }
    const deps = { env, cache, now: () => t, read }
    expect(await state(tenant, deps)).toBe('approved')
    reachable = false
    t += PINS_STALE_LIMIT_MS - 1
    expect(await state(tenant, deps)).toBe('approved')
    t += 1
    expect(await state(tenant, deps)).toBe('unreadable')
  })
})

describe('pins kept in the isolate', () => {
  const noCache = { match: async () => undefined, put: async () => undefined, delete: async () => false } as unknown as Cache
  const large = (origin: string, pins: number): PinSet => {
    const approved = definitionJson('tool', { name: 'q', description: 'x'.repeat(MAX_DEFINITION_CHARS - 100) })
    return { origin, version: 1, entries: Array.from({ length: pins }, (_, i) => ({ kind: 'tool', name: `q${i}`, state: 'approved', approved, candidate: null, rejected: [] })) }
  }

  it('holds a bounded amount of definition text, and still answers with a set larger than the bound', async () => {
    const before = knownPinChars()
    for (let i = 0; i < 10; i++) await storePins('pins-large', `https://origin-${i}.example/mcp`, large(`https://origin-${i}.example/mcp`, 4), { cache: noCache })
    expect(knownPinChars()).toBeLessThanOrEqual(Math.max(before, MAX_KNOWN_CHARS))
    const huge = large(ORIGIN, Math.ceil(MAX_KNOWN_CHARS / MAX_DEFINITION_CHARS) + 1)
    const read = await readPins('pins-huge', ORIGIN, [], { env, cache: noCache, read: async () => huge })
    expect(read.ok && read.index.get('tool', 'q0')?.state).toBe('approved')
    expect(knownPinChars()).toBeLessThanOrEqual(Math.max(before, MAX_KNOWN_CHARS))
  })
})
