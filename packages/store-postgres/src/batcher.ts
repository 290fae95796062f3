/** One call waiting in a batch: its input and how to settle it. */
export interface Entry<I, O> {
  readonly item: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

export interface BatcherOptions<I> {
  /** Most items one statement carries. */
  maxBatch: number;
  /** Most statements of this kind running at once; calls arriving meanwhile wait for the next batch. */
  maxInFlight: number;
  /**
   * Keys an item touches: two items sharing a key never go out in one batch, nor in two batches
   * running at once (the later waits), so one statement never touches a row twice and calls on one
   * key stay in call order.
   */
  keysOf?: (item: I) => readonly string[];
}

/**
 * Group commit for store calls: calls made while `maxInFlight` statements of their kind are running
 * (or in the same tick) go out together as one statement, so N concurrent calls cost one round trip
 * and one commit instead of N. An idle store adds no delay beyond a microtask. `exec` must settle
 * every entry of its batch; when it throws, the entries it left unsettled get its error.
 */
export class Batcher<I, O> {
  private queue: Entry<I, O>[] = [];
  private inFlight = 0;
  private busy = new Map<string, number>();
  private scheduled = false;

  constructor(
    private readonly exec: (batch: Entry<I, O>[]) => Promise<void>,
    private readonly o: BatcherOptions<I>,
  ) {}

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.o.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.o.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      if (batch.length === 0) return; // everything queued waits for a key in flight
      this.inFlight++;
      const keys = batch.flatMap((e) => this.o.keysOf?.(e.item) ?? []);
      for (const k of keys) this.busy.set(k, (this.busy.get(k) ?? 0) + 1);
      const settled = batch.map((e) => {
        let done = false;
        return {
          item: e.item,
          resolve: (v: O) => {
            if (!done) e.resolve(v);
            done = true;
          },
          reject: (err: unknown) => {
            if (!done) e.reject(err);
            done = true;
          },
        };
      });
      void this.exec(settled)
        .catch((err) => {
          for (const e of settled) e.reject(err);
        })
        .finally(() => {
          for (const e of settled) e.reject(new Error("batch left an entry unsettled"));
          for (const k of keys) {
            const n = (this.busy.get(k) ?? 1) - 1;
            if (n === 0) this.busy.delete(k);
            else this.busy.set(k, n);
          }
          this.inFlight--;
          this.schedule();
        });
    }
  }

  /** The next batch: queued entries in call order whose keys are free, at most `maxBatch`. */
  private take(): Entry<I, O>[] {
    const keysOf = this.o.keysOf;
    if (!keysOf) return this.queue.splice(0, this.o.maxBatch);
    const batch: Entry<I, O>[] = [];
    const rest: Entry<I, O>[] = [];
    const taken = new Set<string>();
    for (const e of this.queue) {
      const keys = keysOf(e.item);
      // an entry blocked by a key also blocks the later entries on its keys (they stay in call order)
      if (batch.length >= this.o.maxBatch || keys.some((k) => this.busy.has(k) || taken.has(k))) {
        rest.push(e);
        for (const k of keys) taken.add(k);
        continue;
      }
      batch.push(e);
      for (const k of keys) taken.add(k);
    }
    this.queue = rest;
    return batch;
  }
}
