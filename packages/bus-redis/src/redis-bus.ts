import { randomUUID } from "node:crypto";
import {
  type CallOptions,
  type EventBus,
  type EventHandler,
  FleetError,
  type FleetEvent,
  type SubscribeOptions,
  type Subscription,
  silentLogger,
  throwIfAborted,
} from "@mcpfleet/core";
import { Redis } from "ioredis";
import { BroadcastConsumer } from "./broadcast-consumer.js";
import { decodeEvent, EVENT_FIELD, encodeEvent } from "./codec.js";
import { type BusContext, errorMessage, sleep, withTimeout } from "./context.js";
import { GroupConsumer } from "./group-consumer.js";
import { type RedisBusOptions, resolveOptions } from "./options.js";
import { trimStream } from "./trim.js";

/** One entry of the dead-letter stream. */
export interface RedisDeadLetter {
  /** Dead-letter stream entry id. */
  id: string;
  /** The event (undefined when the original entry could not be decoded; see `raw`). */
  event: FleetEvent | undefined;
  raw: string;
  group: string;
  attempts: number;
  error: string;
  /** Id of the original entry in the event stream. */
  sourceId: string;
  at: string;
}

export interface RedisBus extends EventBus {
  /** Keys: the event stream and the dead-letter stream. */
  readonly keys: { stream: string; deadLetter: string };
  /** Dead letters, oldest first. */
  deadLetters(options?: { count?: number }): Promise<RedisDeadLetter[]>;
  /** Trims entries older than `retentionMs` that no group still needs; resolves with the number removed. */
  trim(options?: CallOptions): Promise<number>;
  /** Publishes waiting for Redis right now. */
  readonly bufferedPublishes: number;
}

const GROUP_RE = /^[A-Za-z0-9_.:-]{1,200}$/;

/** An EventBus on Redis Streams (ioredis): consumer groups, XACK, XAUTOCLAIM, dead-letter stream. */
export function redisBus(options: RedisBusOptions): RedisBus {
  const opts = resolveOptions(options);
  const logger = (opts.logger ?? silentLogger()).child({ bus: opts.name });
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
  const consumers = new Set<{ stop(): Promise<void> }>();
  let buffered = 0;
  let closed = false;
  let trimTimer: ReturnType<typeof setInterval> | undefined;
  const closedError = () => new FleetError("CLOSED", `[mcpfleet/bus-redis] bus "${opts.name}" is closed`);

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
      return buffered;
    },

    async publish(event: FleetEvent, callOptions?: CallOptions): Promise<void> {
      if (closed) throw closedError();
      throwIfAborted(callOptions?.signal);
      if (!event || typeof event !== "object" || typeof event.id !== "string") {
        throw new FleetError("SPEC_INVALID", "[mcpfleet/bus-redis] publish needs a FleetEvent", { path: "event" });
      }
      if (buffered >= opts.maxBufferedPublishes) {
        throw new FleetError(
          "BUFFER_FULL",
          `[mcpfleet/bus-redis] ${buffered} publishes are waiting for Redis (maxBufferedPublishes); event ${event.id} not published`,
          { isRetryable: true, details: { eventId: event.id } },
        );
      }
      const payload = encodeEvent(event);
      buffered++;
      try {
        if (cmd.status === "wait") await ensureConnected();
        const deadline = Date.now() + opts.publishTimeoutMs;
        for (let attempt = 1; ; attempt++) {
          let failure: unknown;
          try {
            const add = cmd.xadd(stream, "*", EVENT_FIELD, payload);
            // our own client times commands out itself; an injected one may not
            const id = ownsClient ? await add : await withTimeout(add, Math.max(1, deadline - Date.now()), undefined);
            if (id !== undefined && id !== null) return;
            failure = new Error("XADD timed out");
          } catch (err) {
            failure = err;
          }
          if (Date.now() >= deadline || closed || callOptions?.signal?.aborted) {
            throw new FleetError(
              "BUS_UNAVAILABLE",
              `[mcpfleet/bus-redis] publish of event ${event.id} failed: ${errorMessage(failure)}`,
              {
                cause: failure,
                details: { eventId: event.id, attempts: attempt },
              },
            );
          }
          logger.debug({ eventId: event.id, attempt, err: errorMessage(failure) }, "publish failed, retrying");
          await sleep(
            Math.min(1000, 20 * 2 ** Math.min(attempt, 6), Math.max(0, deadline - Date.now())),
            callOptions?.signal,
          );
        }
      } finally {
        buffered--;
      }
    },

    async subscribe(subOptions: SubscribeOptions, handler: EventHandler): Promise<Subscription> {
      if (closed) throw closedError();
      throwIfAborted(subOptions?.signal);
      if (typeof handler !== "function") {
        throw new FleetError("OPTIONS_INVALID", "[mcpfleet/bus-redis] subscribe handler must be a function", {
          path: "handler",
        });
      }
      const { group } = subOptions;
      if (group !== undefined && (typeof group !== "string" || !GROUP_RE.test(group))) {
        throw new FleetError(
          "OPTIONS_INVALID",
          '[mcpfleet/bus-redis] option "group" must match [A-Za-z0-9_.:-]{1,200}',
          {
            path: "group",
          },
        );
      }
      await ensureConnected();
      const consumer =
        group === undefined
          ? new BroadcastConsumer(ctx, handler)
          : new GroupConsumer(ctx, group, subOptions.consumer ?? `${process.pid}-${randomUUID().slice(0, 8)}`, handler);
      try {
        await consumer.start();
      } catch (err) {
        await consumer.stop();
        throw new FleetError("BUS_UNAVAILABLE", `[mcpfleet/bus-redis] subscribe failed: ${errorMessage(err)}`, {
          cause: err,
        });
      }
      consumers.add(consumer);
      let closing: Promise<void> | undefined;
      const onAbort = () => void sub.close();
      const sub: Subscription = {
        close: () => {
          subOptions.signal?.removeEventListener("abort", onAbort);
          closing ??= consumer.stop().finally(() => consumers.delete(consumer));
          return closing;
        },
        [Symbol.asyncDispose]: () => sub.close(),
      };
      subOptions.signal?.addEventListener("abort", onAbort, { once: true });
      return sub;
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
      if (closed) return;
      closed = true;
      if (trimTimer) clearInterval(trimTimer);
      await Promise.all([...consumers].map((c) => c.stop()));
      consumers.clear();
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
