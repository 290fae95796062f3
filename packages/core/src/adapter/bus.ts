import { FleetError, throwIfAborted } from "../errors.js";
import { type FleetEvent, isFleetEventType } from "../events.js";
import type { Logger } from "../logger.js";
import type { EventHandler, SubscribeOptions, Subscription } from "../plugins/bus.js";
import type { CallOptions } from "../plugins/common.js";
import { backoffDelay } from "../util/async.js";
import { errorMessage, pause } from "./async.js";
import { adapterTag } from "./options.js";

/** A consumer group name every bus accepts. */
export const GROUP_NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

/**
 * Checks a decoded message: `SPEC_INVALID` at `path` unless it has the shape of a `FleetEvent`
 * (`what` names the carrier in the message: "message", "stream entry").
 */
export function asFleetEvent(value: unknown, what: string, path: string): FleetEvent {
  const e = value as Partial<FleetEvent> | null;
  if (
    !e ||
    typeof e !== "object" ||
    typeof e.id !== "string" ||
    !isFleetEventType(e.type) ||
    typeof e.subject !== "string"
  ) {
    throw new FleetError("SPEC_INVALID", `${what} is not a CloudEvents FleetEvent`, { path });
  }
  return e as FleetEvent;
}

/** JSON text to a `FleetEvent` (`SPEC_INVALID` at `path` for bad JSON or shape). */
export function decodeFleetEvent(json: string, what: string, path: string): FleetEvent {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new FleetError("SPEC_INVALID", `${what} is not JSON`, { path, cause: err });
  }
  return asFleetEvent(value, what, path);
}

/** The checks every `subscribe` makes before touching the broker. */
export function checkSubscribe(
  adapter: string,
  closed: () => FleetError | undefined,
  options: SubscribeOptions,
  handler: EventHandler,
): void {
  const err = closed();
  if (err) throw err;
  throwIfAborted(options?.signal);
  if (typeof handler !== "function") {
    throw new FleetError("OPTIONS_INVALID", `${adapterTag(adapter)} subscribe handler must be a function`, {
      path: "handler",
    });
  }
  const { group } = options;
  if (group !== undefined && (typeof group !== "string" || !GROUP_NAME.test(group))) {
    throw new FleetError("OPTIONS_INVALID", `${adapterTag(adapter)} option "group" must match [A-Za-z0-9_.:-]{1,200}`, {
      path: "group",
    });
  }
}

/** A `Subscription` that stops `consumer` once (on `close()`, dispose, or the signal aborting). */
export function subscriptionOf(stop: () => Promise<void>, signal?: AbortSignal): Subscription {
  let closing: Promise<void> | undefined;
  const onAbort = () => void sub.close();
  const sub: Subscription = {
    close: () => {
      signal?.removeEventListener("abort", onAbort);
      closing ??= stop();
      return closing;
    },
    [Symbol.asyncDispose]: () => sub.close(),
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  return sub;
}

export interface PublisherOptions {
  adapter: string;
  /** What publishes wait for, in messages (`Redis`, `JetStream`). */
  broker: string;
  maxBuffered: number;
  publishTimeoutMs: number;
  logger: Logger;
  closed: () => FleetError | undefined;
}

/**
 * The publish path of a durable bus: refuses when closed or when `maxBuffered` publishes are already
 * waiting (`BUFFER_FULL`, retryable), then retries `send` with capped exponential backoff until it
 * succeeds or `publishTimeoutMs` passes (`BUS_UNAVAILABLE`). `send` must be idempotent per event id.
 */
export class RetryingPublisher {
  private waiting = 0;

  constructor(private readonly o: PublisherOptions) {}

  get buffered(): number {
    return this.waiting;
  }

  /**
   * `encode` runs once after the checks (a throw there is the caller's error, not retried); `before`
   * once after the event counts as buffered (connect); `send` on every attempt, with the deadline.
   */
  async publish<P>(
    event: FleetEvent,
    options: CallOptions | undefined,
    steps: {
      encode: (event: FleetEvent) => P;
      before?: () => Promise<void>;
      send: (payload: P, deadline: number) => Promise<void>;
    },
  ): Promise<void> {
    const { o } = this;
    const closedErr = o.closed();
    if (closedErr) throw closedErr;
    throwIfAborted(options?.signal);
    if (!event || typeof event !== "object" || typeof event.id !== "string" || typeof event.type !== "string") {
      throw new FleetError("SPEC_INVALID", `${adapterTag(o.adapter)} publish needs a FleetEvent`, { path: "event" });
    }
    if (this.waiting >= o.maxBuffered) {
      throw new FleetError(
        "BUFFER_FULL",
        `${adapterTag(o.adapter)} ${this.waiting} publishes are waiting for ${o.broker} (maxBufferedPublishes); event ${event.id} not published`,
        { isRetryable: true, details: { eventId: event.id } },
      );
    }
    const payload = steps.encode(event);
    this.waiting++;
    try {
      await steps.before?.();
      const deadline = Date.now() + o.publishTimeoutMs;
      for (let attempt = 1; ; attempt++) {
        let failure: unknown;
        try {
          await steps.send(payload, deadline);
          return;
        } catch (err) {
          failure = err;
        }
        if (Date.now() >= deadline || o.closed() || options?.signal?.aborted) {
          throw new FleetError(
            "BUS_UNAVAILABLE",
            `${adapterTag(o.adapter)} publish of event ${event.id} failed: ${errorMessage(failure)}`,
            { cause: failure, details: { eventId: event.id, attempts: attempt } },
          );
        }
        o.logger.debug({ eventId: event.id, attempt, err: errorMessage(failure) }, "publish failed, retrying");
        const wait = backoffDelay(attempt, { baseMs: 20, maxMs: 1000, jitter: "none" });
        await pause(Math.min(wait, Math.max(0, deadline - Date.now())), options?.signal);
      }
    } finally {
      this.waiting--;
    }
  }
}
