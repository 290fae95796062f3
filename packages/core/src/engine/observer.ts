import type { FleetEvent } from "../events.js";
import type { Logger } from "../logger.js";
import type { EventObservation, FleetObserver, ReconcileObservation } from "./fleet-types.js";

/** The engine's side of a {@link FleetObserver}: never throws, costs nothing when no hook is set. */
export interface Observe {
  readonly reconciles: boolean;
  reconciled(observation: ReconcileObservation): void;
  eventReceived(event: FleetEvent, consumer: EventObservation["consumer"]): void;
}

export function observerFor(observer: FleetObserver | undefined, logger: Logger): Observe {
  const call = <T>(hook: ((o: T) => void) | undefined, o: T, name: string) => {
    if (!hook) return;
    try {
      hook.call(observer, o);
    } catch (err) {
      logger.warn({ hook: name, err: err instanceof Error ? err.message : String(err) }, "observer hook threw");
    }
  };
  return {
    reconciles: typeof observer?.reconciled === "function",
    reconciled: (o) => call(observer?.reconciled, o, "reconciled"),
    eventReceived(event, consumer) {
      if (!observer?.eventReceived) return;
      const sent = Date.parse(event.time);
      const lagMs = Number.isFinite(sent) ? Math.max(0, Date.now() - sent) : 0;
      call(observer.eventReceived, { type: event.type, lagMs, consumer }, "eventReceived");
    },
  };
}
