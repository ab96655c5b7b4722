/**
 * A Map that contains at most `maxEntries` entries and evicts the least recently used one beyond that, so
 * that state kept per client cannot grow without bound. A Map iterates in insertion order, so moving an
 * entry to the end on each use keeps the least recently used entry first.
 */
export class BoundedLruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a whole number of at least 1, got ${maxEntries}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Returns the value of `key` and marks it as the most recently used. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  /** Stores `value` as the most recently used entry and evicts the least recently used ones beyond the maximum. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as K;
      this.entries.delete(oldest);
    }
  }

  /** Deletes the entries for which `predicate` returns true. */
  deleteWhere(predicate: (value: V, key: K) => boolean): void {
    for (const [key, value] of this.entries) if (predicate(value, key)) this.entries.delete(key);
  }
}
