import { FleetError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { EventHandler, SubscribeOptions, Subscription } from "../plugins/bus.js";
import { errorMessage } from "./async.js";
import { checkSubscribe, RetryingPublisher, subscriptionOf } from "./bus.js";
import { adapterLogger, adapterTag } from "./options.js";

/** One subscription's consumer as a durable bus runs it. */
export interface BusConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The options of every durable bus the kit reads (a bus passes its resolved options). */
export interface DurableBusKitOptions {
  /** The bus name (`bus` in log lines and the `CLOSED` message). */
  name: string;
  maxBufferedPublishes: number;
  publishTimeoutMs: number;
  logger?: Logger;
}

/**
 * The state every durable bus keeps beside its broker client: the closed flag (`CLOSED` after
 * `close()`), the `RetryingPublisher`, and the running consumers, each started by `subscribe` and
 * stopped by its subscription or by `close()`.
 */
export class DurableBusKit {
  /** The injected logger (or a silent one) with `{ bus: name }`. */
  readonly logger: Logger;
  readonly publisher: RetryingPublisher;
  private closedFlag = false;
  private readonly consumers = new Set<BusConsumer>();

  /** `broker` is what publishes wait for, in messages (`Redis`, `JetStream`). */
  constructor(
    private readonly adapter: string,
    broker: string,
    private readonly o: DurableBusKitOptions,
  ) {
    this.logger = adapterLogger(o.logger, { bus: o.name });
    this.publisher = new RetryingPublisher({
      adapter,
      broker,
      maxBuffered: o.maxBufferedPublishes,
      publishTimeoutMs: o.publishTimeoutMs,
      logger: this.logger,
      closed: this.closedError,
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** `CLOSED` once `close()` began, else undefined. */
  readonly closedError = (): FleetError | undefined =>
    this.closedFlag
      ? new FleetError("CLOSED", `${adapterTag(this.adapter)} bus "${this.o.name}" is closed`)
      : undefined;

  /**
   * `checkSubscribe`, then `create` (its errors reach the caller as they are), then `start`: a start
   * that fails stops the consumer and is `BUS_UNAVAILABLE`. The subscription stops the consumer once.
   */
  async subscribe(
    options: SubscribeOptions,
    handler: EventHandler,
    create: () => BusConsumer | Promise<BusConsumer>,
  ): Promise<Subscription> {
    checkSubscribe(this.adapter, this.closedError, options, handler);
    const consumer = await create();
    try {
      await consumer.start();
    } catch (err) {
      await consumer.stop();
      throw new FleetError("BUS_UNAVAILABLE", `${adapterTag(this.adapter)} subscribe failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    this.consumers.add(consumer);
    return subscriptionOf(() => consumer.stop().finally(() => this.consumers.delete(consumer)), options.signal);
  }

  /** Marks the bus closed and stops every consumer; false (and nothing done) when it was closed already. */
  async close(): Promise<boolean> {
    if (this.closedFlag) return false;
    this.closedFlag = true;
    await Promise.all([...this.consumers].map((c) => c.stop()));
    this.consumers.clear();
    return true;
  }
}
