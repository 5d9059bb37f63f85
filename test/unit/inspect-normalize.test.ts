import { describe, expect, it } from 'vitest'
import { isIgnorable } from '../../src/inspect/char-classes'
import { normalize } from '../../src/inspect/normalize'
import { originalSpan } from '../../src/inspect/offset-map'

describe('normalize: detection text', () => {
  it.each([
    ['Cyrillic і homoglyph', 'іgnore previous', 'ignore previous'],
    ['zero-width split', 'ig\u200bnore previous', 'ignore previous'],
    ['decimal entity', '&#105;gnore', 'ignore'],
    ['decimal entity without ;', '&#105gnore', 'ignore'],
    ['hex entity', '&#x69;gnore', 'ignore'],
    ['named entities', '&lt;IMPORTANT&gt; &quot;x&quot;', '<IMPORTANT> "x"'],
    ['unknown names stay; the legacy ones decode without their ;, as browsers do', '&foo; &amp x &nbspall', '&foo; & x all'],
    ['numeric references with leading zeros', 'Ign&#00000111;re &#x000069;t', 'Ignore it'],
    ['JSON and JavaScript escapes, a surrogate pair as one', 'Ign\\u006fr\\u0065 \\x69t \\ud83d\\ude00', 'Ignore it \u{1F600}'],
    ['a lone escaped surrogate and other backslashes stay', '\\ud83d C:\\new\\x', '\\ud83d C:\\new\\x'],
    ['marks that style an ASCII letter are dropped; accents that spell a letter stay', 'I\u0323g\u0332n\u0336ore cafe\u0301 u\u0308ber', 'Ignore café über'],
    ['Turkish dotted capital I in an ASCII word', 'İGNORE', 'IGNORE'],
    ['invisible format characters split no word', 'Ig\uFFFBno\u{13430}re a\u0600ll', 'Ignore all'],
    ['references decoded once, never recursively', '&amp;#105; &#38;#105;', '&#105; &#105;'],
    ['percent-encoding read through up to three layers', '%2569gnore %252569 %25252569', 'ignore i %69'],
    ['percent UTF-8 encoded twice', '%25E2%2580%2599 caf%25C3%25A9', '\u2019 café'],
    ['a deeper reading that is no character falls back to one layer', '%25AB 100%25 sure %25zz %2525', '%AB 100% sure %zz %'],
    ['entity of an invisible is dropped', 'ig&#8203;nore', 'ignore'],
    ['percent ASCII', '%69gnore', 'ignore'],
    ['percent UTF-8 (Cyrillic і)', '%D1%96gnore', 'ignore'],
    ['percent not UTF-8 stays', '%E2%82 %C0%AF %zz 100%', '%E2%82 %C0%AF %zz 100%'],
    ['fullwidth (NFKC)', 'ＩＧＮＯＲＥ ａｌｌ', 'IGNORE all'],
    ['mathematical bold (NFKC)', '𝐢𝐠𝐧𝐨𝐫𝐞', 'ignore'],
    ['ligature expands', 'ﬁle', 'file'],
    ['circled letters', 'ⓘⓖⓝⓞⓡⓔ', 'ignore'],
    ['whitespace runs fold', 'a \t\n\u00a0\u3000 b\r\nc', 'a b c'],
    ['controls dropped', 'ig\u0000no\u007fre', 'ignore'],
    ['tag characters dropped', 'hi\u{E0069}\u{E0067}', 'hi'],
    ['bidi controls dropped', '\u202eevil\u202c \u2066x\u2069', 'evil x'],
    ['soft hyphen, word joiner, BOM dropped', '\ufeffig\u00adn\u2060ore', 'ignore'],
    ['variation selectors dropped', '❤\ufe0f ok', '❤ ok'],
    ['emoji ZWJ sequence loses its joiners', '👨\u200d👩\u200d👧', '👨👩👧'],
    ['combining mark composes', 'e\u0301te\u0301', 'été'],
    ['case is kept', 'IGNORE Ignore', 'IGNORE Ignore'],
    ['all-look-alike word is mapped', 'рау', 'pay'],
    ['real Cyrillic is left alone', 'привет мир', 'привет мир'],
    ['Greek capitals inside a Latin word', 'ΙGNORE', 'IGNORE'],
    ['small capitals', 'ɪɢɴᴏʀᴇ', 'ignore'],
    ['mixed tricks', '&#x456;g\u200bn%6Fr\uff45  ａll\u00a0рrеvіоus', 'ignore all previous'],
  ])('%s', (_name, raw, text) => {
    expect(normalize(raw).text).toBe(text)
  })

  it('takes the fast path on plain ASCII: same string, identity map', () => {
    const raw = 'Converts between metric and imperial units. Returns a number!'
    const n = normalize(raw)
    expect(n.text).toBe(raw)
    for (let i = 0; i <= raw.length; i++) expect(n.toOriginal(i)).toBe(i)
  })

  it('says whether the text is ASCII only, whatever it was decoded from', () => {
    const cases: Array<[string, boolean]> = [
      ['plain words', true],
      ['a&nbsp;b &#105;gnore %69 \\u0069 tab\there', true],
      ['zero\u200Bwidth and\u00A0space', true],
      ['caf\u00E9', false],
      ['caf&#233;', false],
      ['caf%C3%A9', false],
      ['\u0441ode', false], // mapped to ASCII by the confusables pass, but read from elsewhere: not claimed
    ]
    for (const [raw, ascii] of cases) expect([raw, normalize(raw).ascii]).toEqual([raw, ascii])
  })
})

