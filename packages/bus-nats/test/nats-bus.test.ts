import { createEvent, type FleetEvent } from "@mcpfleet/core";
import { describeWith } from "@mcpfleet/core/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { type NatsBusOptions, natsBus } from "../src/index.js";
import { deleteStreams, NATS_URL, natsService, sleep, testNames, until } from "./helpers.js";

const nats = await natsService();
const ev = (i: number): FleetEvent => createEvent("MCPServerInstanceUpdated", `inst-${i}`, { generation: i });

describe("natsBus options", () => {
  it("refuses bad options with OPTIONS_INVALID naming the adapter and option", () => {
    expect(() => natsBus({ stream: "has.dot" })).toThrow(/\[mcpfleet\/bus-nats\] option "stream"/);
    expect(() => natsBus({ subjectPrefix: "a.>" })).toThrow(
      expect.objectContaining({ code: "OPTIONS_INVALID", path: "subjectPrefix" }),
    );
    expect(() => natsBus({ maxDeliveries: 0 })).toThrow(/option "maxDeliveries"/);
    expect(() => natsBus({ servers: [] })).toThrow(/option "servers"/);
    expect(() => natsBus({ extra: 1 } as never)).toThrow(/option "extra" is not known/);
  });
});

describeWith([nats], "natsBus on a real NATS JetStream", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const make = (names = testNames("bus"), options: NatsBusOptions = {}) => {
    const bus = natsBus({ servers: NATS_URL, ...names, storage: "memory", ...options });
    cleanup.push(async () => {
      await bus.close();
      await deleteStreams(names);
    });
    return bus;
  };
  const conn = async () => {
    const nc = await connect({ servers: NATS_URL });
    cleanup.push(() => nc.close());
    return nc;
  };

  it("fails with BUFFER_FULL when too many publishes wait and BUS_UNAVAILABLE when no server answers", async () => {
    const bus = natsBus({ servers: "nats://127.0.0.1:1", maxBufferedPublishes: 2, publishTimeoutMs: 300 });
    cleanup.push(() => bus.close());
    const first = bus.publish(ev(1));
    const second = bus.publish(ev(2));
    await expect(bus.publish(ev(3))).rejects.toMatchObject({ code: "BUFFER_FULL", isRetryable: true });
    await expect(first).rejects.toMatchObject({ code: "BUS_UNAVAILABLE" });
    await expect(second).rejects.toMatchObject({ code: "BUS_UNAVAILABLE" });
    expect(bus.bufferedPublishes).toBe(0);
  });

  it("de-duplicates a re-published event by Nats-Msg-Id = event id", async () => {
    const bus = make();
    const got: string[] = [];
    await bus.subscribe({ group: "g" }, (e) => {
      got.push(e.id);
    });
    const e = ev(1);
    await bus.publish(e);
    await bus.publish(e); // a retry after a lost ack looks like this
    const other = ev(2);
    await bus.publish(other);
    await until("second event", () => got.includes(other.id));
    await sleep(200);
    expect(got).toEqual([e.id, other.id]);
  });

  it("creates the stream idempotently and updates its limits when options change", async () => {
    const names = testNames("idem");
    const a = make(names, { retentionMs: 3_600_000 });
    await a.publish(ev(1));
    const b = make(names, { retentionMs: 3_600_000 });
    await b.publish(ev(2));
    const c = make(names, { retentionMs: 7_200_000 });
    await c.publish(ev(3));
    const jsm = await jetstreamManager(await conn());
    const info = await jsm.streams.info(names.stream);
    expect(info.config.subjects).toEqual([`${names.subjectPrefix}.>`]);
    expect(info.config.max_age).toBe(7_200_000 * 1_000_000);
    expect(info.state.messages).toBe(3);
    const dead = await jsm.streams.info(`${names.stream}_DEAD`);
    expect(dead.config.subjects).toEqual([`${names.deadLetterSubject}.>`]);
  });

  it("durable group consumers: explicit ack, ack_wait = visibility timeout, one more max_deliver for crash dead-lettering", async () => {
    const names = testNames("cons");
    const bus = make(names, { visibilityTimeoutMs: 1500, maxDeliveries: 4 });
    const sub = await bus.subscribe({ group: "role.worker" }, () => {});
    const jsm = await jetstreamManager(await conn());
    const list = await jsm.consumers.list(names.stream).next();
    const durable = list.find((ci) => ci.config.durable_name);
    expect(durable?.config).toMatchObject({ ack_policy: "explicit", ack_wait: 1500 * 1_000_000, max_deliver: 5 });
    expect(durable?.name).not.toContain(".");
    await sub.close();
  });

  it("uses an injected connection without closing it", async () => {
    const nc: NatsConnection = await conn();
    const names = testNames("inj");
    const bus = natsBus({ connection: nc, ...names, storage: "memory" });
    const got: string[] = [];
    await bus.subscribe({ group: "g" }, (e) => {
      got.push(e.id);
    });
    await bus.publish(ev(1));
    await until("delivery", () => got.length === 1);
    await bus.close();
    expect(nc.isClosed()).toBe(false);
    await deleteStreams(names);
  });

  it("rejects a bad group name and a non-event", async () => {
    const bus = make();
    await expect(bus.subscribe({ group: "a b" }, () => {})).rejects.toMatchObject({
      code: "OPTIONS_INVALID",
      path: "group",
    });
    await expect(bus.publish({} as never)).rejects.toMatchObject({ code: "SPEC_INVALID" });
  });
  it("keeps a slow handler's event with its live member past the visibility timeout (in-progress heartbeats)", async () => {
    const bus = make(undefined, { visibilityTimeoutMs: 300 });
    const deliveries: string[] = [];
    let slowDone = false;
    await bus.subscribe({ group: "g", consumer: "slow" }, async (e) => {
      deliveries.push(`slow:${e.id}`);
      await sleep(1200); // four visibility timeouts
      slowDone = true;
    });
    const e = ev(1);
    await bus.publish(e);
    await until("the slow member took it", () => deliveries.length === 1);
    await bus.subscribe({ group: "g", consumer: "fast" }, (x) => {
      deliveries.push(`fast:${x.id}`);
    });
    await until("slow handler done", () => slowDone);
    await sleep(700);
    expect(deliveries).toEqual([`slow:${e.id}`]);
  });
});
