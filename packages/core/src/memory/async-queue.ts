/** A push-based async iterable: producers `push`, one consumer iterates; `end()` finishes it. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiters: ((r: IteratorResult<T>) => void)[] = [];
  private ended = false;

  push(item: T): void {
    if (this.ended) return;
    const w = this.waiters.shift();
    if (w) w({ value: item, done: false });
    else this.items.push(item);
  }

  end(): void {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined as never, done: true });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.ended) return Promise.resolve({ value: undefined as never, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined as never, done: true });
      },
    };
  }
}

/** An async iterable whose first `next()` rejects with `err` (lazy failure for `logs()` and the like). */
export function rejectingIterable<T>(err: unknown): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }),
  };
}

/**
 * A runtime's `watch()`: a new queue in `watchers` that ends (and leaves the set) when `signal`
 * aborts; already ended when the signal is aborted or the runtime `closed`.
 */
export function watchQueue<T>(watchers: Set<AsyncQueue<T>>, signal?: AbortSignal, closed = false): AsyncQueue<T> {
  const queue = new AsyncQueue<T>();
  watchers.add(queue);
  const stop = () => {
    watchers.delete(queue);
    queue.end();
  };
  if (signal?.aborted || closed) stop();
  else signal?.addEventListener("abort", stop, { once: true });
  return queue;
}
