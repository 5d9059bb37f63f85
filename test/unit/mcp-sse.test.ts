import { describe, expect, it } from 'vitest'
import { encodeEvent, SseFramer, SseFramingError, sseFramer, type SseItem } from '../../src/mcp/sse'

const caps = { maxLineBytes: 1024, maxEventBytes: 4096 }
const bytes = (s: string) => new TextEncoder().encode(s)

/** Frames `chunks` (strings or byte arrays) with a fresh framer and returns every item. */
function frame(chunks: Array<string | Uint8Array>, opts = caps): SseItem[] {
  const framer = new SseFramer(opts)
  const items = chunks.flatMap((c) => framer.push(typeof c === 'string' ? bytes(c) : c))
  framer.flush()
  return items
}

/** Every way to cut `text` into two chunks at a byte boundary. */
function allSplits(text: string): Array<[Uint8Array, Uint8Array]> {
  const all = bytes(text)
  return Array.from({ length: all.length + 1 }, (_, i) => [all.subarray(0, i), all.subarray(i)])
}

const message = '{"jsonrpc":"2.0","id":1,"result":{}}'

describe('SseFramer', () => {
  it.each<[string, Array<string | Uint8Array>, SseItem[]]>([
    ['an SDK event', [`event: message\nid: a1\ndata: ${message}\n\n`], [{ type: 'event', event: 'message', id: 'a1', data: message, hasData: true }]],
    ['CRLF line endings', ['data: a\r\ndata: b\r\n\r\n'], [{ type: 'event', data: 'a\nb', hasData: true }]],
    ['CR-only line endings', ['data: a\rid: 9\r\r'], [{ type: 'event', id: '9', data: 'a', hasData: true }]],
    ['a split CRLF inside an event', ['data: a\r', '\ndata: b\r\n\r\n'], [{ type: 'event', data: 'a\nb', hasData: true }]],
    ['a split CRLF after the blank line', ['data: a\r\n\r', '\ndata: b\r\n\r\n'], [
      { type: 'event', data: 'a', hasData: true },
      { type: 'event', data: 'b', hasData: true },
    ]],
    ['a leading BOM', ['\uFEFFdata: x\n\n'], [{ type: 'event', data: 'x', hasData: true }]],
    ['a BOM split across chunks', [new Uint8Array([0xef]), new Uint8Array([0xbb, 0xbf]), 'data: x\n\n'], [{ type: 'event', data: 'x', hasData: true }]],
    ['a BOM later in the stream (kept as data)', ['data: x\n\ndata: \uFEFFy\n\n'], [
      { type: 'event', data: 'x', hasData: true },
      { type: 'event', data: '\uFEFFy', hasData: true },
    ]],
    ['multi-line pretty-printed data', ['data: {\ndata:   "a": 1\ndata: }\n\n'], [{ type: 'event', data: '{\n  "a": 1\n}', hasData: true }]],
    ['a field without a colon and data without a space', ['data\ndata:x\n\n'], [{ type: 'event', data: '\nx', hasData: true }]],
    ['a priming event', ['id: p1\ndata: \n\n'], [{ type: 'event', id: 'p1', data: '', hasData: false }]],
    ['an id-only block', ['id: 5\n\n'], [{ type: 'event', id: '5', data: '', hasData: false }]],
    ['an id containing NUL (ignored)', ['id: a\0b\ndata: x\n\n'], [{ type: 'event', data: 'x', hasData: true }]],
    ['an unknown field (ignored)', ['foo: bar\ndata: x\n\n'], [{ type: 'event', data: 'x', hasData: true }]],
    ['a lone CR ends the data line: what follows is a field of its own', ['data: \r{"a":1}\n\n'], [{ type: 'event', data: '', hasData: false }]],
    ['field names are case-sensitive', ['Data: x\n\n'], [{ type: 'event', data: '', hasData: false }]],
    ['comments and retry in order', [': keepalive\n\nretry: 3000\nid: p\ndata: \n\n: bye\n'], [
      { type: 'comment' },
      { type: 'event', data: '', hasData: false },
      { type: 'retry', ms: 3000 },
      { type: 'event', id: 'p', data: '', hasData: false },
      { type: 'comment' },
    ]],
    ['an invalid retry value (no ms)', ['retry: 10s\n'], [{ type: 'retry' }]],
    ['an unterminated trailing event (discarded)', ['data: a\n\ndata: partial\n'], [{ type: 'event', data: 'a', hasData: true }]],
    ['an unterminated trailing line (discarded)', ['data: a\n\n: keep'], [{ type: 'event', data: 'a', hasData: true }]],
  ])('%s', (_name, chunks, expected) => {
    expect(frame(chunks)).toEqual(expected)
  })

  it('gives the same items however a stream is cut in two', () => {
    const text = `: hi\r\nevent: message\r\nid: é1\r\ndata: {"t":"日本語 🎉"}\r\n\r\nretry: 5\rdata: x\r\r`
    const whole = frame([text])
    expect(whole).toEqual([
      { type: 'comment' },
      { type: 'event', event: 'message', id: 'é1', data: '{"t":"日本語 🎉"}', hasData: true },
      { type: 'retry', ms: 5 },
      { type: 'event', data: 'x', hasData: true },
    ])
    for (const [a, b] of allSplits(text)) expect(frame([a, b])).toEqual(whole)
  })

  it('decodes multi-byte characters split byte by byte', () => {
    const text = 'data: 日本語 🎉 ü\n\n'
    const oneByteChunks = Array.from(bytes(text), (b) => new Uint8Array([b]))
    expect(frame(oneByteChunks)).toEqual([{ type: 'event', data: '日本語 🎉 ü', hasData: true }])
  })

  it('replaces invalid UTF-8 within its own line only', () => {
    const chunk = new Uint8Array([...bytes('data: a'), 0xe6, 0x97, ...bytes('\ndata: b\n\n')])
    expect(frame([chunk])).toEqual([{ type: 'event', data: 'a\uFFFD\nb', hasData: true }])
  })

  describe('caps', () => {
    const small = { maxLineBytes: 16, maxEventBytes: 40 }
    const failure = (chunks: Array<string | Uint8Array>) => {
      try {
        frame(chunks, small)
      } catch (e) {
        return e instanceof SseFramingError ? { kind: e.kind, limit: e.limit } : e
      }
      return 'no error'
    }

    it.each<[string, Array<string | Uint8Array>, { kind: string; limit: number } | 'no error']>([
      ['a line at the cap', ['data: 0123456789\n\n'], 'no error'],
      ['a line one byte over the cap', ['data: 0123456789a\n\n'], { kind: 'sse_line_too_long', limit: 16 }],
      ['a line over the cap before any newline arrives', ['data: 0123456789abcdef'], { kind: 'sse_line_too_long', limit: 16 }],
      ['a line growing over the cap across chunks', ['data: 01234', '56789', 'ab'], { kind: 'sse_line_too_long', limit: 16 }],
      ['a long comment line', [': 0123456789abcdefgh\n'], { kind: 'sse_line_too_long', limit: 16 }],
      ['multi-byte characters counted as bytes', ['data: 日本語日\n'], { kind: 'sse_line_too_long', limit: 16 }],
      ['an event at the cap (5 lines of 8 bytes)', ['data: a\n'.repeat(5) + '\n'], 'no error'],
      ['an event over the cap across many data lines', ['data: a\n'.repeat(6) + '\n'], { kind: 'sse_event_too_large', limit: 40 }],
      ['endless event lines without data', ['event: x\n'.repeat(10)], { kind: 'sse_event_too_large', limit: 40 }],
      ['many small events (each under the cap)', ['data: a\n\n'.repeat(100)], 'no error'],
    ])('%s', (_name, chunks, expected) => {
      expect(failure(chunks)).toEqual(expected)
    })

    it('keeps failing after a cap is hit', () => {
      const framer = new SseFramer(small)
      expect(() => framer.push(bytes('x'.repeat(17)))).toThrow(SseFramingError)
      expect(() => framer.push(bytes('data: ok\n\n'))).toThrow(SseFramingError)
    })

    it('refuses invalid options when built', () => {
      expect(() => new SseFramer({ maxLineBytes: 0, maxEventBytes: 10 })).toThrow('maxLineBytes must be a positive integer')
      expect(() => new SseFramer({ maxLineBytes: 10, maxEventBytes: 1.5 })).toThrow('maxEventBytes must be a positive integer')
    })
  })

  it('flush reports a discarded partial event', () => {
    const framer = new SseFramer(caps)
    framer.push(bytes('data: a\n'))
    expect(framer.flush()).toBe(true)
    expect(framer.flush()).toBe(false)
  })
})

