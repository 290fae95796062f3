import { describe, expect, it } from "vitest";
import { createEvent } from "../events.js";
import { recordingLogger } from "../logger.js";
import { busConformance } from "../testing/bus-conformance.js";
import { memoryBus } from "./memory-bus.js";

busConformance("memory", () => memoryBus({ maxDeliveries: 3, redeliveryDelayMs: 5, closeTimeoutMs: 200 }), {
  maxDeliveries: 3,
});

const ev = (i: number) => createEvent("MCPServerInstanceUpdated", `s-${i % 10}`, { generation: i });

describe("memoryBus", () => {
  it("rejects invalid options with OPTIONS_INVALID naming the option", () => {
    expect(() => memoryBus({ maxDeliveries: 0 })).toThrow(/\[mcpfleet\/memory-bus\] option "maxDeliveries"/);
    expect(() => memoryBus({ bogus: 1 } as never)).toThrow(expect.objectContaining({ code: "OPTIONS_INVALID" }));
  });

  it("refuses a subscribe without handler or with an empty group", async () => {
    const bus = memoryBus();
    await expect(bus.subscribe({ group: "" }, () => {})).rejects.toMatchObject({
      code: "OPTIONS_INVALID",
      path: "group",
    });
    await expect(bus.subscribe({}, undefined as never)).rejects.toMatchObject({ code: "OPTIONS_INVALID" });
    await bus.close();
  });

  it("backs off between redeliveries and records the last error in the dead letter", async () => {
    const bus = memoryBus({ maxDeliveries: 4, redeliveryDelayMs: 20 });
    const times: number[] = [];
    await bus.subscribe({ group: "g" }, () => {
      times.push(performance.now());
      throw new Error("boom");
    });
    const e = ev(1);
    await bus.publish(e);
    while (bus.deadLetters().length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(times.length).toBe(4);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    // 20, 40, 80 ms backoff: each gap at least the scheduled delay, and growing
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[2]).toBeGreaterThan(gaps[0] as number);
    expect(bus.deadLetters()[0]).toMatchObject({ event: e, group: "g", attempts: 4, error: "boom" });
    expect(bus.pending()).toBe(0);
    await bus.close();
  });

  it("keeps events for a group while it has no member and delivers them to the next one", async () => {
    const bus = memoryBus();
    const first = await bus.subscribe({ group: "g" }, () => {});
    await first.close();
    await bus.publish(ev(1));
    await bus.publish(ev(2));
    expect(bus.pending()).toBe(2);
    const got: number[] = [];
    await bus.subscribe({ group: "g" }, (e) => {
      got.push(e.data.generation as number);
    });
    while (got.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(got).toEqual([1, 2]);
    await bus.close();
  });

  it("logs broadcast handler failures without redelivery", async () => {
    const logger = recordingLogger();
    const bus = memoryBus({ logger });
    let calls = 0;
    await bus.subscribe({}, () => {
      calls++;
      throw new Error("listener bug");
    });
    await bus.publish(ev(1));
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
    expect(logger.lines.some((l) => l.level === "warn" && l.msg === "broadcast handler threw")).toBe(true);
    await bus.close();
  });

  it("moves 20,000 events through two groups and a broadcast with nothing lost", async () => {
    const bus = memoryBus();
    const counts = { a: 0, b: 0, c: 0, bc: 0 };
    await bus.subscribe({ group: "g1", consumer: "a" }, () => {
      counts.a++;
    });
    await bus.subscribe({ group: "g1", consumer: "b" }, async () => {
      counts.b++;
    });
    await bus.subscribe({ group: "g2" }, () => {
      counts.c++;
    });
    await bus.subscribe({}, () => {
      counts.bc++;
    });
    for (let i = 0; i < 20_000; i++) await bus.publish(ev(i));
    while (bus.pending() > 0 || counts.bc < 20_000) await new Promise((r) => setTimeout(r, 5));
    expect(counts.a + counts.b).toBe(20_000);
    expect(counts.c).toBe(20_000);
    expect(counts.bc).toBe(20_000);
    await bus.close();
  });
});
