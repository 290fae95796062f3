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
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { BroadcastConsumer } from "./broadcast-consumer.js";
import { decodeEvent, encodeEvent } from "./codec.js";
import { GroupConsumer } from "./group-consumer.js";
import { type NatsBusOptions, resolveOptions } from "./options.js";
import { ensureConsumer, ensureStream } from "./setup.js";
import { durableName, errorMessage, sleep, withTimeout } from "./util.js";

/** One message of the dead-letter stream. */
export interface NatsDeadLetter {
  seq: number;
  event: FleetEvent | undefined;
  group: string;
  attempts: number;
  error: string;
  /** Sequence of the original message in the event stream. */
  sourceSeq: number;
  at: string;
}

export interface NatsBus extends EventBus {
  readonly streams: { events: string; deadLetter: string };
  /** Dead letters, oldest first. */
  deadLetters(options?: { count?: number }): Promise<NatsDeadLetter[]>;
  /** Publishes waiting for a JetStream ack right now. */
  readonly bufferedPublishes: number;
}

interface Ready {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

const GROUP_RE = /^[A-Za-z0-9_.:-]{1,200}$/;

/** An EventBus on NATS JetStream: one stream, a durable pull consumer per group, ordered consumers for broadcast. */
export function natsBus(options: NatsBusOptions): NatsBus {
  const opts = resolveOptions(options);
  const logger = (opts.logger ?? silentLogger()).child({ bus: opts.name });
  const consumers = new Set<{ stop(): Promise<void> }>();
  let buffered = 0;
  let closed = false;
  let ready: Promise<Ready> | undefined;
  const closedError = () => new FleetError("CLOSED", `[mcpfleet/bus-nats] bus "${opts.name}" is closed`);

  const init = async (): Promise<Ready> => {
    const nc =
      opts.connection ??
      (await connect({
        servers: opts.servers,
        name: "mcpfleet-bus",
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        waitOnFirstConnect: false,
      }));
    if (!opts.connection) void watchStatus(nc);
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, opts.stream, [`${opts.subjectPrefix}.>`], opts, true);
    await ensureStream(jsm, opts.deadLetterStream, [`${opts.deadLetterSubject}.>`], opts, true);
    return { nc, jsm, js: jetstream(nc, { timeout: opts.publishTimeoutMs }) };
  };

  async function watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect") logger.info({ status: s.type }, `nats ${s.type}`);
    }
  }

  const ensure = (): Promise<Ready> => {
    ready ??= init().catch((err: unknown) => {
      ready = undefined;
      throw new FleetError("BUS_UNAVAILABLE", `[mcpfleet/bus-nats] cannot reach NATS JetStream: ${errorMessage(err)}`, {
        cause: err,
      });
    });
    return ready;
  };

  const bus: NatsBus = {
    specificationVersion: "v1",
    name: opts.name,
    capabilities: { durable: true, deadLetter: true },
    streams: { events: opts.stream, deadLetter: opts.deadLetterStream },
    get bufferedPublishes() {
      return buffered;
    },

    async publish(event: FleetEvent, callOptions?: CallOptions): Promise<void> {
      if (closed) throw closedError();
      throwIfAborted(callOptions?.signal);
      if (!event || typeof event !== "object" || typeof event.id !== "string" || typeof event.type !== "string") {
        throw new FleetError("SPEC_INVALID", "[mcpfleet/bus-nats] publish needs a FleetEvent", { path: "event" });
      }
      if (buffered >= opts.maxBufferedPublishes) {
        throw new FleetError(
          "BUFFER_FULL",
          `[mcpfleet/bus-nats] ${buffered} publishes are waiting for JetStream (maxBufferedPublishes); event ${event.id} not published`,
          { isRetryable: true, details: { eventId: event.id } },
        );
      }
      const payload = encodeEvent(event);
      const subject = `${opts.subjectPrefix}.${event.type.replace(/[^A-Za-z0-9_-]/g, "_")}`;
      buffered++;
      try {
        const deadline = Date.now() + opts.publishTimeoutMs;
        for (let attempt = 1; ; attempt++) {
          let failure: unknown;
          try {
            const { js } = await ensure();
            const remaining = Math.max(1, deadline - Date.now());
            // Nats-Msg-Id = event id: a retried publish that already landed is dropped by the server
            await js.publish(subject, payload, { msgID: event.id, timeout: Math.min(remaining, 5000) });
            return;
          } catch (err) {
            failure = err;
          }
          if (Date.now() >= deadline || closed || callOptions?.signal?.aborted) {
            throw new FleetError(
              "BUS_UNAVAILABLE",
              `[mcpfleet/bus-nats] publish of event ${event.id} failed: ${errorMessage(failure)}`,
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
        throw new FleetError("OPTIONS_INVALID", "[mcpfleet/bus-nats] subscribe handler must be a function", {
          path: "handler",
        });
      }
      const { group } = subOptions;
      if (group !== undefined && (typeof group !== "string" || !GROUP_RE.test(group))) {
        throw new FleetError(
          "OPTIONS_INVALID",
          '[mcpfleet/bus-nats] option "group" must match [A-Za-z0-9_.:-]{1,200}',
          {
            path: "group",
          },
        );
      }
      const { js, jsm } = await ensure();
      let consumer: GroupConsumer | BroadcastConsumer;
      try {
        if (group === undefined) {
          consumer = new BroadcastConsumer(js, jsm, opts, handler, logger.child({ broadcast: true }));
        } else {
          const durable = durableName(group);
          await ensureConsumer(jsm, durable, opts);
          consumer = new GroupConsumer(js, opts, group, durable, handler, logger);
        }
        await consumer.start();
      } catch (err) {
        throw new FleetError("BUS_UNAVAILABLE", `[mcpfleet/bus-nats] subscribe failed: ${errorMessage(err)}`, {
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

    async deadLetters(readOptions: { count?: number } = {}): Promise<NatsDeadLetter[]> {
      const { jsm } = await ensure();
      const info = await jsm.streams.info(opts.deadLetterStream);
      const out: NatsDeadLetter[] = [];
      const limit = readOptions.count ?? 1000;
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && out.length < limit; seq++) {
        const m = await jsm.streams.getMessage(opts.deadLetterStream, { seq }).catch(() => null);
        if (!m) continue;
        let event: FleetEvent | undefined;
        try {
          event = decodeEvent(m.data);
        } catch {
          event = undefined;
        }
        const h = m.header;
        out.push({
          seq: m.seq,
          event,
          group: h.get("Mcpfleet-Group"),
          attempts: Number(h.get("Mcpfleet-Attempts") || 0),
          error: h.get("Mcpfleet-Error"),
          sourceSeq: Number(h.get("Mcpfleet-Source-Seq") || 0),
          at: h.get("Mcpfleet-At"),
        });
      }
      return out;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([...consumers].map((c) => c.stop()));
      consumers.clear();
      if (ready && !opts.connection) {
        const r = await ready.catch(() => undefined);
        if (r)
          await withTimeout(
            r.nc.drain().catch(() => r.nc.close()),
            2000,
            undefined,
          );
        if (r && !r.nc.isClosed()) await r.nc.close();
      }
    },

    [Symbol.asyncDispose]: () => bus.close(),
  };
  return bus;
}
