import { z } from "zod";
import { parseOptions } from "../adapter/options.js";
import { FleetError, throwIfAborted, toFleetError } from "../errors.js";
import type { FleetEvent } from "../events.js";
import { type Logger, silentLogger } from "../logger.js";
import type { DeliveryContext, EventBus, EventHandler, SubscribeOptions, Subscription } from "../plugins/bus.js";
import type { CallOptions } from "../plugins/common.js";
import { backoffDelay } from "../util/async.js";

export interface MemoryBusOptions {
  name?: string;
  /** Deliveries of one event to a group before it is dead-lettered; default 5. */
  maxDeliveries?: number;
  /** First redelivery delay after a handler throws (ms); doubles per attempt; default 10. */
  redeliveryDelayMs?: number;
  /** Cap of the redelivery delay (ms); default 1000. */
  maxRedeliveryDelayMs?: number;
  /** Bounded wait for in-flight handlers on `close()` (ms); default 5000. */
  closeTimeoutMs?: number;
  /** Events kept per group while no member keeps up; the oldest is dropped past it (warned). Default 100,000. */
  maxQueuedPerGroup?: number;
  /** Dead letters kept (oldest dropped first); default 10,000. */
  maxDeadLetters?: number;
  logger?: Logger;
}

/** An event that failed `maxDeliveries` times in one group. */
export interface DeadLetter {
  event: FleetEvent;
  group: string;
  attempts: number;
  /** Message of the last error (never the event data). */
  error: string;
  at: string;
}

export interface MemoryBus extends EventBus {
  /** Events that exhausted their deliveries, oldest first. */
  deadLetters(): DeadLetter[];
  /** Events waiting or in flight, summed over groups (tests, benchmarks). */
  pending(): number;
}

const optionsSchema = z
  .object({
    name: z.string().min(1).optional(),
    maxDeliveries: z.number().int().min(1).optional(),
    redeliveryDelayMs: z.number().min(0).optional(),
    maxRedeliveryDelayMs: z.number().min(0).optional(),
    closeTimeoutMs: z.number().min(0).optional(),
    maxQueuedPerGroup: z.number().int().min(1).optional(),
    maxDeadLetters: z.number().int().min(0).optional(),
    logger: z.custom<Logger>((v) => typeof v === "object" && v !== null).optional(),
  })
  .strict();

interface Delivery {
  event: FleetEvent;
  attempt: number;
  seq: number;
}

/** A FIFO with O(1) shift. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

interface Member {
  name: string;
  handler: EventHandler;
  busy: boolean;
  closed: boolean;
  current: Delivery | undefined;
  done: Promise<void> | undefined;
}

interface Group {
  name: string;
  /** Broadcast subscriptions are private one-member groups without redelivery. */
  broadcast: boolean;
  queue: Fifo<Delivery>;
  members: Member[];
  next: number;
  inFlight: number;
  retrying: number;
}

/**
 * An in-process EventBus with the full v1 semantics: competing consumers per group, acks on
 * handler success, redelivery with backoff, dead letters after `maxDeliveries`, broadcast
 * subscriptions. Not durable: everything is gone when the process exits.
 */
