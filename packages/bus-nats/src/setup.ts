import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { ResolvedNatsBusOptions } from "./options.js";
import { isNotFound, ns } from "./util.js";

/** Creates the stream, or updates it when its subjects/limits differ. Idempotent and race-tolerant. */
export async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  subjects: string[],
  opts: ResolvedNatsBusOptions,
  dedupe: boolean,
): Promise<void> {
  const wanted: Partial<StreamConfig> & { name: string } = {
    name,
    subjects,
    retention: RetentionPolicy.Limits,
    storage: opts.storage === "memory" ? StorageType.Memory : StorageType.File,
    max_age: ns(opts.retentionMs),
    duplicate_window: ns(
      dedupe ? Math.min(opts.duplicateWindowMs, opts.retentionMs) : Math.min(120_000, opts.retentionMs),
    ),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const info = await jsm.streams.info(name);
      const c = info.config;
      const same =
        c.subjects.length === subjects.length &&
        subjects.every((s) => c.subjects.includes(s)) &&
        c.max_age === wanted.max_age &&
        c.duplicate_window === wanted.duplicate_window;
      if (!same) {
        await jsm.streams.update(name, {
          subjects,
          max_age: wanted.max_age,
          duplicate_window: wanted.duplicate_window,
        });
      }
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await jsm.streams.add(wanted);
      return;
    } catch (err) {
      // created concurrently by another process: loop and read it
      if (attempt === 2) throw err;
    }
  }
}

/** Creates the durable pull consumer of a group (DeliverPolicy.New: events after the group's first subscription). */
export async function ensureConsumer(
  jsm: JetStreamManager,
  durable: string,
  opts: ResolvedNatsBusOptions,
): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: ns(opts.visibilityTimeoutMs),
    // one more than ours: a message that crashed its consumers maxDeliveries times arrives once more, to be dead-lettered
    max_deliver: opts.maxDeliveries + 1,
    deliver_policy: DeliverPolicy.New,
    filter_subject: `${opts.subjectPrefix}.>`,
    max_ack_pending: Math.max(1000, opts.batchSize * 10),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const info = await jsm.consumers.info(opts.stream, durable);
      if (info.config.ack_wait !== config.ack_wait || info.config.max_deliver !== config.max_deliver) {
        await jsm.consumers.update(opts.stream, durable, {
          ack_wait: config.ack_wait,
          max_deliver: config.max_deliver,
        });
      }
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await jsm.consumers.add(opts.stream, config);
      return;
    } catch (err) {
      if (attempt === 2) throw err;
    }
  }
}
