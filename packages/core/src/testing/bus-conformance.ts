import { afterEach, describe, expect, it } from "vitest";
import { createEvent, type FleetEvent } from "../events.js";
import type { DeliveryContext, EventBus, Subscription } from "../plugins/bus.js";

/** What a conformance factory returns: a fresh, isolated bus (own prefix/stream), optionally with cleanup and a peer. */
export interface BusUnderTest {
  bus: EventBus;
  /** Removes what the bus created on the server (keys, streams); called after `bus.close()`. */
  cleanup?: () => Promise<void> | void;
  /** A second connection to the same bus (same prefix/stream), like another process would open. */
  peer?: () => Promise<EventBus> | EventBus;
}

export type BusFactory = () => Promise<EventBus | BusUnderTest> | EventBus | BusUnderTest;

export interface DeadLetterRecord {
  event: FleetEvent;
  group?: string;
}

export interface BusConformanceOptions {
  /** Overrides `bus.capabilities` (groups with a `false` capability are reported as not applicable, never skipped silently). */
  capabilities?: { deadLetter?: boolean; durable?: boolean };
  /** The `maxDeliveries` the factory configures; default 3. */
  maxDeliveries?: number;
  /**
   * Reads the dead letters. Optional: a bus with a `deadLetters()` method (a `DurableEventBus`, the
   * memory bus) is read through it; letters whose event could not be decoded are left out.
   */
  deadLetters?: (bus: EventBus) => Promise<DeadLetterRecord[]> | DeadLetterRecord[];
  /**
   * A second connection when the factory result has no `peer`. Receives the primary bus. Without
   * either, the "second connection" cases use a second subscription on the same bus.
   */
  peer?: (bus: EventBus) => Promise<EventBus> | EventBus;
  /** Upper bound for each wait (ms); default 15,000. The suite never asserts on timing. */
  timeoutMs?: number;
  /** How long to watch for unexpected extra deliveries (ms); default 300. */
  quietMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** The bus's own `deadLetters()` capability, when it has one. */
function ownDeadLetters(bus: EventBus): (() => Promise<DeadLetterRecord[]>) | undefined {
  const read = (bus as { deadLetters?: unknown }).deadLetters;
  if (typeof read !== "function") return undefined;
  return async () => {
    const letters = (await read.call(bus)) as Array<{ event?: FleetEvent; group?: string }>;
    return letters.flatMap((d) => (d.event ? [{ event: d.event, group: d.group }] : []));
  };
}

let counter = 0;
function makeEvent(subject = `inst-${++counter}`, extra: Record<string, unknown> = {}): FleetEvent {
  return createEvent("MCPServerInstanceCreated", subject, {
    instance_id: subject,
    name: `n-${subject}`,
    generation: 1,
    json_spec: { type: "url", endpoint: "http://127.0.0.1:1/mcp" },
    ...extra,
  });
}

/**
 * The EventBus v1 conformance suite. Call it at the top level of a test file:
 * `busConformance("redis", () => ({ bus: redisBus({ url, prefix }), cleanup }))`.
 */
export function busConformance(name: string, factory: BusFactory, options: BusConformanceOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const quietMs = options.quietMs ?? 300;
  const maxDeliveries = options.maxDeliveries ?? 3;
  const cleanups: (() => Promise<void> | void)[] = [];

  async function open(): Promise<{ bus: EventBus; peer: () => Promise<EventBus> }> {
    const made = await factory();
    const ut: BusUnderTest =
      "bus" in made && typeof (made as BusUnderTest).bus === "object"
        ? (made as BusUnderTest)
        : { bus: made as EventBus };
    const extra: EventBus[] = [];
    cleanups.push(async () => {
      for (const b of extra) await b.close().catch(() => {});
      await ut.bus.close().catch(() => {});
      await ut.cleanup?.();
    });
    const peer = async (): Promise<EventBus> => {
      const made2 = ut.peer ? await ut.peer() : options.peer ? await options.peer(ut.bus) : undefined;
      if (!made2) return ut.bus;
      extra.push(made2);
      return made2;
    };
    return { bus: ut.bus, peer };
  }

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const caps = (bus: EventBus) => ({ ...bus.capabilities, ...options.capabilities });

  describe(`EventBus conformance: ${name}`, () => {
    it("declares specification v1, a name and close/asyncDispose", async () => {
      const { bus } = await open();
      expect(bus.specificationVersion).toBe("v1");
      expect(typeof bus.name).toBe("string");
      expect(bus.name.length).toBeGreaterThan(0);
      expect(typeof bus.close).toBe("function");
      expect(typeof bus[Symbol.asyncDispose]).toBe("function");
    });

    it("round-trips the CloudEvents envelope to a group subscriber, asynchronously", async () => {
      const { bus } = await open();
      const got: { event: FleetEvent; ctx: DeliveryContext }[] = [];
      await bus.subscribe({ group: "g" }, (event, ctx) => {
        got.push({ event, ctx });
      });
      const event = makeEvent(undefined, { nested: { list: [1, "two", null], flag: true }, unicode: "héllo ✓" });
      await bus.publish(event);
      await until("delivery", () => got.length === 1, timeoutMs);
      expect(got[0]?.event).toEqual(event);
      expect(got[0]?.ctx.attempt).toBe(1);
    });

    it("never delivers synchronously inside publish", async () => {
      const { bus } = await open();
      let delivered = 0;
      await bus.subscribe({ group: "g" }, () => {
        delivered++;
      });
      const p = bus.publish(makeEvent());
      expect(delivered).toBe(0);
      await p;
      await until("delivery", () => delivered === 1, timeoutMs);
    });

    it("splits events between two members of one group without losing any", async () => {
      const { bus, peer } = await open();
      const other = await peer();
      const a: string[] = [];
      const b: string[] = [];
      await bus.subscribe({ group: "workers", consumer: "a" }, async (e) => {
        a.push(e.id);
        await sleep(2);
      });
      await other.subscribe({ group: "workers", consumer: "b" }, async (e) => {
        b.push(e.id);
        await sleep(2);
      });
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) {
        const e = makeEvent();
        ids.push(e.id);
        await bus.publish(e);
      }
      await until("all 40 events", () => new Set([...a, ...b]).size === 40, timeoutMs);
      await sleep(quietMs);
      expect(new Set([...a, ...b])).toEqual(new Set(ids));
      expect(a.length + b.length).toBe(40); // each event went to exactly one member (no failures here)
      expect(a.length).toBeGreaterThan(0);
      expect(b.length).toBeGreaterThan(0);
    });

    it("gives every group all events", async () => {
      const { bus, peer } = await open();
      const other = await peer();
      const g1: string[] = [];
      const g2: string[] = [];
      await bus.subscribe({ group: "g1" }, (e) => {
        g1.push(e.id);
      });
      await other.subscribe({ group: "g2" }, (e) => {
        g2.push(e.id);
      });
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const e = makeEvent();
        ids.push(e.id);
        await bus.publish(e);
      }
      await until("both groups", () => g1.length >= 10 && g2.length >= 10, timeoutMs);
      expect(new Set(g1)).toEqual(new Set(ids));
      expect(new Set(g2)).toEqual(new Set(ids));
    });

    it("redelivers an event whose handler threw, with attempt 2", async () => {
      const { bus } = await open();
      const seen: { id: string; attempt: number }[] = [];
      await bus.subscribe({ group: "g" }, (e, ctx) => {
        seen.push({ id: e.id, attempt: ctx.attempt });
        if (ctx.attempt === 1) throw new Error("transient");
      });
      const event = makeEvent();
      await bus.publish(event);
      await until("redelivery", () => seen.length >= 2, timeoutMs);
      expect(seen[0]).toEqual({ id: event.id, attempt: 1 });
      expect(seen[1]).toEqual({ id: event.id, attempt: 2 });
      await sleep(quietMs);
      expect(seen.length).toBe(2); // acked on success: not delivered again
    });

    const deadLetterTitle = "dead-letters an event after maxDeliveries failures";
    const dlIt = options.capabilities?.deadLetter === false ? it.skip : it;
    dlIt(
      options.capabilities?.deadLetter === false
        ? `${deadLetterTitle} [not applicable: capabilities.deadLetter is false]`
        : deadLetterTitle,
      async () => {
        const { bus } = await open();
        if (!caps(bus).deadLetter) {
          throw new Error(
            "bus lacks capabilities.deadLetter: pass { capabilities: { deadLetter: false } } to busConformance",
          );
        }
        const readDead = options.deadLetters ? async () => options.deadLetters?.(bus) ?? [] : ownDeadLetters(bus);
        if (!readDead) {
          throw new Error(
            "bus declares capabilities.deadLetter but has no deadLetters() and busConformance got no `deadLetters` reader",
          );
        }
        const attempts: number[] = [];
        await bus.subscribe({ group: "dlq" }, (_e, ctx) => {
          attempts.push(ctx.attempt);
          throw new Error("permanent failure");
        });
        const event = makeEvent();
        await bus.publish(event);
        let dead: DeadLetterRecord[] = [];
        const deadline = Date.now() + timeoutMs;
        while (!dead.some((d) => d.event.id === event.id)) {
          if (Date.now() > deadline)
            throw new Error(`no dead letter after ${timeoutMs} ms (attempts ${attempts.join(",")})`);
          await sleep(50);
          dead = await readDead();
        }
        const letter = dead.find((d) => d.event.id === event.id);
        expect(letter?.event).toEqual(event);
        if (letter?.group !== undefined) expect(letter.group).toBe("dlq");
        expect(attempts).toEqual(Array.from({ length: maxDeliveries }, (_, i) => i + 1));
        await sleep(quietMs);
        expect(attempts.length).toBe(maxDeliveries);
      },
    );

    it("delivers every event to each broadcast subscription, without a group", async () => {
      const { bus, peer } = await open();
      const other = await peer();
      const x: string[] = [];
      const y: string[] = [];
      await bus.subscribe({}, (e) => {
        x.push(e.id);
      });
      await other.subscribe({}, (e) => {
        y.push(e.id);
      });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const e = makeEvent();
        ids.push(e.id);
        await bus.publish(e);
      }
      await until("broadcast", () => x.length >= 5 && y.length >= 5, timeoutMs);
      expect(x).toEqual(ids);
      expect(y).toEqual(ids);
    });

