import { fileURLToPath } from "node:url";
import { createEvent, type FleetEvent } from "@mcpfleet/core";
import { type Child, describeWith, runChild } from "@mcpfleet/core/testing";
import { afterEach, expect, it } from "vitest";
import { redisBus } from "../src/index.js";
import { deleteKeys, REDIS_URL, redisService, testPrefix, until } from "./helpers.js";
import { ownRedis } from "./own-redis.js";

const redis = await redisService();
const CHILD = fileURLToPath(new URL("./fixtures/child-consumer.ts", import.meta.url));
const ev = (i: number): FleetEvent => createEvent("MCPServerInstanceUpdated", `inst-${i % 17}`, { generation: i });

describeWith([redis], "redisBus fault tests (real processes, real Redis)", () => {
  const cleanup: (() => Promise<void>)[] = [];
  const children: Child[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) await c.kill();
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it("redelivers the message of a consumer process SIGKILLed mid-handler to another consumer; nothing lost", async () => {
    const prefix = testPrefix("kill");
    const bus = redisBus({ url: REDIS_URL, prefix, visibilityTimeoutMs: 500, trimIntervalMs: 0 });
    cleanup.push(async () => {
      await bus.close();
      await deleteKeys(prefix);
    });
    const victim = runChild(CHILD, { MODE: "hang", PREFIX: prefix, REDIS_URL, VISIBILITY_MS: "500", BATCH: "5" });
    children.push(victim);
    await victim.waitFor((l) => l.ready === true);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const e = ev(i);
      ids.push(e.id);
      await bus.publish(e);
    }
    const taken = await victim.waitFor((l) => typeof l.got === "string");
    await victim.kill("SIGKILL");
    expect(() => process.kill(victim.proc.pid as number, 0)).toThrow(); // really gone
    const survivor: { id: string; attempt: number }[] = [];
    await bus.subscribe({ group: "workers", consumer: "survivor" }, (e, ctx) => {
      survivor.push({ id: e.id, attempt: ctx.attempt });
    });
    for (let i = 5; i < 20; i++) {
      const e = ev(i);
      ids.push(e.id);
      await bus.publish(e);
    }
    await until("every event at the survivor", () => ids.every((id) => survivor.some((s) => s.id === id)), 20_000);
    const redelivered = survivor.find((s) => s.id === taken.got);
    expect(redelivered?.attempt).toBeGreaterThanOrEqual(2);
    console.log(
      `[redis kill test] victim took ${taken.got}; survivor handled ${survivor.length} deliveries of ${ids.length} events`,
    );
  });

  it("a handler that always throws in a consumer process: redelivery with growing backoff, then the dead-letter stream", async () => {
    const prefix = testPrefix("fail");
    const bus = redisBus({ url: REDIS_URL, prefix, trimIntervalMs: 0 });
    cleanup.push(async () => {
      await bus.close();
      await deleteKeys(prefix);
    });
    const child = runChild(CHILD, {
      MODE: "fail",
      PREFIX: prefix,
      REDIS_URL,
      MAX_DELIVERIES: "4",
      REDELIVERY_MS: "40",
      VISIBILITY_MS: "5000",
    });
    children.push(child);
    await child.waitFor((l) => l.ready === true);
    const e = ev(1);
    await bus.publish(e);
    await until("dead letter", async () => (await bus.deadLetters()).length === 1, 20_000);
    const deliveries = child.lines.filter((l) => l.got === e.id);
    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3, 4]);
    const times = deliveries.map((d) => d.t as number);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // scheduled 40, 80, 160 ms: each gap at least its delay (timers never fire early by more than a tick)
    expect(gaps[0]).toBeGreaterThanOrEqual(38);
    expect(gaps[1]).toBeGreaterThanOrEqual(78);
    expect(gaps[2]).toBeGreaterThanOrEqual(158);
    const [dl] = await bus.deadLetters();
    expect(dl).toMatchObject({ group: "workers", attempts: 4, error: "handler failure in child" });
    expect(dl?.event).toEqual(e);
  });

  it("survives a broker restart during a burst of 1,000 events: every id delivered at least once", async () => {
    const server = await ownRedis();
    cleanup.push(() => server.close());
    const prefix = testPrefix("restart");
    const opts = { url: server.url, prefix, visibilityTimeoutMs: 1000, publishTimeoutMs: 20_000, trimIntervalMs: 0 };
    const publisher = redisBus(opts);
    const consumerBus = redisBus(opts);
    cleanup.push(() => publisher.close());
    cleanup.push(() => consumerBus.close());
    const counts = new Map<string, number>();
    await consumerBus.subscribe({ group: "workers" }, (e) => {
      counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    });
    const ids: string[] = [];
    const publishes: Promise<void>[] = [];
    let restarted: Promise<void> | undefined;
    let settled = 0;
    let settledAtRestart = -1;
    for (let i = 0; i < 1000; i++) {
      const e = ev(i);
      ids.push(e.id);
      publishes.push(publisher.publish(e).finally(() => settled++));
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
      if (i === 400) {
        settledAtRestart = settled;
        restarted = server.restart(300);
      }
    }
    await restarted;
    await Promise.all(publishes);
    await until("all 1,000 ids", () => ids.every((id) => counts.has(id)), 30_000);
    const duplicates = [...counts.values()].reduce((n, c) => n + c - 1, 0);
    console.log(
      `[redis restart test] restart after ${settledAtRestart} acknowledged publishes; 1000 events, ${counts.size} distinct delivered, ${duplicates} duplicates`,
    );
    expect(settledAtRestart).toBeLessThan(1000);
    expect(counts.size).toBe(1000);
  });
});
