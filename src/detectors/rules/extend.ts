/**
 * Reading a secret past the end of its match: a token or key block longer than its pattern's length cap
 * (or than the window it was found in) is followed to its real end in the whole field.
 */
import { isAsciiAlnum } from '../../inspect/char-classes'

/** How far past a match `extend` may reach (a key block or token longer than this is cut here too). */
const MAX_EXTEND = 1 << 20
/** The rest of a key block's body (base64, white space, escaped line breaks) and its END line. */
const PEM_REST = new RegExp(`[A-Za-z0-9+/=\\s\\\\]{0,${MAX_EXTEND}}-----END[A-Z0-9 ]{0,40}-----`, 'y')

/**
 * Where a secret really ends when its pattern's length cap stopped the match inside it: over the token
 * characters that follow (`token`), or over the key block's body to its `-----END …-----` line (`pem`).
 */
export function extendedEnd(text: string, end: number, how: 'token' | 'pem'): number {
  if (how === 'token') {
    const limit = Math.min(text.length, end + MAX_EXTEND)
    let e = end
    while (e < limit && isTokenUnit(text.charCodeAt(e))) e++
    return e
  }
  // Only a block cut short: one whose match already holds its END line ends there, and without an END
  // line ahead there is no telling the rest of the body from the prose after it.
  if (text.charCodeAt(end - 1) === 0x2d) return end
  PEM_REST.lastIndex = end
  return PEM_REST.test(text) ? PEM_REST.lastIndex : end
}

/** Characters of base64, base64url, JWT and header-token values. */
function isTokenUnit(u: number): boolean {
  return isAsciiAlnum(u) || u === 0x2b || u === 0x2f || u === 0x3d || u === 0x5f || u === 0x2d || u === 0x2e || u === 0x7e
}