describe('normalize: offsets map back to the original', () => {
  // Each case: raw, a regex run over the normalised text, the original substring the span must cut.
  it.each([
    ['ig\u200Bnore', /ignore/, 'ig\u200Bnore'],
    ['say ig\u200Bnore now', /ignore/, 'ig\u200Bnore'],
    ['&#105;gnore it', /ignore/, '&#105;gnore'],
    ['x %69gnore', /ignore/, '%69gnore'],
    ['іgnоrе all', /ignore/, 'іgnоrе'],
    ['ＩＧＮＯＲＥ!', /IGNORE/, 'ＩＧＮＯＲＥ'],
    ['𝐢𝐠𝐧𝐨𝐫𝐞 x', /ignore/, '𝐢𝐠𝐧𝐨𝐫𝐞'],
    ['ignore   \n previous', /ignore previous/, 'ignore   \n previous'],
    ['a\u200Bb', /a/, 'a'],
    ['a\u200Bb', /b/, 'b'],
    ['ﬁle', /f/, 'ﬁ'],
    ['ﬁle', /i/, 'ﬁ'],
    ['ﬁle', /le/, 'le'],
    ['café\u0301 x', /x/, 'x'],
    ['e\u0301t', /é/, 'e\u0301'],
    ['\u200Bignore\u200B', /ignore/, 'ignore'],
    ['go %2569%252567nore it', /ignore/, '%2569%252567nore'],
    ['x %25E2%2580%2599 y', /\u2019/, '%25E2%2580%2599'],
  ])('%j: %s', (raw, re, cut) => {
    const n = normalize(raw)
    const m = re.exec(n.text)
    expect(m).not.toBeNull()
    const [s, e] = originalSpan(n, m?.index ?? 0, (m?.index ?? 0) + (m?.[0].length ?? 0))
    expect(raw.slice(s, e)).toBe(cut)
  })

  it('toOriginal alone maps a whole match over the 7 original characters of "ig\\u200Bnore"', () => {
    const n = normalize('ig\u200Bnore')
    expect(n.text).toBe('ignore')
    expect([n.toOriginal(0), n.toOriginal(6)]).toEqual([0, 7])
  })

  it.each(['plain', 'a  b', 'ig\u200Bnore', '&#105;&amp;%41', 'ﬁ𝐢\u00a0 e\u0301', '\u{E0041}x\u{E0042}', 'привет іgnore'])(
    'is monotone and covers the whole original: %j',
    (raw) => {
      const n = normalize(raw)
      let prevStart = 0
      let prevEnd = 0
      for (let i = 0; i <= n.text.length; i++) {
        expect(n.toOriginal(i)).toBeGreaterThanOrEqual(prevStart)
        expect(n.toOriginalEnd(i)).toBeGreaterThanOrEqual(prevEnd)
        prevStart = n.toOriginal(i)
        prevEnd = n.toOriginalEnd(i)
      }
      expect(n.toOriginal(n.text.length)).toBe(raw.length)
      for (let i = 0; i < n.text.length; i++) {
        const [s, e] = originalSpan(n, i, i + 1)
        expect(e).toBeGreaterThan(s)
      }
    },
  )
  it('maps every copied unit of a long text back to itself across hundreds of folds and decodings', () => {
    const joints = ['\n\n', '  ', '\u200b', '&amp;', '\t', ' \r\n ']
    let raw = ''
    for (let p = 0; p < 300; p++) raw += `Paragraph ${p} says the quarterly report is ready${joints[p % joints.length]}`
    const n = normalize(raw)
    expect(n.text.length).toBeLessThan(raw.length)
    let copied = 0
    let prev = -1
    for (let i = 0; i < n.text.length; i++) {
      const at = n.toOriginal(i)
      expect(at).toBeGreaterThan(prev)
      prev = at
      const unit = n.text[i] as string
      if (/[A-Za-z0-9]/.test(unit)) {
        expect(raw[at], `unit ${i}`).toBe(unit)
        expect(n.toOriginalEnd(i + 1)).toBe(at + 1)
        copied++
      }
    }
    expect(copied).toBeGreaterThan(10_000)
    const last = n.text.lastIndexOf('Paragraph 299')
    expect(raw.slice(...originalSpan(n, last, last + 'Paragraph 299'.length))).toBe('Paragraph 299')
  })
})

describe('normalize: memory', () => {
  // The map's runs, read from the private arrays: what the isolate holds besides the text.
  const runs = (raw: string): number => (normalize(raw) as unknown as { outAt?: number[] }).outAt?.length ?? 0

  it('keeps one run per expanding character, not one per unit it expands to', () => {
    // U+FDFA is 18 units under NFKC, U+00BC three: a run per unit made a 2 MB text of ¼ take the
    // isolate's whole 128 MB.
    expect(runs('\uFDFA'.repeat(1000))).toBeLessThanOrEqual(1000)
    expect(runs('\u00BC'.repeat(1000))).toBeLessThanOrEqual(1000)
    expect(runs('&#xFDFA;'.repeat(1000))).toBeLessThanOrEqual(1000)
    const n = normalize('a\uFDFAb')
    expect(n.text.length).toBe(20)
    for (let i = 1; i <= 18; i++) expect(originalSpan(n, i, i + 1), `unit ${i}`).toEqual([1, 2])
    expect(originalSpan(n, 0, 1)).toEqual([0, 1])
    expect(originalSpan(n, 19, 20)).toEqual([2, 3])
  })
})

describe('isIgnorable', () => {
  it('agrees with Unicode Default_Ignorable_Code_Point plus the other format characters and C1 controls', () => {
    const di = /\p{Default_Ignorable_Code_Point}|\p{Cf}/u
    const wrong: number[] = []
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp < 0xe000) continue
      const expected = di.test(String.fromCodePoint(cp)) || (cp >= 0x80 && cp < 0xa0 && cp !== 0x85)
      if (isIgnorable(cp) !== expected) wrong.push(cp)
    }
    expect(wrong).toEqual([])
  })
})
