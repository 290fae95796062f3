import type { DeliveryContext, EventHandler, FleetEvent, Logger } from "@mcpfleet/core";
import { backoffDelay, errorMessage, pause, withTimeout } from "@mcpfleet/core/adapter";
import type { Redis } from "ioredis";
import { decodeEntry, EVENT_FIELD } from "./codec.js";
import type { BusContext } from "./context.js";

type Entry = [id: string, fields: string[]];

/**
 * One member of a consumer group: XREADGROUP BLOCK on its own connection, XACK after the handler
 * succeeds, local redelivery (XCLAIM to itself) with backoff when it throws, XAUTOCLAIM of entries
 * idle past the visibility timeout, dead-letter stream after `maxDeliveries`.
 */
export class GroupConsumer {
  private readonly conn: Redis;
  private readonly logger: Logger;
  private stopped = false;
  private loopDone: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly retryTimers = new Set<ReturnType<typeof setTimeout>>();
  private pendingAcks: string[] = [];
  private readonly ackWrites = new Set<Promise<unknown>>();
  private readonly stopSignal = new AbortController();
  /** Entries read by this member and not yet acked or dead-lettered: kept fresh so no live member's work is stolen. */
  private readonly owned = new Set<string>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly ctx: BusContext,
    readonly group: string,
    readonly consumer: string,
    private readonly handler: EventHandler,
  ) {
    this.conn = ctx.connect();
    this.logger = ctx.logger.child({ group, consumer });
  }

  /** Creates the group at `$` (events after its first subscription) if needed, then starts reading. */
  async start(): Promise<void> {
    await this.ensureGroup("$");
    this.heartbeat = setInterval(
      () => this.touchOwned(),
      Math.max(10, Math.floor(this.ctx.opts.visibilityTimeoutMs / 3)),
    );
    this.heartbeat.unref?.();
    this.loopDone = this.loop();
  }

  /** XCLAIM ... JUSTID of our own unacked entries resets their idle time (without counting a delivery). */
  private touchOwned(): void {
    if (this.owned.size === 0 || this.stopped) return;
    const ids = [...this.owned].slice(0, 1000);
    this.ctx.cmd.xclaim(this.ctx.stream, this.group, this.consumer, 0, ...ids, "JUSTID").catch((err: unknown) => {
      this.logger.debug({ err: errorMessage(err) }, "heartbeat XCLAIM failed");
    });
  }

  private async ensureGroup(from: "$" | "0"): Promise<void> {
    try {
      await this.ctx.cmd.xgroup("CREATE", this.ctx.stream, this.group, from, "MKSTREAM");
      this.logger.debug({ from }, "consumer group created");
    } catch (err) {
      if (!errorMessage(err).includes("BUSYGROUP")) throw err;
    }
  }

  private async loop(): Promise<void> {
    const { opts, stream } = this.ctx;
    const claimEvery = Math.max(20, Math.floor(opts.visibilityTimeoutMs / 2));
    const block = Math.max(1, Math.min(opts.blockMs, claimEvery));
    let lastClaim = 0;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (Date.now() - lastClaim >= claimEvery) {
          lastClaim = Date.now();
          await this.claimIdle();
        }
        const res = (await this.conn.xreadgroup(
          "GROUP",
          this.group,
          this.consumer,
          "COUNT",
          opts.batchSize,
          "BLOCK",
          block,
          "STREAMS",
          stream,
          ">",
        )) as [string, Entry[]][] | null;
        failures = 0;
        const entries = res?.[0]?.[1] ?? [];
        for (const [id] of entries) this.owned.add(id);
        for (const [id, fields] of entries) {
          if (this.stopped) break; // left pending: another member claims it after the visibility timeout
          await this.track(this.handle(id, fields, 1));
        }
        this.flushAcks();
      } catch (err) {
        if (this.stopped) break;
        const message = errorMessage(err);
        if (message.includes("NOGROUP")) {
          // stream or group lost (e.g. a broker without persistence restarted): everything now in the stream is new
          this.logger.warn({}, "consumer group missing, recreating");
          await this.ensureGroup("0").catch(() => {});
          continue;
        }
        failures++;
        this.logger.warn({ err: message, failures }, "stream read failed, retrying");
        await pause(backoffDelay(failures, { baseMs: 50, maxMs: 2000, jitter: "none" }), this.stopSignal.signal);
      }
    }
  }

  private track(p: Promise<void>): Promise<void> {
    this.inFlight.add(p);
    return p.finally(() => this.inFlight.delete(p));
  }

  /** XAUTOCLAIM entries idle past the visibility timeout (crashed or closed members) and handles them. */
  private async claimIdle(): Promise<void> {
    const { stream, opts } = this.ctx;
    let cursor = "0-0";
    for (let round = 0; round < 10 && !this.stopped; round++) {
      const res = (await this.conn.xautoclaim(
        stream,
        this.group,
        this.consumer,
        opts.visibilityTimeoutMs,
        cursor,
        "COUNT",
        opts.batchSize,
      )) as [string, (Entry | null)[], string[]?];
      const entries = (res[1] ?? []).filter((e): e is Entry => Array.isArray(e));
      if (entries.length > 0) {
        for (const [id] of entries) this.owned.add(id);
        const counts = await this.deliveryCounts(entries);
        this.logger.info({ count: entries.length }, "claimed idle entries");
        for (const [id, fields] of entries) {
          if (this.stopped) break;
          await this.track(this.handle(id, fields, counts.get(id) ?? 2));
        }
        this.flushAcks();
      }
      cursor = res[0];
      if (cursor === "0-0") break;
    }
  }

  private async deliveryCounts(entries: Entry[]): Promise<Map<string, number>> {
    const first = entries[0]?.[0] as string;
    const last = entries[entries.length - 1]?.[0] as string;
    const rows = (await this.ctx.cmd.xpending(
      this.ctx.stream,
      this.group,
      first,
      last,
      entries.length,
      this.consumer,
    )) as [string, string, number, number][];
    return new Map(rows.map((r) => [r[0], Number(r[3])]));
  }

  private async handle(id: string, fields: string[], attempt: number): Promise<void> {
    const { opts } = this.ctx;
    let event: FleetEvent;
    try {
      event = decodeEntry(fields);
    } catch (err) {
      await this.deadLetter(id, fields, attempt, errorMessage(err));
      return;
    }
    if (attempt > opts.maxDeliveries) {
      // delivered too often without an ack (e.g. it crashes its consumers): stop here
      await this.deadLetter(id, fields, attempt - 1, "delivery limit reached without acknowledgement", event);
      return;
    }
    const context: DeliveryContext = { attempt, messageId: id };
    try {
      await this.handler(event, context);
    } catch (err) {
      if (attempt >= opts.maxDeliveries) {
        await this.deadLetter(id, fields, attempt, errorMessage(err), event);
      } else {
        this.scheduleRetry(id, attempt + 1, event);
      }
      return;
    }
    this.ack(id);
  }

  private ack(id: string): void {
    this.owned.delete(id);
    this.pendingAcks.push(id);
  }

  private scheduleRetry(id: string, attempt: number, event: FleetEvent): void {
    const { opts } = this.ctx;
    const delay = backoffDelay(attempt - 2, {
      baseMs: opts.redeliveryDelayMs,
      maxMs: opts.maxRedeliveryDelayMs,
      jitter: "none",
    });
    this.logger.debug({ eventId: event.id, attempt, delay }, "handler failed, redelivering");
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.stopped) return; // stays pending: claimed by another member later
      this.owned.add(id);
      void this.track(this.retry(id, attempt));
    }, delay);
    this.retryTimers.add(timer);
  }

  private async retry(id: string, attempt: number): Promise<void> {
    try {
      // XCLAIM to ourselves: bumps the delivery count, resets idle time, returns the entry if still pending
      const res = (await this.ctx.cmd.xclaim(this.ctx.stream, this.group, this.consumer, 0, id)) as (Entry | null)[];
      const entry = res.find((e): e is Entry => Array.isArray(e));
      if (!entry) {
        this.owned.delete(id);
        return;
      }
      await this.handle(entry[0], entry[1], attempt);
      this.flushAcks();
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, "redelivery failed; the entry stays pending for XAUTOCLAIM");
    }
  }

  private async deadLetter(id: string, fields: string[], attempts: number, error: string, event?: FleetEvent) {
    const { cmd, deadStream, opts } = this.ctx;
    let raw = "";
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === EVENT_FIELD) raw = fields[i + 1] as string;
    try {
      await cmd.xadd(
        deadStream,
        "MAXLEN",
        "~",
        opts.maxDeadLetters,
        "*",
        EVENT_FIELD,
        raw,
        "group",
        this.group,
        "attempts",
        String(attempts),
        "error",
        error.slice(0, 500),
        "source_id",
        id,
        "at",
        new Date().toISOString(),
      );
      this.logger.warn({ eventId: event?.id, messageId: id, attempts }, "event dead-lettered");
      this.ack(id);
    } catch (err) {
      this.logger.error({ err: errorMessage(err), messageId: id }, "dead-letter write failed; entry stays pending");
    }
  }

  private flushAcks(): void {
    if (this.pendingAcks.length === 0) return;
    const ids = this.pendingAcks;
    this.pendingAcks = [];
    const p = this.ctx.cmd.xack(this.ctx.stream, this.group, ...ids).catch((err: unknown) => {
      this.logger.warn({ err: errorMessage(err), count: ids.length }, "XACK failed; entries will be redelivered");
    });
    this.ackWrites.add(p);
    void p.finally(() => this.ackWrites.delete(p));
  }

  /** Stops reading, lets in-flight handlers finish (bounded), writes their acks, closes the connection. */
  async stop(): Promise<void> {
    if (this.stopped) {
      await this.loopDone;
      return;
    }
    this.stopped = true;
    this.stopSignal.abort();
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    const drained = await withTimeout(
      Promise.all([...this.inFlight]).then(() => true),
      this.ctx.opts.closeTimeoutMs,
      false,
    );
    if (!drained) this.logger.warn({}, "handlers still running at close; their entries will be redelivered");
    this.flushAcks();
    await withTimeout(Promise.all([...this.ackWrites]), 2000, []);
    this.conn.disconnect();
    await withTimeout(this.loopDone ?? Promise.resolve(), 2000, undefined);
  }
}
