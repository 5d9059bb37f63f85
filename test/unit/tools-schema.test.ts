import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/tools/canonical'
import { MAX_COMPILED_CHARS, MAX_SCHEMA_CHARS, compileSchema, compiledSchemaChars } from '../../src/tools/schema'
import { undeclaredProperties } from '../../src/tools/undeclared'
import type { JsonObject, JsonValue } from '../../src/mcp/jsonrpc'

/** The patterns handed to V8's RegExp constructor while `run` runs. */
function regExpsBuilt(run: () => void): string[] {
  const seen: string[] = []
  const original = globalThis.RegExp
  globalThis.RegExp = new Proxy(original, {
    construct(target, args: unknown[]) {
      seen.push(String(args[0]))
      return Reflect.construct(target, args) as RegExp
    },
  })
  try {
    run()
  } finally {
    globalThis.RegExp = original
  }
  return seen
}

const compile = (schema: JsonValue) => compileSchema(canonicalJson(schema), schema)

describe('schema checks without eval or backtracking regexes', () => {
  const schema = {
    type: 'object',
    properties: {
      city: { type: 'string', minLength: 2, pattern: '^[A-Z][a-z]+$' },
      days: { type: 'integer', minimum: 1, maximum: 14 },
      units: { enum: ['metric', 'imperial'] },
    },
    required: ['city'],
    additionalProperties: false,
  }

  it.each([
    [{ city: 'Paris', days: 3 }, true, []],
    [{ city: 'paris' }, false, [{ at: '#/city', keyword: 'pattern' }]],
    [{ days: 3 }, false, [{ at: '#', keyword: 'required' }]],
    [{ city: 'Paris', days: 40, units: 'kelvin' }, false, [{ at: '#/days', keyword: 'maximum' }, { at: '#/units', keyword: 'enum' }]],
    [{ city: 'Paris', notes: '~/.ssh/id_rsa' }, false, [{ at: '#', keyword: 'additionalProperties' }]],
  ])('%j → valid %s', (value, valid, errors) => {
    const check = compile(schema).check(value)
    expect(check.valid).toBe(valid)
    expect(check.errors).toEqual(errors)
    expect(check.unchecked).toEqual([])
  })

  it('runs a catastrophic pattern in linear time (re2js), with the same answer', () => {
    const evil = compile({ type: 'string', pattern: '^(a+)+$' })
    const input = `${'a'.repeat(50_000)}!`
    const started = performance.now()
    expect(evil.check(input).valid).toBe(false)
    expect(evil.check('aaaa').valid).toBe(true)
    expect(performance.now() - started).toBeLessThan(2_000)
  })

  it('reports a pattern RE2 cannot run as unchecked and does not fail on it', () => {
    const check = compile({ type: 'object', properties: { p: { type: 'string', pattern: '^(?=.*\\d).+$' } } }).check({ p: 'no digits' })
    expect(check).toMatchObject({ valid: true, unchecked: ['pattern@#/properties/p'] })
  })

  it('never lets the validator compile origin regexes: patternProperties and format "regex" are unchecked', () => {
    const s = compile({ type: 'object', patternProperties: { '^(a+)+$': { type: 'number' } }, additionalProperties: false, properties: { r: { type: 'string', format: 'regex' } } })
    const check = s.check({ aaaa: 'not a number', r: '(' })
    expect(check.valid).toBe(true)
    expect(check.unchecked).toEqual(['patternProperties@#', 'additionalProperties@#', 'format@#/properties/r'])
  })

  it('follows local $refs and reports an unresolvable one as unchecked', () => {
    const s = compile({ $defs: { id: { type: 'string', pattern: '^[0-9]+$' } }, type: 'object', properties: { id: { $ref: '#/$defs/id' } } })
    expect(s.check({ id: '12' }).valid).toBe(true)
    expect(s.check({ id: 'x1' }).errors).toEqual([{ at: '#/id', keyword: 'pattern' }])
    expect(compile({ $ref: 'https://elsewhere.example/schema.json' }).check({})).toMatchObject({ valid: true, unchecked: ['schema'] })
  })

  // JSON Schema patterns are ECMA-262 regular expressions: re2js must give the answer a JavaScript RegExp
  // (with the `u` flag, as validators compile them) gives, where RE2's own meaning differs.
  it.each([
    ['\\S, NO-BREAK SPACE', '^\\S+$', 'a\u00a0b', false],
    ['\\S, LINE SEPARATOR', '^\\S+$', 'a\u2028b', false],
    ['[^\\s], ZERO WIDTH NO-BREAK SPACE', '^[^\\s]+$', 'x\ufeffy', false],
    ['\\s, LINE TABULATION', '^\\s$', '\u000b', true],
    ['[\\s], IDEOGRAPHIC SPACE', '^[\\s]$', '\u3000', true],
    ['[\\S], PARAGRAPH SEPARATOR', '^[\\S]+$', 'a\u2029', false],
    ['[^\\S], NO-BREAK SPACE', '^[^\\S]$', '\u00a0', true],
    ['\\S, an astral character', '^\\S+$', 'ab\u{1F600}', true],
    ['., CARRIAGE RETURN', '^a.b$', 'a\rb', false],
    ['., LINE SEPARATOR', '^a.b$', 'a\u2028b', false],
    ['., an astral character', '^a.b$', 'a\u{1F600}b', true],
    ['[.], a letter', '^[.]$', 'x', false],
    ['an escaped backslash before s', '^\\\\s$', '\\s', true],
    ['\\u escape', '^caf\\u00e9$', 'caf\u00e9', true],
    ['a surrogate pair of \\u escapes', '^\\ud83d\\ude00$', '\u{1F600}', true],
    ['\\w, a non-ASCII letter', '^\\w+$', 'caf\u00e9', false],
    ['\\d, a non-ASCII digit', '^\\d$', '\u0663', false],
    ['\\b, before a non-ASCII letter', '\\b\u00e9', ' \u00e9', false],
  ])('%s: as in ECMAScript', (_name, pattern, input, expected) => {
    expect(new RegExp(pattern, 'u').test(input)).toBe(expected) // the table itself is ECMAScript's answer
    expect(compile({ type: 'string', pattern }).check(input)).toMatchObject({ valid: expected, unchecked: [] })
  })

  describe('a $ref never reaches an origin regex the firewall did not rewrite', () => {
    const slow = '^(a|a)+$' // exponential on a backtracking engine
    const lookaround = '^(?=a)a+$' // RE2 cannot compile it, so the firewall reports it unchecked

    it('runs a pathological pattern under an unknown keyword on re2js, with the same answer', () => {
      const s = compile({ type: 'object', properties: { q: { $ref: '#/x-defs/q' } }, 'x-defs': { q: { type: 'string', pattern: slow } } })
      const built = regExpsBuilt(() => {
        expect(s.check({ q: `${'a'.repeat(24)}!` })).toEqual({ valid: false, errors: [{ at: '#/q', keyword: 'pattern' }], unchecked: [], undeclared: [] })
        expect(s.check({ q: 'aaaa' }).valid).toBe(true)
      })
      expect(built).not.toContain(slow)
    })

    it.each([
      ['an unknown keyword', { 'x-defs': { q: { pattern: lookaround } } }, '#/x-defs/q', ['pattern@#/x-defs/q']],
      ['definitions under an unknown keyword', { 'x-lib': { definitions: { q: { pattern: lookaround } } } }, '#/x-lib/definitions/q', ['pattern@#/x-lib/definitions/q']],
      ['an examples object', { examples: { q: { pattern: lookaround } } }, '#/examples/q', ['pattern@#/examples/q']],
      ['an embedded $id', { 'x-lib': { $id: 'https://lib.example/q.json', pattern: lookaround } }, 'https://lib.example/q.json', ['pattern@#/x-lib']],
      ['an $anchor', { 'x-lib': { $anchor: 'q', pattern: lookaround } }, '#q', ['pattern@#/x-lib']],
      ['patternProperties', { 'x-defs': { q: { patternProperties: { [slow]: { type: 'number' } }, additionalProperties: false } } }, '#/x-defs/q', ['patternProperties@#/x-defs/q', 'additionalProperties@#/x-defs/q']],
      ['format "regex"', { 'x-defs': { q: { format: 'regex' } } }, '#/x-defs/q', ['format@#/x-defs/q']],
      ['a pattern that is not a string', { 'x-defs': { q: { pattern: [slow] } } }, '#/x-defs/q', ['pattern@#/x-defs/q']],
      ['a format that is not a string', { 'x-defs': { q: { format: ['regex'] } } }, '#/x-defs/q', ['format@#/x-defs/q']],
    ] as Array<[string, JsonObject, string, string[]]>)('through %s', (_name, defs, ref, unchecked) => {
      const s = compile({ type: 'object', properties: { q: { $ref: ref } }, ...defs })
      const built = regExpsBuilt(() => expect(s.check({ q: 'b' })).toMatchObject({ valid: true, unchecked }))
      expect(built.filter((p) => p === slow || p === lookaround)).toEqual([])
    })

    it.each([
      ['const', { const: { pattern: slow } }, '#/const'],
      ['enum', { enum: [{ pattern: slow }] }, '#/enum/0'],
      ['default', { default: { pattern: slow } }, '#/default'],
      ['a remote schema', {}, 'https://elsewhere.example/q.json#/x-defs/q'],
    ] as Array<[string, JsonObject, string]>)('cannot resolve a $ref into %s: the schema is unchecked', (_name, defs, ref) => {
      const s = compile({ type: 'object', properties: { q: { $ref: ref } }, ...defs })
      expect(s.check({ q: 'aaaa!' })).toMatchObject({ valid: true, unchecked: ['schema'] })
    })

    it('reports $dynamicRef, which the validator does not evaluate, as unchecked', () => {
      const s = compile({ type: 'object', properties: { q: { $dynamicRef: '#q' } }, $defs: { q: { $dynamicAnchor: 'q', type: 'string' } } })
      expect(s.check({ q: 1 })).toMatchObject({ valid: true, unchecked: ['$dynamicRef@#/properties/q'] })
    })
  })

  it('survives a self-referencing schema', () => {
    expect(compile({ $ref: '#' }).check({})).toMatchObject({ valid: true, unchecked: ['schema'] })
  })

  it('does not evaluate a schema past its size bound', () => {
    const big = { type: 'object', description: 'x'.repeat(MAX_SCHEMA_CHARS) }
    expect(compile(big).check(42)).toEqual({ valid: true, errors: [], unchecked: ['schema'], undeclared: [] })
  })

  it('keeps checking a pattern after other schemas fill the isolate pattern table', () => {
    // A schema compiled earlier and still held (a pinned definition's) must not lose its patterns when
    // later schemas (another tenant's origin, a dry run's outputSchema) push the table past its bound.
    const held = compile({ type: 'object', properties: { path: { type: 'string', pattern: '^/safe/' } } })
    expect(held.check({ path: '/etc/passwd' }).valid).toBe(false)
    const many = { type: 'object', properties: Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`p${i}`, { type: 'string', pattern: `^flood-${i}$` }])) }
    const flood = (n: number) => compile({ ...many, description: `${n}`, properties: { ...many.properties, [`q${n}`]: { pattern: `^other-${n}$` } } })
    flood(1)
    flood(2)
    const more = { type: 'object', properties: Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`p${i}`, { type: 'string', pattern: `^more-${i}$` }])) }
    compile(more)
    expect(held.check({ path: '/etc/passwd' }).valid).toBe(false)
    expect(held.check({ path: '/safe/a' }).valid).toBe(true)
  })

  it('checks every pattern of a schema whose own patterns push the table past its bound', () => {
    compile({ type: 'object', properties: Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`p${i}`, { pattern: `^fill-${i}$` }])) })
    const own = { type: 'object', properties: Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`p${i}`, { type: 'string', pattern: `^own-${i}$` }])) }
    const s = compile(own)
    expect(s.check({ p0: 'nope' }).valid).toBe(false)
    expect(s.check({ p3999: 'nope' }).valid).toBe(false)
    expect(s.check({ p0: 'own-0', p3999: 'own-3999' }).valid).toBe(true)
  })

  it('holds a bounded amount of schema text', () => {
    const before = compiledSchemaChars()
    for (let i = 0; i < 50; i++) compile({ type: 'object', description: `${i}:${'x'.repeat(MAX_SCHEMA_CHARS)}` })
    for (let i = 0; i < 50; i++) compile({ type: 'object', description: `${i}:${'y'.repeat(MAX_SCHEMA_CHARS / 2)}` })
    expect(compiledSchemaChars()).toBeLessThanOrEqual(Math.max(before, MAX_COMPILED_CHARS))
  })

  it('reads draft-07 schemas as draft-07 (tuple items)', () => {
    const s = compile({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'array', items: [{ type: 'string' }, { type: 'number' }] })
    expect(s.check(['a', 1]).valid).toBe(true)
    expect(s.check([1, 'a']).valid).toBe(false)
  })
})

describe('undeclared properties', () => {
  it.each([
    ['an extra argument', { type: 'object', properties: { city: { type: 'string' } } }, { city: 'x', notes: 'secret' }, ['#/notes']],
    ['a tool declaring no arguments', { type: 'object' }, { notes: 'x' }, ['#/notes']],
    ['nested objects and arrays', { type: 'object', properties: { to: { type: 'array', items: { type: 'object', properties: { email: { type: 'string' } } } } } }, { to: [{ email: 'a', bcc: 'evil' }] }, ['#/to/0/bcc']],
    ['members declared in allOf branches and refs', { allOf: [{ $ref: '#/$defs/a' }, { properties: { b: {} } }], $defs: { a: { properties: { a: {} } } }, type: 'object' }, { a: 1, b: 2, c: 3 }, ['#/c']],
    ['an open schema', { type: 'object', properties: { a: {} }, additionalProperties: { type: 'string' } }, { a: 1, z: 'x' }, []],
    ['a schema that says nothing', {}, { anything: 1 }, []],
  ] as Array<[string, JsonValue, JsonValue, string[]]>)('%s', (_name, schema, value, expected) => {
    expect(undeclaredProperties(schema, value)).toEqual(expected)
  })
})
