import { describe, expect, it } from 'vitest'
import { base64SpellingOf, encodeBase64Text } from '../../src/inspect/base64'

const utf8Base64 = (text: string) => btoa(Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join(''))

describe('base64SpellingOf', () => {
  const text = 'PORT=8080 ???>>> grüße!'
  const standard = utf8Base64(text)

  it('starts from a payload with both of the alphabets\' own characters, and padding', () => {
    expect(standard).toMatch(/^(?=.*\+)(?=.*\/).*=$/)
  })

  it.each([
    ['standard, padded', standard, { urlSafe: false, padded: true }],
    ['standard, unpadded', standard.replace(/=+$/, ''), { urlSafe: false, padded: false }],
    ['URL-safe, padded', standard.replace(/\+/g, '-').replace(/\//g, '_'), { urlSafe: true, padded: true }],
    ['URL-safe, unpadded', standard.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), { urlSafe: true, padded: false }],
  ])('reads %s', (_name, payload, spelling) => {
    expect(base64SpellingOf(payload, text)).toEqual(spelling)
    expect(encodeBase64Text(text, spelling)).toBe(payload)
  })

  it.each([
    ['standard: padded', 'aGkh', 'hi!', { urlSafe: false, padded: true }],
    ['URL-safe: unpadded', 'Pz8-', '??>', { urlSafe: true, padded: false }],
  ])('takes a payload that needs no padding as its alphabet writes it, %s', (_name, payload, decoded, spelling) => {
    expect(base64SpellingOf(payload, decoded)).toEqual(spelling)
  })

  it.each([
    ['a prefix of the text (a decode cut short)', standard, text.slice(0, 8)],
    ['line breaks', standard.replace(/(.{8})/g, '$1\n'), text],
    ['both alphabets', standard.replace(/[+/]/, (c) => (c === '+' ? '-' : '_')), text],
    ['a byte-order mark the text lost', utf8Base64(`\uFEFF${text}`), text],
    ['invalid UTF-8 read as U+FFFD', btoa('ok\xff'), 'ok\uFFFD'],
    ['non-zero bits after the last byte', 'aGl=', 'h'],
  ])('refuses %s', (_name, payload, decoded) => {
    expect(base64SpellingOf(payload, decoded)).toBeNull()
  })

  it('encodes more bytes than one call can take as arguments', () => {
    const long = 'ä'.repeat(100_000)
    expect(base64SpellingOf(utf8Base64(long), long)).toEqual({ urlSafe: false, padded: true })
  })
})
