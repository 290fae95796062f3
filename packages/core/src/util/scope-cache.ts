import { abortable } from "./async.js";

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/**
 * Per-scope read cache with a TTL and in-flight de-duplication: concurrent reads of one scope share
 * one request. `invalidate` bumps a generation so a read that started before a write can never
 * repopulate the cache with the older value. With `ttlMs` 0 nothing is kept, but in-flight reads
 * are still shared.
 */
export class ScopeCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly inflight = new Map<string, Promise<T>>();
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get(scope: string, load: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return abortable(Promise.reject(signal.reason), signal);
    const entry = this.entries.get(scope);
    if (entry && this.now() < entry.expiresAt) return Promise.resolve(entry.value);
    if (entry) this.entries.delete(scope);
    let pending = this.inflight.get(scope);
    if (!pending) {
      const generation = this.generations.get(scope) ?? 0;
      pending = load().then(
        (value) => {
          if (this.inflight.get(scope) === pending) this.inflight.delete(scope);
          if (this.ttlMs > 0 && (this.generations.get(scope) ?? 0) === generation) {
            this.entries.set(scope, { value, expiresAt: this.now() + this.ttlMs });
          }
          return value;
        },
        (err: unknown) => {
          if (this.inflight.get(scope) === pending) this.inflight.delete(scope);
          throw err;
        },
      );
      this.inflight.set(scope, pending);
    }
    return abortable(pending, signal);
  }

  invalidate(scope: string): void {
    this.generations.set(scope, (this.generations.get(scope) ?? 0) + 1);
    this.entries.delete(scope);
    this.inflight.delete(scope);
  }

  clear(): void {
    this.entries.clear();
    this.inflight.clear();
  }
}
