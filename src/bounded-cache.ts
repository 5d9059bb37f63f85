/**
 * An isolate-level cache bounded twice: in entries and in the characters its entries hold. An isolate has
 * 128 MB for every tenant and request it serves, and a count alone lets a few large entries (a schema,
 * a definition, a pin set an origin chose) take all of it. Past either bound the cache is emptied whole,
 * as the isolate's other caches are: what was dropped is read or built again, never served stale.
 */
export class BoundedCache<V> {
  readonly #entries = new Map<string, { value: V; chars: number }>()
  #chars = 0

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  get(key: string): V | undefined {
    return this.#entries.get(key)?.value
  }

  /** Keeps `value`, which holds `chars` characters; one larger than the whole bound replaces `key`'s entry and is not kept. */
  set(key: string, value: V, chars: number): void {
    this.delete(key)
    if (chars > this.maxChars) return
    if (this.#entries.size >= this.maxEntries || this.#chars + chars > this.maxChars) this.clear()
    this.#entries.set(key, { value, chars })
    this.#chars += chars
  }

  delete(key: string): void {
    const held = this.#entries.get(key)
    if (!held) return
    this.#entries.delete(key)
    this.#chars -= held.chars
  }

  clear(): void {
    this.#entries.clear()
    this.#chars = 0
  }

  keys(): string[] {
    return [...this.#entries.keys()]
  }

  /** Characters held, all entries together. */
  get chars(): number {
    return this.#chars
  }
}
