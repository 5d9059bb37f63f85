/**
 * Shipped rule ids are stable (rules/README.md): a stored tenant config names rules by id in its
 * overrides, disables and allow entries, and reading one that names an id no release ships any more fails
 * that tenant closed. `rules/released-ids.json` records every id a release has shipped.
 */
import { describe, expect, it } from 'vitest'
import released from '../../rules/released-ids.json'
import { builtinPacks } from '../../src/detectors/rules/packs'

const shipped = new Set(builtinPacks().flatMap((p) => p.rules.map((r) => r.id)))

describe('released rule ids', () => {
  it('are all still shipped: a rule is retired by disabling it in its pack, never by removing or renaming it', () => {
    expect(released.ids.filter((id) => !shipped.has(id))).toEqual([])
  })

  it('include every shipped id, so the next release keeps them too (add a new rule id to the file)', () => {
    expect([...shipped].filter((id) => !released.ids.includes(id))).toEqual([])
  })
})
