import { fileURLToPath } from "node:url";
import { createEvent, type FleetEvent } from "@mcpfleet/core";
import { type Child, describeWith, runChild } from "@mcpfleet/core/testing";
import { afterEach, expect, it } from "vitest";
import { natsBus } from "../src/index.js";
import { deleteStreams, NATS_URL, natsService, testNames, until } from "./helpers.js";
import { ownNats } from "./own-nats.js";

const nats = await natsService();
const CHILD = fileURLToPath(new URL("./fixtures/child-consumer.ts", import.meta.url));
const ev = (i: number): FleetEvent => createEvent("MCPServerInstanceUpdated", `inst-${i % 17}`, { generation: i });
const childEnv = (names: ReturnType<typeof testNames>, extra: Record<string, string>) => ({
  NATS_URL,
  STREAM: names.stream,
  SUBJECT_PREFIX: names.subjectPrefix,
  DEAD_SUBJECT: names.deadLetterSubject,
  ...extra,
});

describeWith([nats], "natsBus fault tests (real processes, real NATS)", () => {
  const cleanup: (() => Promise<void>)[] = [];
  const children: Child[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) await c.kill();
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it("redelivers the message of a consumer process SIGKILLed mid-handler to another consumer; nothing lost", async () => {
    const names = testNames("kill");
    const bus = natsBus({ servers: NATS_URL, ...names, visibilityTimeoutMs: 1000 });
    cleanup.push(async () => {
      await bus.close();
      await deleteStreams(names);
    });
    await bus.publish(ev(-1)); // creates the streams before the child subscribes
    const victim = runChild(CHILD, childEnv(names, { MODE: "hang", VISIBILITY_MS: "1000", BATCH: "5" }));
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
    await bus.subscribe({ group: "workers" }, (e, ctx) => {
      survivor.push({ id: e.id, attempt: ctx.attempt });
    });
    for (let i = 5; i < 20; i++) {
      const e = ev(i);
      ids.push(e.id);
      await bus.publish(e);
    }
    await until("every event at the survivor", () => ids.every((id) => survivor.some((s) => s.id === id)), 20_000);
    expect(survivor.find((s) => s.id === taken.got)?.attempt).toBeGreaterThanOrEqual(2);
    console.log(
      `[nats kill test] victim took ${taken.got}; survivor handled ${survivor.length} deliveries of ${ids.length} events`,
    );
  });

  it("a handler that always throws in a consumer process: nak with growing backoff, then the dead-letter subject", async () => {
    const names = testNames("fail");
    const bus = natsBus({ servers: NATS_URL, ...names });
    cleanup.push(async () => {
      await bus.close();
      await deleteStreams(names);
    });
    await bus.publish(ev(-1));
    const child = runChild(
      CHILD,
      childEnv(names, { MODE: "fail", MAX_DELIVERIES: "4", REDELIVERY_MS: "40", VISIBILITY_MS: "5000" }),
    );
    children.push(child);
    await child.waitFor((l) => l.ready === true);
    const e = ev(1);
    await bus.publish(e);
    await until("dead letter", async () => (await bus.deadLetters()).length === 1, 20_000);
    const deliveries = child.lines.filter((l) => l.got === e.id);
    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3, 4]);
    const times = deliveries.map((d) => d.t as number);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // nak delays 40, 80, 160 ms are enforced by the server: each gap at least its delay
    expect(gaps[0]).toBeGreaterThanOrEqual(38);
    expect(gaps[1]).toBeGreaterThanOrEqual(78);
    expect(gaps[2]).toBeGreaterThanOrEqual(158);
    const [dl] = await bus.deadLetters();
    expect(dl).toMatchObject({ group: "workers", attempts: 4, error: "handler failure in child" });
    expect(dl?.event).toEqual(e);
  });

  it("survives a broker restart during a burst of 1,000 events: every id delivered at least once", async () => {
    const server = await ownNats();
    cleanup.push(() => server.close());
    const names = testNames("restart");
    const opts = { servers: server.url, ...names, visibilityTimeoutMs: 2000, publishTimeoutMs: 30_000 };
    const publisher = natsBus(opts);
    const consumerBus = natsBus(opts);
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
    await until("all 1,000 ids", () => ids.every((id) => counts.has(id)), 40_000);
    const duplicates = [...counts.values()].reduce((n, c) => n + c - 1, 0);
    console.log(
      `[nats restart test] restart after ${settledAtRestart} acknowledged publishes; 1000 events, ${counts.size} distinct delivered, ${duplicates} duplicates`,
    );
    expect(settledAtRestart).toBeLessThan(1000);
    expect(counts.size).toBe(1000);
  }, 90_000);
});
