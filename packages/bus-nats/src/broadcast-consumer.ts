import type { EventHandler, Logger } from "@mcpfleet/core";
import { errorMessage, withTimeout } from "@mcpfleet/core/adapter";
import { type ConsumerMessages, DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { decodeEvent } from "./codec.js";
import type { ResolvedNatsBusOptions } from "./options.js";

/** A broadcast subscription: an ordered consumer starting right after the stream's last message. */
export class BroadcastConsumer {
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  private loopDone: Promise<void> | undefined;
  private current: Promise<void> | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly opts: ResolvedNatsBusOptions,
    private readonly handler: EventHandler,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // pin the start sequence now, so events published after subscribe() resolves are never missed
    const info = await this.jsm.streams.info(this.opts.stream);
    const consumer = await this.js.consumers.get(this.opts.stream, {
      filter_subjects: `${this.opts.subjectPrefix}.>`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: info.state.last_seq + 1,
    });
    this.messages = await consumer.consume({ max_messages: this.opts.batchSize });
    this.loopDone = this.loop(this.messages);
  }

  private async loop(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) {
        if (this.stopped) break;
        this.current = this.deliver(msg.data, msg.seq);
        await this.current;
      }
    } catch (err) {
      if (!this.stopped) this.logger.error({ err: errorMessage(err) }, "broadcast consumer stopped unexpectedly");
    }
  }

  private async deliver(data: Uint8Array, seq: number): Promise<void> {
    try {
      await this.handler(decodeEvent(data), { attempt: 1, messageId: String(seq) });
    } catch (err) {
      this.logger.warn({ seq, err: errorMessage(err) }, "broadcast handler threw");
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.current) await withTimeout(this.current, this.opts.closeTimeoutMs, undefined);
    await this.messages?.close().catch(() => undefined);
    await withTimeout(this.loopDone ?? Promise.resolve(), 2000, undefined);
  }
}
