import type { LogLine, LogOptions } from "@mcpfleet/core";

/** A push-based async iterable with one consumer. */
export class Feed<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiters: ((r: IteratorResult<T>) => void)[] = [];
  private done = false;

  push(item: T): void {
    if (this.done) return;
    const w = this.waiters.shift();
    if (w) w({ value: item, done: false });
    else this.items.push(item);
  }

  end(): void {
    this.done = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined as never, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
        if (this.done) return Promise.resolve({ value: undefined as never, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined as never, done: true });
      },
    };
  }
}

/** Bounded log lines of one instance, with followers (`logs({ follow: true })`). */
export class LogRing {
  private lines: LogLine[] = [];
  private followers = new Set<Feed<LogLine>>();
  private ended = false;

  constructor(private readonly limit: number) {}

  push(line: LogLine): void {
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.splice(0, this.lines.length - this.limit);
    for (const f of this.followers) f.push(line);
  }

  end(): void {
    this.ended = true;
    for (const f of this.followers) f.end();
    this.followers.clear();
  }

  get size(): number {
    return this.lines.length;
  }

  read(options: LogOptions = {}): AsyncIterable<LogLine> {
    const tail = options.tail;
    const initial = tail === undefined ? [...this.lines] : tail <= 0 ? [] : this.lines.slice(-tail);
    if (!options.follow || this.ended) {
      return (async function* () {
        yield* initial;
      })();
    }
    const feed = new Feed<LogLine>();
    for (const l of initial) feed.push(l);
    this.followers.add(feed);
    const stop = () => {
      this.followers.delete(feed);
      feed.end();
    };
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener("abort", stop, { once: true });
    return feed;
  }
}

/** Splits a byte stream into lines and hands each (without its newline) to `onLine`. */
export function lineSplitter(onLine: (line: string) => void, maxLine = 16 * 1024): (chunk: string) => void {
  let buffer = "";
  return (chunk) => {
    buffer += chunk;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      onLine(buffer.slice(0, nl).replace(/\r$/, "").slice(0, maxLine));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
    }
    if (buffer.length > maxLine) {
      onLine(buffer.slice(0, maxLine));
      buffer = "";
    }
  };
}
