import { afterEach, describe, expect, it } from "vitest";
import {
  createEvent,
  type EventObservation,
  type FleetStore,
  memoryBus,
  memoryStore,
  type ReconcileObservation,
} from "../../src/index.js";
import { dockerSpec, eventually, type Harness, harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.fleet.close();
  h = undefined;
});

/** A memory store whose `instances.get` throws for one id until `heal()`. */
function breakableStore(): { store: FleetStore; breakOn(id: string): void; heal(): void } {
  const inner = memoryStore();
  let broken: string | undefined;
  const instances = new Proxy(inner.instances, {
    get(target, prop, receiver) {
      if (prop === "get")
        return (id: string, o?: unknown) => {
          if (id === broken) return Promise.reject(new Error("store read failed"));
          return target.get(id, o as never);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const store = new Proxy(inner, {
    get: (target, prop, receiver) => (prop === "instances" ? instances : Reflect.get(target, prop, receiver)),
  });
  return { store, breakOn: (id) => (broken = id), heal: () => (broken = undefined) };
}

describe("observer hooks (metrics)", () => {
  it("reports every reconcile pass with its duration, and bus arrivals with their lag", async () => {
    const reconciles: ReconcileObservation[] = [];
    const arrivals: EventObservation[] = [];
    h = await harness({
      observer: {
        reconciled: (o) => reconciles.push(o),
        eventReceived: (o) => arrivals.push(o),
      },
    });
    const inst = await h.fleet.instances.create({ name: "observed", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
    await h.fleet.idle();
    const mine = reconciles.filter((o) => o.instanceId === inst.id);
    expect(mine.length).toBeGreaterThanOrEqual(1);
    for (const o of mine) {
      expect(o.outcome).toBe("ok");
      expect(o.durationMs).toBeGreaterThanOrEqual(0);
      expect(o.durationMs).toBeLessThan(5000);
    }
    await eventually(() => arrivals.some((a) => a.type === "MCPServerInstanceCreated" && a.consumer === "reconciler"));
    expect(arrivals).toContainEqual(
      expect.objectContaining({ type: "MCPServerInstanceCreated", consumer: "listeners" }),
    );
    for (const a of arrivals) expect(a.lagMs).toBeGreaterThanOrEqual(0);
  });

  it("measures lag from the event's time: an event that waited in the bus shows it", async () => {
    const arrivals: EventObservation[] = [];
    const bus = memoryBus();
    h = await harness({ bus, observer: { eventReceived: (o) => arrivals.push(o) } });
    const old = createEvent(
      "MCPServerInstanceDeleted",
      "no-such-instance",
      {},
      {
        time: new Date(Date.now() - 2500).toISOString(),
      },
    );
    await bus.publish(old);
    await eventually(() => arrivals.some((a) => a.consumer === "reconciler"));
    const lag = arrivals.find((a) => a.consumer === "reconciler")!.lagMs;
    expect(lag).toBeGreaterThanOrEqual(2500);
    expect(lag).toBeLessThan(10_000);
    await bus.close();
  });

  it("reports a pass that threw as an error, and a throwing hook never breaks the engine", async () => {
    const reconciles: ReconcileObservation[] = [];
    const broken = breakableStore();
    h = await harness({
      store: broken.store,
      observer: {
        reconciled(o) {
          reconciles.push(o);
          throw new Error("exporter down");
        },
      },
    });
    const inst = await h.fleet.instances.create({ name: "first", json_spec: dockerSpec(), start: false });
    broken.breakOn(inst.id);
    await h.fleet.resync();
    expect(reconciles.filter((o) => o.instanceId === inst.id).at(-1)?.outcome).toBe("error");
    broken.heal();
    await h.fleet.instances.start(inst.id);
    await h.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
    expect(h.logs.some((l) => l.msg === "observer hook threw")).toBe(true);
    expect(h.logs.some((l) => l.msg === "reconcile failed")).toBe(true);
  });

  it("refuses an observer that is not an object", async () => {
    const { createFleet } = await import("../../src/index.js");
    expect(() => createFleet({ observer: 42 as never })).toThrow(
      expect.objectContaining({ code: "OPTIONS_INVALID", path: "observer" }),
    );
  });
});
