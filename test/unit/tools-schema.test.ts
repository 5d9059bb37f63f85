import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/tools/canonical'
import { MAX_SCHEMA_CHARS, compileSchema } from '../../src/tools/schema'
import { undeclaredProperties } from '../../src/tools/undeclared'
import type { JsonValue } from '../../src/mcp/jsonrpc'

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

  it('survives a self-referencing schema', () => {
    expect(compile({ $ref: '#' }).check({})).toMatchObject({ valid: true, unchecked: ['schema'] })
  })

  it('does not evaluate a schema past its size bound', () => {
    const big = { type: 'object', description: 'x'.repeat(MAX_SCHEMA_CHARS) }
    expect(compile(big).check(42)).toEqual({ valid: true, errors: [], unchecked: ['schema'], undeclared: [] })
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