describe('sseFramer stream', () => {
  async function collect(stream: ReadableStream<SseItem>): Promise<SseItem[]> {
    const items: SseItem[] = []
    for await (const item of stream) items.push(item)
    return items
  }

  function source(chunks: string[]): ReadableStream<Uint8Array> {
    return new ReadableStream({
      start(controller) {
        for (const c of chunks) controller.enqueue(bytes(c))
        controller.close()
      },
    })
  }

  it('frames a stream piped through it', async () => {
    const items = await collect(source([': ka\n\nid: 1\nda', 'ta: {}\n\n']).pipeThrough(sseFramer(caps)))
    expect(items).toEqual([
      { type: 'comment' },
      { type: 'event', data: '', hasData: false },
      { type: 'event', id: '1', data: '{}', hasData: true },
    ])
  })

  it('errors the stream and cancels the source on a cap', async () => {
    let cancelled: unknown
    const upstream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(bytes('x'.repeat(64)))
      },
      cancel(reason) {
        cancelled = reason
      },
    })
    const error = await collect(upstream.pipeThrough(sseFramer({ maxLineBytes: 100, maxEventBytes: 100 }))).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SseFramingError)
    expect((error as SseFramingError).kind).toBe('sse_line_too_long')
    expect(cancelled).toBe(error)
  })
})

describe('encodeEvent', () => {
  it.each([
    [{ event: 'message', id: '7', data: message }, `event: message\nid: 7\ndata: ${message}\n\n`],
    [{ data: '' }, 'data: \n\n'],
    [{ data: 'a\nb\r\nc\rd' }, 'data: a\ndata: b\ndata: c\ndata: d\n\n'],
    [{ event: 'message', id: '3', data: 'a\rb' }, 'event: message\nid: 3\ndata: a\ndata: b\n\n'],
    [{ id: 'p', data: ' leading space' }, 'id: p\ndata:  leading space\n\n'],
  ])('%j', (event, expected) => {
    expect(encodeEvent(event)).toBe(expected)
  })

  it('round-trips through the framer', () => {
    const event = { event: 'message', id: 'x', data: '{\n "a": " b"\n}' }
    expect(frame([encodeEvent(event)])).toEqual([{ type: 'event', ...event, hasData: true }])
  })

  it.each([
    [{ event: 'a\nb', data: '' }, 'SSE event name contains a line break'],
    [{ id: 'a\rdata: x', data: '' }, 'SSE id contains a line break or NUL'],
    [{ id: 'a\0', data: '' }, 'SSE id contains a line break or NUL'],
  ])('refuses field injection %j', (event, message) => {
    expect(() => encodeEvent(event)).toThrow(message)
  })
})
