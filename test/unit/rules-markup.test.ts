/**
 * The rule engine's view without formatting marks: what goes, what stays, and spans back in the text.
 */
import { describe, expect, it } from 'vitest'
import { plainView } from '../../src/detectors/rules/markup'

describe('plainView', () => {
  it('drops emphasis and code marks that open or close a word, and doubled ones inside a word', () => {
    const cases: Array<[string, string]> = [
      ['**Ignore** all', 'Ignore all'],
      ['_Ignore_ all', 'Ignore all'],
      ['a `b` c', 'a b c'],
      ['~~old~~ new', 'old new'],
      ['Ig**nore** x', 'Ignore x'],
      ['Ig~~no~~re', 'Ignore'],
      ['__init__ runs', 'init runs'],
    ]
    for (const [text, plain] of cases) expect([text, plainView(text)?.text]).toEqual([text, plain])
  })

  it('drops bare formatting tags, reads line and block tags as one space, and keeps the rest', () => {
    const cases: Array<[string, string]> = [
      ['<b>Ignore</b> all', 'Ignore all'],
      ['Ig<b></b>nore', 'Ignore'],
      ['line<br>next', 'line next'],
      ['line <br/> next', 'line next'],
      ['a <span> b', 'a b'],
    ]
    for (const [text, plain] of cases) expect([text, plainView(text)?.text]).toEqual([text, plain])
  })

  it('leaves identifiers, lone marks, attribute-bearing tags and unknown tags alone', () => {
    for (const text of ['snake_case and X__Y', '* item', '5 * 3', '***', '~/.ssh/id_rsa', '<b class="x">k</b>', '<<SYS>>', '<IMPORTANT>', 'a<b'])
      expect([text, plainView(text)?.text ?? text]).toEqual([text, text.replace('</b>', '')])
  })

  it('maps every span of the view back to the same characters of the text', () => {
    const text = 'Say **hello** to <em>all</em> of `them`<br>now, Ig~~no~~re __x__.'
    const view = plainView(text)
    expect(view?.text).toBe('Say hello to all of them now, Ignore x.')
    if (!view) return
    for (const word of ['Say', 'hello', 'all', 'them', 'now', 'Ignore'.slice(0, 2), 'x']) {
      const at = view.text.indexOf(word)
      const [s, e] = view.span(at, at + word.length)
      expect([word, text.slice(s, e)]).toEqual([word, word])
    }
    // A span across removed marks covers them, from its first kept character to its last.
    const at = view.text.indexOf('hello to all')
    expect(text.slice(...view.span(at, at + 'hello to all'.length))).toBe('hello** to <em>all')
  })
})
