/**
 * Checks that keep the comparison honest: both Workers run with the same compatibility settings, and
 * both return the origin's result untouched (a firewall that blocked or redacted the bench payload
 * would be measuring a different, cheaper path).
 */
import { readFile } from 'node:fs/promises'

/** `compatibility_date` and `compatibility_flags` lines of a wrangler.toml, as written. */
async function compatLines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8')
  return text.split('\n').filter((l) => /^\s*compatibility_(date|flags)\s*=/.test(l)).map((l) => l.replace(/\s+/g, ''))
}

/** Throws unless two wrangler configs declare the same compatibility date and flags. */
export async function assertSameCompat(a: string, b: string): Promise<void> {
  const [la, lb] = await Promise.all([compatLines(a), compatLines(b)])
  if (la.length === 0 || la.join('\n') !== lb.join('\n')) {
    throw new Error(`compatibility settings differ:\n  ${a}: ${la.join(' ')}\n  ${b}: ${lb.join(' ')}`)
  }
}

/** The JSON-RPC message in a JSON or single-event SSE body. */
function messageOf(body: string, contentType: string): unknown {
  if (!contentType.startsWith('text/event-stream')) return JSON.parse(body)
  const data = body
    .split(/\r?\n/)
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).replace(/^ /, ''))
  return JSON.parse(data.join('\n'))
}

/** The first text content block of a `tools/call` result message, if any. */
function firstText(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || !('result' in message)) return undefined
  const result = message.result
  if (typeof result !== 'object' || result === null || !('content' in result) || !Array.isArray(result.content)) return undefined
  const block: unknown = result.content[0]
  return typeof block === 'object' && block !== null && 'text' in block && typeof block.text === 'string' ? block.text : undefined
}

/** Sends one request and throws unless the answer has the wanted content type and exactly `text`. */
export async function assertAnswer(url: string, init: { headers: Record<string, string>; body: string }, want: { contentType: string; text: string }): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, signal: AbortSignal.timeout(10_000) })
  const body = await res.text()
  const type = res.headers.get('content-type') ?? ''
  if (res.status !== 200 || !type.startsWith(want.contentType)) {
    throw new Error(`${url}: HTTP ${res.status} ${type}: ${body.slice(0, 300)}`)
  }
  if (firstText(messageOf(body, type)) !== want.text) throw new Error(`${url}: the result text was changed in transit: ${body.slice(0, 300)}`)
}
