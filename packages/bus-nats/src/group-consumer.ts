import type { DeliveryContext, EventHandler, Logger } from "@mcpfleet/core";
import { backoffDelay, errorMessage, withTimeout } from "@mcpfleet/core/adapter";
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { decodeEvent } from "./codec.js";
import type { ResolvedNatsBusOptions } from "./options.js";
import { ensureConsumer } from "./setup.js";

/**
 * One member of a group: pulls from the group's durable consumer, acks after the handler succeeds,
 * naks with a backoff delay when it throws, dead-letters after `maxDeliveries`.
 */
export class GroupConsumer {
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  private loopDone: Promise<void> | undefined;
  private current: { msg: JsMsg; done: Promise<void>; beat: ReturnType<typeof setInterval> } | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly opts: ResolvedNatsBusOptions,
    readonly group: string,
    private readonly durable: string,
    private readonly handler: EventHandler,
    logger: Logger,
  ) {
    this.logger = logger.child({ group });
  }

  /** Creates (or updates) the group's durable consumer, then pulls from it. */
  async start(): Promise<void> {
    await ensureConsumer(this.jsm, this.durable, this.opts);
    const consumer = await this.js.consumers.get(this.opts.stream, this.durable);
    this.messages = await consumer.consume({ max_messages: this.opts.batchSize });
    this.loopDone = this.loop(this.messages);
  }

  private async loop(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) {
        if (this.stopped) {
          msg.nak(); // back to the group right away
          continue;
        }
        // in-progress heartbeats: a live member's slow handler keeps its message (ack_wait restarts)
        const beat = setInterval(() => msg.working(), Math.max(50, Math.floor(this.opts.visibilityTimeoutMs / 3)));
        const done = this.handle(msg).finally(() => clearInterval(beat));
        this.current = { msg, done, beat };
        await done;
        this.current = undefined;
      }
    } catch (err) {
      if (!this.stopped) this.logger.error({ err: errorMessage(err) }, "consumer stopped unexpectedly");
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const attempt = msg.info.deliveryCount;
    let event: ReturnType<typeof decodeEvent>;
    try {
      event = decodeEvent(msg.data);
    } catch (err) {
      await this.deadLetter(msg, attempt, errorMessage(err));
      return;
    }
    if (attempt > this.opts.maxDeliveries) {
      await this.deadLetter(msg, attempt - 1, "delivery limit reached without acknowledgement", event.id);
      return;
    }
    const context: DeliveryContext = { attempt, messageId: String(msg.seq) };
    try {
      await this.handler(event, context);
    } catch (err) {
      if (attempt >= this.opts.maxDeliveries) {
        await this.deadLetter(msg, attempt, errorMessage(err), event.id);
      } else {
        const delay = backoffDelay(attempt - 1, {
          baseMs: this.opts.redeliveryDelayMs,
          maxMs: this.opts.maxRedeliveryDelayMs,
          jitter: "none",
        });
        this.logger.debug({ eventId: event.id, attempt, delay }, "handler failed, nak with delay");
        msg.nak(delay);
      }
      return;
    }
    msg.ack();
  }

  private async deadLetter(msg: JsMsg, attempts: number, error: string, eventId?: string): Promise<void> {
    const h = headers();
    h.set("Mcpfleet-Group", this.group);
    h.set("Mcpfleet-Attempts", String(attempts));
    h.set("Mcpfleet-Error", error.slice(0, 500).replace(/[\r\n]+/g, " "));
    h.set("Mcpfleet-Source-Seq", String(msg.seq));
    h.set("Mcpfleet-At", new Date().toISOString());
    try {
      await this.js.publish(`${this.opts.deadLetterSubject}.${this.durable}`, msg.data, {
        headers: h,
        msgID: `${eventId ?? msg.seq}:${this.durable}`,
        timeout: this.opts.publishTimeoutMs,
      });
      msg.term(`dead-lettered: ${error.slice(0, 100)}`);
      this.logger.warn({ eventId, seq: msg.seq, attempts }, "event dead-lettered");
    } catch (err) {
      this.logger.error(
        { err: errorMessage(err), seq: msg.seq },
        "dead-letter publish failed; message will be redelivered",
      );
      msg.nak(this.opts.redeliveryDelayMs);
    }
  }

  /** Stops pulling; the in-flight handler finishes (bounded) or its message is nak'ed for another member. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const current = this.current;
    if (current) {
      const finished = await withTimeout(
        current.done.then(() => true),
        this.opts.closeTimeoutMs,
        false,
      );
      if (!finished) {
        clearInterval(current.beat);
        this.current = undefined;
        this.logger.warn({ seq: current.msg.seq }, "handler still running at close; message returned to the group");
        current.msg.nak();
      }
    }
    await this.messages?.close().catch(() => undefined);
    await withTimeout(this.loopDone ?? Promise.resolve(), 2000, undefined);
  }
}
