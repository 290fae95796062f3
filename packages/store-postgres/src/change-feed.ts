import type { Logger, StoreChange } from "@mcpfleet/core";
import pg from "pg";
import { channelOf } from "./migrations.js";

type Listener = (change: StoreChange<unknown>) => void;

export interface ChangeFeedOptions {
  pool: pg.Pool;
  schema: string;
  logger: Logger;
  reconnectDelayMs: number;
  /** Resolves once the tables exist. */
  ready(): Promise<void>;
}

const MAX_REMEMBERED = 10_000;

/**
 * `watch` for every table of a schema: changes made through this store are reported at once (with
 * the document); changes by other processes arrive by LISTEN/NOTIFY on one dedicated connection
 * (application_name `mcpfleet-listen:<schema>`, id and type only: read the document with `get`).
 * When that connection drops it reconnects with backoff and reports `{ type: "reset", id: "*" }`
 * to every watcher, because notifications sent while it was away are lost: re-read what you cache.
 */
export class ChangeFeed {
  private listeners = new Map<string, Set<Listener>>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  /** Notifications may have been lost (a failed connect or a dropped connection). */
  private missed = false;
  /** Keys of this store's writes in flight -> resolves true when it committed. */
  private inflight = new Map<string, Promise<boolean>>();
  /** Keys of this store's committed writes whose notification has not come back yet. */
  private done = new Set<string>();

  constructor(private readonly o: ChangeFeedOptions) {
    this.delay = o.reconnectDelayMs;
  }

  get applicationName(): string {
    return `mcpfleet-listen:${this.o.schema}`;
  }

  subscribe(table: string, listener: Listener): () => void {
    let set = this.listeners.get(table);
    if (!set) {
      set = new Set();
      this.listeners.set(table, set);
    }
    set.add(listener);
    this.ensureConnected();
    return () => {
      set.delete(listener);
      if (this.total() === 0) this.disconnect();
    };
  }

  /**
   * Runs a write of this store. When anyone watches, its own notification is matched to the write
   * (reported once, with the document, as soon as the write returns).
   */
  async write<R>(
    table: string,
    op: "p" | "d",
    id: string,
    revision: number | undefined,
    fn: () => Promise<{ result: R; change?: StoreChange<unknown> }>,
  ): Promise<R> {
    if (this.total() === 0 || this.closed) return (await fn()).result;
    const key = keyOf(table, op, id, op === "d" ? undefined : revision);
    let settle!: (ok: boolean) => void;
    this.inflight.set(
      key,
      new Promise<boolean>((r) => {
        settle = r;
      }),
    );
    try {
      const out = await fn();
      const committed = out.change !== undefined;
      if (committed) this.remember(key);
      settle(committed);
      if (out.change) this.emit(table, out.change);
      return out.result;
    } catch (err) {
      settle(false);
      throw err;
    } finally {
      this.inflight.delete(key);
    }
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.disconnect();
  }

  private total(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }

  private remember(key: string): void {
    this.done.add(key);
    if (this.done.size > MAX_REMEMBERED) this.done.delete(this.done.values().next().value as string);
  }

  private emit(table: string, change: StoreChange<unknown>): void {
    for (const l of this.listeners.get(table) ?? []) {
      try {
        l(change);
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, "watch listener threw");
      }
    }
  }

  private onNotification(payload: string | undefined): void {
    let n: { t?: unknown; op?: unknown; id?: unknown; r?: unknown };
    try {
      n = JSON.parse(payload ?? "");
    } catch {
      return;
    }
    if (typeof n.t !== "string" || typeof n.id !== "string" || (n.op !== "p" && n.op !== "d")) return;
    const table = n.t;
    const id = n.id;
    const key = keyOf(table, n.op, id, n.op === "d" ? undefined : Number(n.r));
    const change: StoreChange<unknown> = { type: n.op === "d" ? "delete" : "put", id };
    if (this.done.delete(key)) return; // our own write, already reported
    const pending = this.inflight.get(key);
    if (pending) {
      void pending.then((ok) => {
        if (ok) this.done.delete(key);
        else this.emit(table, change);
      });
      return;
    }
    this.emit(table, change);
  }

  private ensureConnected(): void {
    if (this.closed || this.client || this.connecting || this.timer) return;
    this.connecting = this.connect().finally(() => {
      this.connecting = undefined;
    });
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.o.pool.options, application_name: this.applicationName });
    const lost = (why: string) => {
      if (this.client !== client) return;
      this.client = undefined;
      client.removeAllListeners();
      client.on("error", () => {});
      void client.end().catch(() => {});
      this.missed = true;
      this.o.logger.warn({ schema: this.o.schema, reason: why }, "change feed connection lost; reconnecting");
      this.schedule();
    };
    try {
      await this.o.ready();
      client.on("error", (err) => lost(err.message));
      client.on("end", () => lost("connection ended"));
      client.on("notification", (m) => {
        if (m.channel === channelOf(this.o.schema)) this.onNotification(m.payload);
      });
      await client.connect();
      await client.query(`LISTEN "${channelOf(this.o.schema)}"`);
    } catch (err) {
      client.removeAllListeners();
      client.on("error", () => {});
      void client.end().catch(() => {});
      this.missed = true;
      this.o.logger.warn({ schema: this.o.schema, reason: (err as Error).message }, "change feed cannot connect");
      this.schedule();
      return;
    }
    if (this.closed || this.total() === 0) {
      client.removeAllListeners();
      client.on("error", () => {});
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.delay = this.o.reconnectDelayMs;
    if (this.missed) {
      this.missed = false;
      this.o.logger.info({ schema: this.o.schema }, "change feed reconnected; watchers resync");
      for (const table of this.listeners.keys()) this.emit(table, { type: "reset", id: "*" });
    }
  }

  private schedule(): void {
    if (this.closed || this.total() === 0 || this.timer) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, 5000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.ensureConnected();
    }, wait);
    this.timer.unref?.();
  }

  private disconnect(): void {
    this.missed = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.removeAllListeners();
      c.on("error", () => {});
      void c.end().catch(() => {});
    }
  }
}

function keyOf(table: string, op: "p" | "d", id: string, revision: number | undefined): string {
  return `${table}\u0000${op}\u0000${id}\u0000${revision ?? ""}`;
}
