import { describe, expect, it } from 'vitest'
import { PointerError, appendPointer, decodeSegment, encodeSegment, getAt, parsePointer, setAt, toPointer } from '../../src/inspect/pointer'

describe('JSON pointer encoding (RFC 6901)', () => {
  it.each([
    ['plain', 'plain'],
    ['a/b', 'a~1b'],
    ['m~n', 'm~0n'],
    ['~/', '~0~1'],
    ['', ''],
  ])('%j ⇄ %j', (segment, token) => {
    expect(encodeSegment(segment)).toBe(token)
    expect(decodeSegment(token)).toBe(segment)
  })

  it('builds and parses pointers', () => {
    expect(toPointer(['result', 'tools', 0, 'a/b'])).toBe('/result/tools/0/a~1b')
    expect(appendPointer('', '__proto__')).toBe('/__proto__')
    expect(parsePointer('')).toEqual([])
    expect(parsePointer('/')).toEqual([''])
    expect(parsePointer('/a~1b/~01')).toEqual(['a/b', '~1'])
  })

  it.each(['a', 'a/b', '/~2', '/x~'])('rejects malformed %j', (pointer) => {
    expect(() => parsePointer(pointer)).toThrow(PointerError)
  })
})

describe('getAt', () => {
  const doc = JSON.parse('{"a":{"b":["x","y"]},"":1,"__proto__":{"p":"own"}}') as unknown
  it.each([
    ['', doc],
    ['/a/b/1', 'y'],
    ['/', 1],
    ['/__proto__/p', 'own'],
    ['/a/b/2', undefined],
    ['/a/b/-', undefined],
    ['/a/b/01', undefined],
    ['/a/b/x', undefined],
    ['/a/constructor', undefined],
    ['/a/toString', undefined],
    ['/missing/deeper', undefined],
  ])('%j', (pointer, expected) => {
    expect(getAt(doc, pointer)).toBe(expected)
  })

  it('does not see an inherited __proto__', () => {
    expect(getAt({}, '/__proto__')).toBeUndefined()
  })
})

describe('setAt', () => {
  it('copies only the path it touches', () => {
    const root = { a: { b: ['x', 'y'], c: { d: 1 } }, e: { f: 2 } }
    const out = setAt(root, '/a/b/1', 'z')
    expect(out).toEqual({ a: { b: ['x', 'z'], c: { d: 1 } }, e: { f: 2 } })
    expect(root.a.b).toEqual(['x', 'y'])
    expect(out).not.toBe(root)
    expect(out.a).not.toBe(root.a)
    expect(out.a.c).toBe(root.a.c)
    expect(out.e).toBe(root.e)
  })

  it('replaces the whole document for the empty pointer', () => {
    expect(setAt({ a: 1 }, '', 'x')).toBe('x')
  })

  it('writes an own "__proto__" key without touching any prototype', () => {
    const root = JSON.parse('{"__proto__":{"polluted":"no"}}') as Record<string, unknown>
    const out = setAt(root, '/__proto__/polluted', 'yes')
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.prototype.hasOwnProperty.call(out, '__proto__')).toBe(true)
    expect(getAt(out, '/__proto__/polluted')).toBe('yes')
    expect(getAt(root, '/__proto__/polluted')).toBe('no')
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":"yes"}}')
  })

  it('adds "__proto__" as a data property, never through the setter', () => {
    const out = setAt({ a: 1 }, '/__proto__', { polluted: 'yes' })
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect((out as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(JSON.stringify(out)).toBe('{"a":1,"__proto__":{"polluted":"yes"}}')
  })

  it.each([
    ['/missing/x', { a: 1 }],
    ['/a/5', { a: ['x'] }],
    ['/a/-', { a: ['x'] }],
    ['/a/b', { a: 'str' }],
  ])('refuses %j when the location does not exist', (pointer, root) => {
    expect(() => setAt(root, pointer, 'v')).toThrow(new PointerError('missing', pointer))
  })
})
