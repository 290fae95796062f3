/**
 * Work queue with per-key serialisation and bounded concurrency. Enqueuing a key that is already
 * waiting is a no-op; enqueuing a key that is running marks it to run once more afterwards
 * (level-triggered: the latest state is what counts, not every trigger).
 */
export class KeyedQueue {
  private waiting = new Set<string>();
  private order: string[] = [];
  private running = new Map<string, Promise<void>>();
  private again = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  /** Callers waiting for the next completed run of a key. */
  private doneWaiters = new Map<string, (() => void)[]>();
  /** Waiters that must wait for the run after the current one (they enqueued while it ran). */
  private nextWaiters = new Map<string, (() => void)[]>();
  private stopped = false;

  constructor(
    private readonly concurrency: number,
    private readonly work: (key: string) => Promise<void>,
    private readonly onError: (key: string, err: unknown) => void,
  ) {}

  enqueue(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    this.waiting.add(key);
    this.order.push(key);
    this.pump();
  }

  /** Enqueues and resolves once a run of the key that started after this call has finished. */
  enqueueAndWait(key: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const map = this.running.has(key) ? this.nextWaiters : this.doneWaiters;
      const list = map.get(key) ?? [];
      list.push(resolve);
      map.set(key, list);
      this.enqueue(key);
    });
  }

  get size(): number {
    return this.waiting.size + this.running.size;
  }

  /** Resolves when nothing is waiting or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work; resolves when in-flight work is done (callers bound the wait). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting.clear();
    this.order = [];
    this.again.clear();
    await Promise.allSettled([...this.running.values()]);
    for (const map of [this.doneWaiters, this.nextWaiters]) {
      for (const list of map.values()) for (const w of list) w();
      map.clear();
    }
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.order.length > 0) {
      const key = this.order.shift()!;
      if (!this.waiting.delete(key)) continue;
      const p = this.work(key)
        .catch((err) => this.onError(key, err))
        .finally(() => {
          this.running.delete(key);
          const done = this.doneWaiters.get(key);
          this.doneWaiters.delete(key);
          const next = this.nextWaiters.get(key);
          this.nextWaiters.delete(key);
          if (next) this.doneWaiters.set(key, next);
          if (done) for (const w of done) w();
          if (this.again.delete(key)) this.enqueue(key);
          this.pump();
          if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
      this.running.set(key, p);
    }
  }
}