    it("stops delivery when a subscription is closed", async () => {
      const { bus } = await open();
      const got: string[] = [];
      const sub = await bus.subscribe({ group: "g" }, (e) => {
        got.push(e.id);
      });
      const bsub = await bus.subscribe({}, (e) => {
        got.push(`b:${e.id}`);
      });
      await bus.publish(makeEvent());
      await until("first delivery", () => got.length === 2, timeoutMs);
      await sub.close();
      await bsub.close();
      await sub.close(); // idempotent
      await bus.publish(makeEvent());
      await sleep(quietMs);
      expect(got.length).toBe(2);
    });

    it("redelivers a closed member's unacked event to the remaining member", async () => {
      const { bus, peer } = await open();
      const other = await peer();
      let release: (() => void) | undefined;
      const stuck = new Promise<void>((resolve) => {
        release = resolve;
      });
      const aGot: string[] = [];
      const bGot: { id: string; attempt: number }[] = [];
      const subA = await other.subscribe({ group: "g", consumer: "a" }, async (e) => {
        aGot.push(e.id);
        await stuck; // never finishes while the member closes
      });
      const event = makeEvent();
      await bus.publish(event);
      await until("member a to take the event", () => aGot.length === 1, timeoutMs);
      const closing = subA.close();
      await bus.subscribe({ group: "g", consumer: "b" }, (e, ctx) => {
        bGot.push({ id: e.id, attempt: ctx.attempt });
      });
      await until("redelivery to member b", () => bGot.some((d) => d.id === event.id), timeoutMs);
      expect(bGot[0]?.attempt).toBeGreaterThanOrEqual(2);
      release?.();
      await closing;
    });

