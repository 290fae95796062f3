/**
 * A map that keeps at most `max` entries, evicting the oldest insertion first: a cache of recent
 * results for pure functions (parsed specs, compiled schemas, image references).
 */
export class BoundedMemo<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError("BoundedMemo max must be a positive integer");
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    if (!this.entries.has(key) && this.entries.size >= this.max) {
      this.entries.delete(this.entries.keys().next().value as K);
    }
    this.entries.set(key, value);
  }

  /** The cached value, else `compute(key)` stored (when `keep` allows) and returned. */
  getOrSet(key: K, compute: (key: K) => V, keep: (value: V) => boolean = () => true): V {
    if (this.entries.has(key)) return this.entries.get(key) as V;
    const value = compute(key);
    if (keep(value)) this.set(key, value);
    return value;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