export function memoryBus(options: MemoryBusOptions = {}): MemoryBus {
  parseOptions("memory-bus", optionsSchema, options);
  const name = options.name ?? "memory";
  const maxDeliveries = options.maxDeliveries ?? 5;
  const baseDelay = options.redeliveryDelayMs ?? 10;
  const maxDelay = options.maxRedeliveryDelayMs ?? 1000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  const maxQueued = options.maxQueuedPerGroup ?? 100_000;
  const maxDeadLetters = options.maxDeadLetters ?? 10_000;
  const logger = (options.logger ?? silentLogger()).child({ bus: name });

  const groups = new Map<string, Group>();
  const broadcasts = new Set<Group>();
  const dead: DeadLetter[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const dirty = new Set<Group>();
  let seq = 0;
  let closed = false;
  let scheduled = false;
  let broadcastSeq = 0;

  const schedule = (group: Group): void => {
    dirty.add(group);
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(flush);
  };

  function flush(): void {
    scheduled = false;
    const list = [...dirty];
    dirty.clear();
    for (const g of list) dispatch(g);
  }

  function enqueue(group: Group, delivery: Delivery): void {
    if (group.queue.size >= maxQueued) {
      const dropped = group.queue.shift();
      logger.warn(
        { group: group.name, eventId: dropped?.event.id },
        "memory bus group queue full, oldest event dropped",
      );
    }
    group.queue.push(delivery);
    schedule(group);
  }

  function dispatch(group: Group): void {
    const count = group.members.length;
    if (count === 0) return;
    while (group.queue.size > 0) {
      let member: Member | undefined;
      for (let i = 0; i < count; i++) {
        const m = group.members[(group.next + i) % count];
        if (m && !m.busy && !m.closed) {
          member = m;
          group.next = (group.next + i + 1) % count;
          break;
        }
      }
      if (!member) return;
      const delivery = group.queue.shift();
      if (!delivery) return;
      run(group, member, delivery);
    }
  }

  function run(group: Group, member: Member, delivery: Delivery): void {
    member.busy = true;
    member.current = delivery;
    group.inFlight++;
    const context: DeliveryContext = { attempt: delivery.attempt, messageId: String(delivery.seq) };
    let result: void | Promise<void>;
    try {
      result = member.handler(delivery.event, context);
    } catch (err) {
      settle(group, member, delivery, err, true);
      return;
    }
    if (result && typeof (result as Promise<void>).then === "function") {
      member.done = (result as Promise<void>).then(
        () => settle(group, member, delivery, undefined, false),
        (err: unknown) => settle(group, member, delivery, err, true),
      );
    } else {
      settle(group, member, delivery, undefined, false);
    }
  }

  function settle(group: Group, member: Member, delivery: Delivery, err: unknown, failed: boolean): void {
    if (member.current !== delivery) return; // abandoned on close timeout, already requeued
    member.current = undefined;
    member.done = undefined;
    member.busy = false;
    group.inFlight--;
    if (failed) onFailure(group, delivery, err);
    if (!member.closed) schedule(group);
  }

  function onFailure(group: Group, delivery: Delivery, err: unknown): void {
    const message = toFleetError(err).message;
    if (group.broadcast) {
      logger.warn({ eventId: delivery.event.id, err: message }, "broadcast handler threw");
      return;
    }
    if (delivery.attempt >= maxDeliveries) {
      dead.push({
        event: delivery.event,
        group: group.name,
        attempts: delivery.attempt,
        error: message,
        at: new Date().toISOString(),
      });
      if (dead.length > maxDeadLetters) dead.shift();
      logger.warn({ eventId: delivery.event.id, group: group.name, attempts: delivery.attempt }, "event dead-lettered");
      return;
    }
    const delay = backoffDelay(delivery.attempt - 1, { baseMs: baseDelay, maxMs: maxDelay, jitter: "none" });
    group.retrying++;
    const timer = setTimeout(() => {
      timers.delete(timer);
      group.retrying--;
      if (closed) return;
      enqueue(group, { ...delivery, attempt: delivery.attempt + 1 });
    }, delay);
    timers.add(timer);
  }

  async function closeMember(group: Group, member: Member): Promise<void> {
    if (member.closed) return;
    member.closed = true;
    const idx = group.members.indexOf(member);
    if (idx >= 0) group.members.splice(idx, 1);
    if (group.next >= group.members.length) group.next = 0;
    if (member.done) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        member.done.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), closeTimeoutMs);
        }),
      ]);
      if (timer) clearTimeout(timer);
      const stuck = member.current;
      if (timedOut && stuck) {
        // give up on the handler: its event is unacked, so another member gets it
        member.current = undefined;
        member.busy = false;
        group.inFlight--;
        logger.warn({ eventId: stuck.event.id, group: group.name }, "handler still running at close, event requeued");
        if (!group.broadcast) enqueue(group, { ...stuck, attempt: stuck.attempt + 1 });
      }
    }
    if (group.broadcast) broadcasts.delete(group);
    else schedule(group);
  }

  const bus: MemoryBus = {
    specificationVersion: "v1",
    name,
    capabilities: { durable: false, deadLetter: true },

    async publish(event: FleetEvent, callOptions?: CallOptions): Promise<void> {
      if (closed) throw new FleetError("CLOSED", `[mcpfleet/memory-bus] bus "${name}" is closed`);
      throwIfAborted(callOptions?.signal);
      const s = ++seq;
      for (const g of groups.values()) enqueue(g, { event, attempt: 1, seq: s });
      for (const g of broadcasts) enqueue(g, { event, attempt: 1, seq: s });
    },

    async subscribe(subOptions: SubscribeOptions, handler: EventHandler): Promise<Subscription> {
      if (closed) throw new FleetError("CLOSED", `[mcpfleet/memory-bus] bus "${name}" is closed`);
      throwIfAborted(subOptions.signal);
      if (typeof handler !== "function") {
        throw new FleetError("OPTIONS_INVALID", "[mcpfleet/memory-bus] subscribe handler must be a function", {
          path: "handler",
        });
      }
      if (subOptions.group !== undefined && (typeof subOptions.group !== "string" || subOptions.group === "")) {
        throw new FleetError("OPTIONS_INVALID", '[mcpfleet/memory-bus] option "group" must be a non-empty string', {
          path: "group",
        });
      }
      let group: Group;
      if (subOptions.group === undefined) {
        group = newGroup(`broadcast-${++broadcastSeq}`, true);
        broadcasts.add(group);
      } else {
        const existing = groups.get(subOptions.group);
        group = existing ?? newGroup(subOptions.group, false);
        if (!existing) groups.set(group.name, group);
      }
      const member: Member = {
        name: subOptions.consumer ?? `c-${Math.random().toString(36).slice(2, 10)}`,
        handler,
        busy: false,
        closed: false,
        current: undefined,
        done: undefined,
      };
      group.members.push(member);
      schedule(group);
      let closing: Promise<void> | undefined;
      const onAbort = () => void sub.close();
      const sub: Subscription = {
        close: () => {
          subOptions.signal?.removeEventListener("abort", onAbort);
          closing ??= closeMember(group, member);
          return closing;
        },
        [Symbol.asyncDispose]: () => sub.close(),
      };
      subOptions.signal?.addEventListener("abort", onAbort, { once: true });
      return sub;
    },

    deadLetters: () => [...dead],

    pending: () => {
      let n = 0;
      for (const g of groups.values()) n += g.queue.size + g.inFlight + g.retrying;
      return n;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const all: Promise<void>[] = [];
      for (const g of [...groups.values(), ...broadcasts]) {
        for (const m of [...g.members]) all.push(closeMember(g, m));
      }
      await Promise.all(all);
      groups.clear();
      broadcasts.clear();
    },

    [Symbol.asyncDispose]: () => bus.close(),
  };

  function newGroup(groupName: string, broadcast: boolean): Group {
    return { name: groupName, broadcast, queue: new Fifo(), members: [], next: 0, inFlight: 0, retrying: 0 };
  }

  return bus;
}
