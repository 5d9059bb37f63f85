/**
 * Writing text back into the base64 payload it was decoded from (`base64-payload.ts` decodes
 * `data`/`blob` payloads that hold text), so a redaction inside a text file sent as a blob can leave the
 * rest of the file, and the message, as they were.
 */
import { base64 } from '../base64'

/** How a payload writes base64: the standard (`+/`) or URL-safe (`-_`) alphabet, with `=` padding or without. */
export interface Base64Spelling {
  readonly urlSafe: boolean
  readonly padded: boolean
}

/**
 * The spelling in which `payload` is exactly the UTF-8 bytes of `text`, or null when there is none.
 * Decoding forgives what re-encoding cannot give back (line breaks and spaces, both alphabets in one
 * payload, a byte-order mark dropped, invalid UTF-8 read as U+FFFD, a payload decoded only in part),
 * so only a payload that round-trips character for character may be rewritten.
 * @example base64SpellingOf('aGk', 'hi') // { urlSafe: false, padded: false }
 */
export function base64SpellingOf(payload: string, text: string): Base64Spelling | null {
  const urlSafe = /[-_]/.test(payload)
  // A payload whose length is a multiple of 4 needs no `=` and so does not say whether it would pad: assume
  // each alphabet's custom, padded base64 (RFC 4648 §4) and unpadded base64url (RFC 7515 §2, JWTs).
  const padded = payload.endsWith('=') || (payload.length % 4 === 0 && !urlSafe)
  const spelling = { urlSafe, padded }
  return encodeBase64Text(text, spelling) === payload ? spelling : null
}

/**
 * `text` as UTF-8 bytes in base64 of the given spelling.
 * @example encodeBase64Text('??>', { urlSafe: true, padded: false }) // 'Pz8-'
 */
export function encodeBase64Text(text: string, spelling: Base64Spelling): string {
  let out = base64(new TextEncoder().encode(text))
  if (spelling.urlSafe) out = out.replace(/\+/g, '-').replace(/\//g, '_')
  return spelling.padded ? out : out.replace(/=+$/, '')
}
