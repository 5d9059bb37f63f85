/**
 * Mulberry32, a tiny seeded generator: tests and benchmarks that need varied input get the same input on
 * every run, so a failure names a reproducible case and two runs measure the same bytes.
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
