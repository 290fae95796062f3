import { createEvent, type FleetEvent } from "@mcpfleet/core";
import { describeWith } from "@mcpfleet/core/testing";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { type RedisBus, redisBus } from "../src/index.js";
import { deleteKeys, REDIS_URL, redisService, sleep, testPrefix, until } from "./helpers.js";

const redis = await redisService();
const ev = (i: number): FleetEvent => createEvent("MCPServerInstanceUpdated", `inst-${i}`, { generation: i });

describe("redisBus options", () => {
  it("refuses bad options with OPTIONS_INVALID naming the adapter and option, without echoing values", () => {
    expect(() => redisBus({ url: "http://user:hunter2@host" })).toThrow(/\[mcpfleet\/bus-redis\] option "url"/);
    try {
      redisBus({ url: "http://user:hunter2@host" });
    } catch (err) {
      expect(String((err as Error).message)).not.toContain("hunter2");
      expect(err).toMatchObject({ code: "OPTIONS_INVALID", path: "url" });
    }
    expect(() => redisBus({ maxDeliveries: 0 })).toThrow(/option "maxDeliveries"/);
    expect(() => redisBus({ client: {} as never })).toThrow(/option "client"/);
    expect(() => redisBus({ nope: true } as never)).toThrow(/option "nope" is not known/);
  });
});

describeWith([redis], "redisBus on a real Redis", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });
  const make = (options: Parameters<typeof redisBus>[0] = {}) => {
    const prefix = testPrefix("bus");
    const bus = redisBus({ url: REDIS_URL, prefix, trimIntervalMs: 0, ...options });
    cleanup.push(async () => {
      await bus.close();
      await deleteKeys(prefix);
    });
    return bus;
  };
  const raw = () => {
    const r = new Redis(REDIS_URL);
    cleanup.push(async () => r.disconnect());
    return r;
  };

  it("fails fast with BUFFER_FULL when too many publishes wait, then BUS_UNAVAILABLE after the deadline", async () => {
    const bus = redisBus({
      url: "redis://127.0.0.1:1",
      maxBufferedPublishes: 2,
      publishTimeoutMs: 300,
      trimIntervalMs: 0,
    });
    cleanup.push(() => bus.close());
    const first = bus.publish(ev(1));
    const second = bus.publish(ev(2));
    expect(bus.bufferedPublishes).toBe(2);
    await expect(bus.publish(ev(3))).rejects.toMatchObject({ code: "BUFFER_FULL", isRetryable: true });
    await expect(first).rejects.toMatchObject({ code: "BUS_UNAVAILABLE" });
    await expect(second).rejects.toMatchObject({ code: "BUS_UNAVAILABLE" });
    expect(bus.bufferedPublishes).toBe(0);
  });

  it("trims by age but never entries pending or unread in a group", async () => {
    const bus = make({ retentionMs: 1 });
    const r = raw();
    const { stream } = bus.keys;
    for (let i = 1; i <= 10; i++) await bus.publish(ev(i));
    const ids = ((await r.xrange(stream, "-", "+")) as [string, string[]][]).map((e) => e[0]);
    expect(ids).toHaveLength(10);
    await r.xgroup("CREATE", stream, "gA", "0");
    await r.xreadgroup("GROUP", "gA", "c1", "COUNT", 10, "STREAMS", stream, ">");
    await r.xack(stream, "gA", ...ids.slice(0, 5));
    expect(await bus.trim()).toBe(5); // entries 6..10 are pending in gA
    await r.xgroup("CREATE", stream, "gB", ids[7]!); // gB has not read 9, 10
    expect(await bus.trim()).toBe(0);
    await r.xack(stream, "gA", ...ids.slice(5));
    expect(await bus.trim()).toBe(2); // 6 and 7 go; 8 is gB's last-delivered, 9 and 10 unread
    const left = ((await r.xrange(stream, "-", "+")) as [string, string[]][]).map((e) => e[0]);
    expect(left).toEqual(ids.slice(7));
  });

  it("dead-letters undecodable entries instead of crashing the consumer", async () => {
    const bus = make({ maxDeliveries: 2 });
    const got: string[] = [];
    await bus.subscribe({ group: "g" }, (e) => {
      got.push(e.id);
    });
    const r = raw();
    await r.xadd(bus.keys.stream, "*", "e", "{not json");
    const good = ev(1);
    await bus.publish(good);
    await until("good event", () => got.includes(good.id));
    await until("dead letter", async () => (await bus.deadLetters()).length === 1);
    const [dl] = await bus.deadLetters();
    expect(dl).toMatchObject({ event: undefined, raw: "{not json", group: "g" });
    expect(dl?.error).toMatch(/not JSON/);
  });

  it("uses an injected client without closing it", async () => {
    const client = raw();
    const prefix = testPrefix("inj");
    const bus: RedisBus = redisBus({ client, prefix, trimIntervalMs: 0 });
    const got: string[] = [];
    await bus.subscribe({ group: "g" }, (e) => {
      got.push(e.id);
    });
    const e = ev(1);
    await bus.publish(e);
    await until("delivery", () => got.length === 1);
    await bus.close();
    expect(await client.ping()).toBe("PONG");
    await deleteKeys(prefix);
  });

  it("rejects a bad group name and a non-event", async () => {
    const bus = make();
    await expect(bus.subscribe({ group: "has space" }, () => {})).rejects.toMatchObject({
      code: "OPTIONS_INVALID",
      path: "group",
    });
    await expect(bus.publish({} as never)).rejects.toMatchObject({ code: "SPEC_INVALID" });
  });

  it("dead-letters an entry that keeps crashing its consumers without handling it again", async () => {
    const bus = make({ maxDeliveries: 2, visibilityTimeoutMs: 100 });
    const r = raw();
    const { stream } = bus.keys;
    const e = ev(7);
    await bus.publish(e); // before the group exists: create the group at 0 by hand so it sees it
    await r.xgroup("CREATE", stream, "g", "0");
    // two deliveries that never ack (as if the consumer died each time)
    await r.xreadgroup("GROUP", "g", "dead1", "COUNT", 1, "STREAMS", stream, ">");
    const [first] = (await r.xrange(stream, "-", "+")) as [string, string[]][];
    await r.xclaim(stream, "g", "dead2", 0, first![0]);
    const handled: string[] = [];
    await bus.subscribe({ group: "g" }, (x) => {
      handled.push(x.id);
    });
    await until("dead letter", async () => (await bus.deadLetters()).length === 1);
    expect(handled).toEqual([]);
    const [dl] = await bus.deadLetters();
    expect(dl).toMatchObject({ group: "g", attempts: 2 });
    expect(dl?.event?.id).toBe(e.id);
  });
  it("keeps a slow handler's event with its live member past the visibility timeout (in-progress heartbeats)", async () => {
    const bus = make({ visibilityTimeoutMs: 300 });
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
