import type { FleetEvent } from "../events.js";
import type { CallOptions, PluginV1 } from "./common.js";

export interface DeliveryContext {
  /** 1 on first delivery, then 2, 3, ... on redelivery. */
  attempt: number;
  /** Adapter-specific message id (stream entry id, JetStream sequence). */
  messageId?: string;
}

export type EventHandler = (event: FleetEvent, context: DeliveryContext) => void | Promise<void>;

export interface SubscribeOptions extends CallOptions {
  /**
   * Consumer group. Within one group each event goes to one subscriber (competing consumers),
   * acknowledged when the handler resolves, redelivered (to any member) when it throws or the
   * subscriber dies before acking, dead-lettered after `maxDeliveries`. Each group sees every
   * event published after the group first subscribed. Omit for a broadcast subscription: every
   * event published while subscribed, no acks, nothing kept.
   */
  group?: string;
  /** Name of this member of the group; defaults to a random id. */
  consumer?: string;
}

export interface Subscription {
  /** Stops receiving; in-flight handlers finish first (bounded). Unacked events are redelivered. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface BusCapabilities {
  /** Survives process and broker restarts (Redis Streams, JetStream); false for memory. */
  durable?: boolean;
  deadLetter?: boolean;
}

/** At-least-once event delivery. Consumers must tolerate duplicates (dedupe by `event.id` if needed). */
export interface EventBus extends PluginV1 {
  readonly capabilities?: BusCapabilities;
  publish(event: FleetEvent, options?: CallOptions): Promise<void>;
  subscribe(options: SubscribeOptions, handler: EventHandler): Promise<Subscription>;
}

/** One dead-lettered event as a durable bus keeps it (the event is undefined when it could not be decoded). */
export interface StoredDeadLetter {
  event: FleetEvent | undefined;
  /** Consumer group whose deliveries ran out. */
  group: string;
  attempts: number;
  /** Message of the last error (never the event data). */
  error: string;
  at: string;
}

/** What the durable buses (Redis Streams, NATS JetStream) add to `EventBus`. */
export interface DurableEventBus<D extends StoredDeadLetter = StoredDeadLetter> extends EventBus {
  /** Dead letters, oldest first. */
  deadLetters(options?: { count?: number }): Promise<D[]>;
  /** Publishes waiting for the broker right now. */
  readonly bufferedPublishes: number;
}
