import type { EventHandler, Logger } from "@mcpfleet/core";
import { backoffDelay, errorMessage, pause, withTimeout } from "@mcpfleet/core/adapter";
import type { Redis } from "ioredis";
import { decodeEntry } from "./codec.js";
import type { BusContext } from "./context.js";

type Entry = [id: string, fields: string[]];

/** A broadcast subscription: plain XREAD BLOCK from the stream's end, no group, no acks. */
export class BroadcastConsumer {
  private readonly conn: Redis;
  private readonly logger: Logger;
  private stopped = false;
  private lastId = "0-0";
  private loopDone: Promise<void> | undefined;
  private current: Promise<void> | undefined;
  private readonly stopSignal = new AbortController();

  constructor(
    private readonly ctx: BusContext,
    private readonly handler: EventHandler,
  ) {
    this.conn = ctx.connect();
    this.logger = ctx.logger.child({ broadcast: true });
  }

  /** Pins the start at the current last entry (what `$` means), so nothing published after start is missed. */
  async start(): Promise<void> {
    const last = (await this.ctx.cmd.xrevrange(this.ctx.stream, "+", "-", "COUNT", 1)) as Entry[];
    this.lastId = last[0]?.[0] ?? "0-0";
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    const { opts, stream } = this.ctx;
    let failures = 0;
    while (!this.stopped) {
      try {
        const res = (await this.conn.xread(
          "COUNT",
          opts.batchSize,
          "BLOCK",
          opts.blockMs,
          "STREAMS",
          stream,
          this.lastId,
        )) as [string, Entry[]][] | null;
        failures = 0;
        for (const [id, fields] of res?.[0]?.[1] ?? []) {
          if (this.stopped) break;
          this.lastId = id;
          this.current = this.deliver(id, fields);
          await this.current;
        }
      } catch (err) {
        if (this.stopped) break;
        failures++;
        this.logger.warn({ err: errorMessage(err), failures }, "broadcast read failed, retrying");
        await pause(backoffDelay(failures, { baseMs: 50, maxMs: 2000, jitter: "none" }), this.stopSignal.signal);
      }
    }
  }

  private async deliver(id: string, fields: string[]): Promise<void> {
    try {
      await this.handler(decodeEntry(fields), { attempt: 1, messageId: id });
    } catch (err) {
      this.logger.warn({ messageId: id, err: errorMessage(err) }, "broadcast handler threw");
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopSignal.abort();
    if (this.current) await withTimeout(this.current, this.ctx.opts.closeTimeoutMs, undefined);
    this.conn.disconnect();
    await withTimeout(this.loopDone ?? Promise.resolve(), 2000, undefined);
  }
}