    it("keeps order for one publisher and one subject with one consumer", async () => {
      const { bus } = await open();
      const got: number[] = [];
      await bus.subscribe({ group: "ordered" }, async (e) => {
        got.push(e.data.generation as number);
        if (got.length % 7 === 0) await sleep(1);
      });
      for (let i = 1; i <= 50; i++) await bus.publish(makeEvent("same-subject", { generation: i }));
      await until("50 ordered events", () => got.length >= 50, timeoutMs);
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it("a group only sees events published after it first subscribed", async () => {
      const { bus } = await open();
      await bus.publish(makeEvent());
      const got: string[] = [];
      await bus.subscribe({ group: "late" }, (e) => {
        got.push(e.id);
      });
      const e2 = makeEvent();
      await bus.publish(e2);
      await until("delivery", () => got.length >= 1, timeoutMs);
      await sleep(quietMs);
      expect(got).toEqual([e2.id]);
    });

    it("close() drains an in-flight handler, is idempotent, and refuses publish afterwards with CLOSED", async () => {
      const { bus } = await open();
      let finished = false;
      let started = false;
      await bus.subscribe({ group: "g" }, async () => {
        started = true;
        await sleep(100);
        finished = true;
      });
      await bus.publish(makeEvent());
      await until("handler start", () => started, timeoutMs);
      await bus.close();
      expect(finished).toBe(true);
      await bus.close();
      await expect(bus.publish(makeEvent())).rejects.toMatchObject({ code: "CLOSED" });
      await expect(bus.subscribe({ group: "g" }, () => {})).rejects.toMatchObject({ code: "CLOSED" });
    });

    it("honours AbortSignal on subscribe: aborted before refuses, aborted later stops delivery", async () => {
      const { bus } = await open();
      const pre = new AbortController();
      pre.abort();
      await expect(bus.subscribe({ group: "g", signal: pre.signal }, () => {})).rejects.toMatchObject({
        code: "ABORTED",
      });
      const ac = new AbortController();
      const got: string[] = [];
      const sub: Subscription = await bus.subscribe({ group: "g2", signal: ac.signal }, (e) => {
        got.push(e.id);
      });
      await bus.publish(makeEvent());
      await until("delivery", () => got.length === 1, timeoutMs);
      ac.abort();
      await sleep(quietMs); // the abort closes the subscription by itself
      await bus.publish(makeEvent());
      await sleep(quietMs);
      expect(got.length).toBe(1);
      await sub.close(); // still idempotent after the abort closed it
    });
  });
}
