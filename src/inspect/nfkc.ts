/**
 * NFKC for the detection text, one character or one mark segment at a time: a bitmap of the BMP
 * characters that are their own NFKC form (copied without asking), and bounded caches of the rest.
 */
import { isControl, isIgnorable, isSpace } from './char-classes'

// One bit per BMP unit: emitted as is (its own NFKC form, not ignorable, space or control). Blocks of
// 256 are filled on first use; the big CJK and Hangul ranges are known stable and never filled.
const STABLE_BITS = new Uint8Array(8192)
const STABLE_DONE = new Uint8Array(256)

/** Whether BMP unit `u` is emitted as it is (filling its block of the bitmap on first use). */
export function isStableBmp(u: number): boolean {
  if ((u >= 0x4e00 && u <= 0x9fff) || (u >= 0xac00 && u <= 0xd7a3) || (u >= 0x3400 && u <= 0x4dbf)) return true
  const block = u >> 8
  if (STABLE_DONE[block] === 0) fillStableBlock(block)
  return ((STABLE_BITS[u >> 3] as number) & (1 << (u & 7))) !== 0
}

function fillStableBlock(block: number): void {
  STABLE_DONE[block] = 1
  for (let u = block << 8; u < (block + 1) << 8; u++) {
    if ((u >= 0xd800 && u < 0xe000) || isIgnorable(u) || isSpace(u) || isControl(u)) continue
    const ch = String.fromCharCode(u)
    if (ch.normalize('NFKC') === ch) STABLE_BITS[u >> 3] = (STABLE_BITS[u >> 3] as number) | (1 << (u & 7))
  }
}

const NFKC_CACHE = new Map<number, string>()

/** NFKC of one code point, cached. */
export function nfkc(cp: number): string {
  let hit = NFKC_CACHE.get(cp)
  if (hit === undefined) {
    hit = String.fromCodePoint(cp).normalize('NFKC')
    if (NFKC_CACHE.size >= 8192) NFKC_CACHE.clear()
    NFKC_CACHE.set(cp, hit)
  }
  return hit
}

const SEGMENT_CACHE = new Map<string, string>()

/** NFKC of a character with the combining marks after it; only short segments are cached. */
export function nfkcSegment(segment: string): string {
  let hit = SEGMENT_CACHE.get(segment)
  if (hit === undefined) {
    hit = segment.normalize('NFKC')
    if (SEGMENT_CACHE.size >= 4096) SEGMENT_CACHE.clear()
    if (segment.length <= 32) SEGMENT_CACHE.set(segment, hit)
  }
  return hit
}
