import { toFleetError } from "../errors.js";
import { createEvent, type FleetEvent, type FleetEventData, type FleetEventType } from "../events.js";
import type { Logger } from "../logger.js";
import type { EventBus, Subscription } from "../plugins/bus.js";
import type { Observe } from "./observer.js";

/** Covers the window between publishing an event and its echo from the bus (dedupe only). */
const SEEN_LIMIT = 4096;

/**
 * Publishes fleet events on the bus and delivers them to local listeners. Events published by other
 * processes reach local listeners through a broadcast subscription; ids seen recently are not
 * delivered twice.
 */
export class EventHub {
  private readonly listeners = new Set<(event: FleetEvent) => void>();
  private readonly seen = new Set<string>();
  private subscription: Subscription | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly source: string,
    private readonly logger: Logger,
    private readonly observe: Observe,
  ) {}

  async start(signal: AbortSignal): Promise<void> {
    if (this.subscription) return;
    this.subscription = await this.bus.subscribe({ signal }, (event) => {
      this.observe.eventReceived(event, "listeners");
      this.deliver(event);
    });
  }

  subscribe(listener: (event: FleetEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async publish(type: FleetEventType, subject: string, data: FleetEventData): Promise<FleetEvent> {
    const event = createEvent(type, subject, data, { source: this.source });
    this.deliver(event);
    try {
      await this.bus.publish(event);
    } catch (err) {
      // the store already holds the change; resync converges without the notification
      this.logger.warn({ eventId: event.id, type, subject, err: toFleetError(err).toJSON() }, "event publish failed");
    }
    return event;
  }

  async close(): Promise<void> {
    await this.subscription?.close().catch(() => {});
    this.subscription = undefined;
    this.listeners.clear();
  }

  private deliver(event: FleetEvent): void {
    if (this.seen.has(event.id)) return;
    this.seen.add(event.id);
    if (this.seen.size > SEEN_LIMIT) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.logger.warn({ eventId: event.id, err: toFleetError(err).toJSON() }, "event listener threw");
      }
    }
  }
}
