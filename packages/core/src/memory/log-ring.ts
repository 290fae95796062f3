import type { LogLine, LogOptions } from "../plugins/runtime.js";
import { AsyncQueue } from "./async-queue.js";

/** A bounded ring of log lines with followers. Runtimes share it for their `logs()`. */
export class LogRing {
  private lines: LogLine[] = [];
  /** Created on the first follower: most instances are never followed. */
  private followers: Set<AsyncQueue<LogLine>> | undefined;
  private ended = false;

  constructor(private readonly limit: number) {}

  push(line: LogLine): void {
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.splice(0, this.lines.length - this.limit);
    if (this.followers) for (const f of this.followers) f.push(line);
  }

  /** Ends every follower (the instance is gone). */
  end(): void {
    this.ended = true;
    if (this.followers) for (const f of this.followers) f.end();
    this.followers = undefined;
  }

  snapshot(tail?: number): LogLine[] {
    return tail === undefined ? [...this.lines] : tail <= 0 ? [] : this.lines.slice(-tail);
  }

  read(options: LogOptions = {}): AsyncIterable<LogLine> {
    const initial = this.snapshot(options.tail);
    if (!options.follow || this.ended) {
      return (async function* () {
        yield* initial;
      })();
    }
    const queue = new AsyncQueue<LogLine>();
    for (const l of initial) queue.push(l);
    this.followers ??= new Set();
    this.followers.add(queue);
    const stop = () => {
      this.followers?.delete(queue);
      queue.end();
    };
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener("abort", stop, { once: true });
    return queue;
  }
}
