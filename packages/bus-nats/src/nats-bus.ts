import {
  type CallOptions,
  type DurableEventBus,
  type EventHandler,
  FleetError,
  type FleetEvent,
  type StoredDeadLetter,
  type SubscribeOptions,
  type Subscription,
} from "@mcpfleet/core";
import { adapterTag, DurableBusKit, errorMessage, withTimeout } from "@mcpfleet/core/adapter";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { BroadcastConsumer } from "./broadcast-consumer.js";
import { decodeEvent, encodeEvent } from "./codec.js";
import { GroupConsumer } from "./group-consumer.js";
import { type NatsBusOptions, resolveOptions } from "./options.js";
import { ensureStream } from "./setup.js";
import { durableName } from "./util.js";

/** One message of the dead-letter stream. */
export interface NatsDeadLetter extends StoredDeadLetter {
  seq: number;
  /** Sequence of the original message in the event stream. */
  sourceSeq: number;
}

/** `deadLetters()` reads the dead-letter stream; `bufferedPublishes` counts publishes waiting for a JetStream ack. */
export interface NatsBus extends DurableEventBus<NatsDeadLetter> {
  readonly streams: { events: string; deadLetter: string };
}

interface Ready {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

const ADAPTER = "bus-nats";

/** An EventBus on NATS JetStream: one stream, a durable pull consumer per group, ordered consumers for broadcast. */
export function natsBus(options: NatsBusOptions): NatsBus {
  const opts = resolveOptions(options);
  const kit = new DurableBusKit(ADAPTER, "JetStream", opts);
  const { logger, publisher } = kit;
  let ready: Promise<Ready> | undefined;

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
      throw new FleetError(
        "BUS_UNAVAILABLE",
        `${adapterTag(ADAPTER)} cannot reach NATS JetStream: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    });
    return ready;
  };

  const bus: NatsBus = {
    specificationVersion: "v1",
    name: opts.name,
    capabilities: { durable: true, deadLetter: true },
    streams: { events: opts.stream, deadLetter: opts.deadLetterStream },
    get bufferedPublishes() {
      return publisher.buffered;
    },

    publish(event: FleetEvent, callOptions?: CallOptions): Promise<void> {
      return publisher.publish(event, callOptions, {
        encode: (e) => ({
          payload: encodeEvent(e),
          subject: `${opts.subjectPrefix}.${e.type.replace(/[^A-Za-z0-9_-]/g, "_")}`,
        }),
        send: async ({ payload, subject }, deadline) => {
          const { js } = await ensure();
          const remaining = Math.max(1, deadline - Date.now());
          // Nats-Msg-Id = event id: a retried publish that already landed is dropped by the server
          await js.publish(subject, payload, { msgID: event.id, timeout: Math.min(remaining, 5000) });
        },
      });
    },

    subscribe(subOptions: SubscribeOptions, handler: EventHandler): Promise<Subscription> {
      return kit.subscribe(subOptions, handler, async () => {
        const { group } = subOptions;
        const { js, jsm } = await ensure();
        if (group === undefined)
          return new BroadcastConsumer(js, jsm, opts, handler, logger.child({ broadcast: true }));
        return new GroupConsumer(js, jsm, opts, group, durableName(group), handler, logger);
      });
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
      if (!(await kit.close())) return;
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
