/**
 * The indexed min-heap that orders a long piece's merge candidates for ./o200k-merge: the library's
 * "lowest rank, then leftmost" in O(log n) per merge instead of a scan of every pair.
 */
import { NONE } from './o200k-ranks'

/**
 * Min-heap of parts (by first byte) keyed by (rank of merging with the next part, first byte): ties on
 * rank go to the leftmost, as in the library. Each part is in it at most once; `set` moves it.
 */
export class CandidateHeap {
  private readonly heap: Int32Array
  /** Index of each part in {@link heap}, -1 when absent. */
  private readonly at: Int32Array
  private readonly rank: Int32Array
  private size = 0

  constructor(n: number) {
    this.heap = new Int32Array(n)
    this.at = new Int32Array(n).fill(-1)
    this.rank = new Int32Array(n)
  }

  rankOf(part: number): number {
    return this.rank[part] as number
  }

  /** Gives `part` candidate rank `rank`, or takes it out with NONE. */
  set(part: number, rank: number): void {
    const i = this.at[part] as number
    this.rank[part] = rank
    if (rank === NONE) {
      if (i >= 0) this.removeAt(i)
    } else if (i < 0) {
      this.heap[this.size] = part
      this.at[part] = this.size
      this.up(this.size++)
    } else {
      this.up(i)
      this.down(this.at[part] as number)
    }
  }

  /** Takes out and returns the part with the lowest candidate, or -1 when none is left. */
  popMin(): number {
    if (this.size === 0) return -1
    const top = this.heap[0] as number
    this.removeAt(0)
    return top
  }

  private removeAt(i: number): void {
    const part = this.heap[i] as number
    this.at[part] = -1
    const last = this.heap[--this.size] as number
    if (i === this.size) return
    this.heap[i] = last
    this.at[last] = i
    this.up(i)
    this.down(this.at[last] as number)
  }

  private before(a: number, b: number): boolean {
    const ra = this.rank[a] as number
    const rb = this.rank[b] as number
    return ra < rb || (ra === rb && a < b)
  }

  private up(i: number): void {
    const part = this.heap[i] as number
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = this.heap[parent] as number
      if (!this.before(part, p)) break
      this.heap[i] = p
      this.at[p] = i
      i = parent
    }
    this.heap[i] = part
    this.at[part] = i
  }

  private down(i: number): void {
    const part = this.heap[i] as number
    for (;;) {
      let child = 2 * i + 1
      if (child >= this.size) break
      const right = child + 1
      if (right < this.size && this.before(this.heap[right] as number, this.heap[child] as number)) child = right
      const c = this.heap[child] as number
      if (!this.before(c, part)) break
      this.heap[i] = c
      this.at[c] = i
      i = child
    }
    this.heap[i] = part
    this.at[part] = i
  }
}
