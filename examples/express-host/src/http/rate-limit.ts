export type Take = { ok: true; remaining: number } | { ok: false; retryAfterS: number };

/** What the guard asks before letting a request through (in memory, or shared through Redis). */
export interface Limiter {
  take(key: string): Take | Promise<Take>;
  close?(): Promise<void>;
}

/**
 * Per-key token buckets: `burst` tokens, refilled at `rps` per second. `take` answers whether the
 * request may pass and, if not, how many seconds until a token is back (for `Retry-After`).
 */
export class RateLimiter implements Limiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly rps: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxKeys = 100_000,
  ) {}

  take(key: string): Take {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.evict(t);
      b = { tokens: this.burst, at: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rps);
      b.at = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, remaining: Math.floor(b.tokens) };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / this.rps)) };
  }

  /** Drops buckets that are full again (they carry no state). */
  private evict(t: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.rps >= this.burst) this.buckets.delete(k);
    }
  }
}
