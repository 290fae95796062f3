import { randomUUID } from "node:crypto";
import type {
  CallOptions,
  DurableEventBus,
  EventHandler,
  FleetEvent,
  StoredDeadLetter,
  SubscribeOptions,
  Subscription,
} from "@mcpfleet/core";
import { DurableBusKit, errorMessage, throwIfAborted, withTimeout } from "@mcpfleet/core/adapter";
import { Redis } from "ioredis";
import { BroadcastConsumer } from "./broadcast-consumer.js";
import { decodeEvent, EVENT_FIELD, encodeEvent } from "./codec.js";
import type { BusContext } from "./context.js";
import { GroupConsumer } from "./group-consumer.js";
import { type RedisBusOptions, resolveOptions } from "./options.js";
import { trimStream } from "./trim.js";

/** One entry of the dead-letter stream. */
export interface RedisDeadLetter extends StoredDeadLetter {
  /** Dead-letter stream entry id. */
  id: string;
  /** The entry as stored (`event` is undefined when it could not be decoded). */
  raw: string;
  /** Id of the original entry in the event stream. */
  sourceId: string;
}

/** `deadLetters()` reads the dead-letter stream; `bufferedPublishes` counts publishes waiting for Redis. */
export interface RedisBus extends DurableEventBus<RedisDeadLetter> {
  /** Keys: the event stream and the dead-letter stream. */
  readonly keys: { stream: string; deadLetter: string };
  /** Trims entries older than `retentionMs` that no group still needs; resolves with the number removed. */
  trim(options?: CallOptions): Promise<number>;
}

const ADAPTER = "bus-redis";

/** An EventBus on Redis Streams (ioredis): consumer groups, XACK, XAUTOCLAIM, dead-letter stream. */
export function redisBus(options: RedisBusOptions): RedisBus {
  const opts = resolveOptions(options);
  const kit = new DurableBusKit(ADAPTER, "Redis", opts);
  const { logger, publisher } = kit;
  const stream = `${opts.prefix}events`;
  const deadStream = `${opts.prefix}dead-letter`;
  const ownsClient = !opts.client;
  // maxRetriesPerRequest 1: commands fail fast while Redis is away; publish retries them itself (bounded)
  const attemptTimeoutMs = Math.min(opts.publishTimeoutMs, 5000);
  // maxRetriesPerRequest 1: commands fail fast while Redis is away; publish retries them itself (bounded).
  // commandTimeout bounds every non-blocking command of our own client (no per-publish timer needed).
  const cmd =
    opts.client ??
    new Redis(opts.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      enableAutoPipelining: true,
      commandTimeout: attemptTimeoutMs,
      connectionName: "mcpfleet-bus",
    });
  const connections = new Set<Redis>();
  const ctx: BusContext = {
    cmd,
    opts,
    stream,
    deadStream,
    logger,
    connect: () => {
      const c = cmd.duplicate({
        lazyConnect: false,
        enableAutoPipelining: false,
        maxRetriesPerRequest: null,
        commandTimeout: undefined, // blocking reads wait up to blockMs
      });
      c.on("error", (err: unknown) => logger.debug({ err: errorMessage(err) }, "reader connection error"));
      connections.add(c);
      c.once("end", () => connections.delete(c));
      return c;
    },
  };
  if (ownsClient) {
    cmd.on("error", (err: unknown) => logger.debug({ err: errorMessage(err) }, "redis connection error"));
    cmd.on("reconnecting", () => logger.info({}, "redis reconnecting"));
  }
  let trimTimer: ReturnType<typeof setInterval> | undefined;

  let connecting: Promise<void> | undefined;
  const ensureConnected = (): Promise<void> => {
    if (cmd.status === "wait") connecting ??= cmd.connect().catch(() => {});
    return connecting ?? Promise.resolve();
  };

  if (opts.trimIntervalMs > 0) {
    trimTimer = setInterval(() => {
      void trimStream(ctx).catch((err: unknown) => logger.warn({ err: errorMessage(err) }, "trim failed"));
    }, opts.trimIntervalMs);
    trimTimer.unref?.();
  }

  const bus: RedisBus = {
    specificationVersion: "v1",
    name: opts.name,
    capabilities: { durable: true, deadLetter: true },
    keys: { stream, deadLetter: deadStream },
    get bufferedPublishes() {
      return publisher.buffered;
    },

    publish(event: FleetEvent, callOptions?: CallOptions): Promise<void> {
      return publisher.publish(event, callOptions, {
        encode: encodeEvent,
        before: async () => {
          if (cmd.status === "wait") await ensureConnected();
        },
        send: async (payload, deadline) => {
          const add = cmd.xadd(stream, "*", EVENT_FIELD, payload);
          // our own client times commands out itself; an injected one may not
          const id = ownsClient ? await add : await withTimeout(add, Math.max(1, deadline - Date.now()), undefined);
          if (id === undefined || id === null) throw new Error("XADD timed out");
        },
      });
    },

    subscribe(subOptions: SubscribeOptions, handler: EventHandler): Promise<Subscription> {
      return kit.subscribe(subOptions, handler, async () => {
        const { group } = subOptions;
        await ensureConnected();
        if (group === undefined) return new BroadcastConsumer(ctx, handler);
        const consumer = subOptions.consumer ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
        return new GroupConsumer(ctx, group, consumer, handler);
      });
    },

    async deadLetters(readOptions: { count?: number } = {}): Promise<RedisDeadLetter[]> {
      await ensureConnected();
      const rows = (await cmd.xrange(deadStream, "-", "+", "COUNT", readOptions.count ?? 1000)) as [string, string[]][];
      return rows.map(([id, fields]) => {
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
        let event: FleetEvent | undefined;
        try {
          event = decodeEvent(f[EVENT_FIELD] ?? "");
        } catch {
          event = undefined;
        }
        return {
          id,
          event,
          raw: f[EVENT_FIELD] ?? "",
          group: f.group ?? "",
          attempts: Number(f.attempts ?? 0),
          error: f.error ?? "",
          sourceId: f.source_id ?? "",
          at: f.at ?? "",
        };
      });
    },

    async trim(callOptions?: CallOptions): Promise<number> {
      throwIfAborted(callOptions?.signal);
      await ensureConnected();
      return trimStream(ctx);
    },

    async close(): Promise<void> {
      if (kit.closed) return;
      if (trimTimer) clearInterval(trimTimer);
      await kit.close();
      for (const c of connections) c.disconnect();
      if (ownsClient) {
        await withTimeout(
          cmd.quit().catch(() => undefined),
          1000,
          undefined,
        );
        cmd.disconnect();
      }
    },

    [Symbol.asyncDispose]: () => bus.close(),
  };
  return bus;
}
