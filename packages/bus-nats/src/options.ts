import type { Logger } from "@mcpfleet/core";
import { isLogger, LOGGER_MESSAGE, optionsError, parseOptions } from "@mcpfleet/core/adapter";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";

export interface NatsBusOptions {
  /** Server URL(s); default `nats://127.0.0.1:4222`. Ignored when `connection` is given. */
  servers?: string | string[];
  /** A connection to use (not closed by the bus). */
  connection?: NatsConnection;
  /** JetStream stream name; default `MCPFLEET_EVENTS`. */
  stream?: string;
  /** Subject prefix; events go to `<prefix>.<type>`, the stream holds `<prefix>.>`; default `mcpfleet.events`. */
  subjectPrefix?: string;
  /** Stream of dead letters; default `<stream>_DEAD`. */
  deadLetterStream?: string;
  /** Dead letters go to `<deadLetterSubject>.<group>`; default `mcpfleet.dead`. */
  deadLetterSubject?: string;
  /** Adapter name; default `nats`. */
  name?: string;
  /** Deliveries per group before the dead-letter subject; default 5. */
  maxDeliveries?: number;
  /** ack_wait of the durable consumers: an unacked message is redelivered after it; default 30,000 ms. */
  visibilityTimeoutMs?: number;
  /** First redelivery delay after a handler throws (nak delay); doubles per attempt; default 100 ms. */
  redeliveryDelayMs?: number;
  /** Cap of the redelivery delay; default 10,000 ms. */
  maxRedeliveryDelayMs?: number;
  /** Messages pulled per request; default 100. */
  batchSize?: number;
  /** Stream max_age; default 7 days. */
  retentionMs?: number;
  /** Publish de-duplication window (Nats-Msg-Id = event id); default 120,000 ms. */
  duplicateWindowMs?: number;
  /** `file` (default) or `memory` stream storage. */
  storage?: "file" | "memory";
  /** A publish retries until this deadline, then fails with BUS_UNAVAILABLE; default 10,000 ms. */
  publishTimeoutMs?: number;
  /** Publishes waiting for JetStream at once; past it publish fails with BUFFER_FULL; default 10,000. */
  maxBufferedPublishes?: number;
  /** Bounded wait for in-flight handlers on close; default 5,000 ms. */
  closeTimeoutMs?: number;
  logger?: Logger;
}

const token = /^[A-Za-z0-9_-]+$/;
const subject = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

const schema = z
  .object({
    servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    connection: z
      .custom<NatsConnection>(
        (v) => typeof v === "object" && v !== null && typeof (v as NatsConnection).request === "function",
        {
          message: "must be a NatsConnection",
        },
      )
      .optional(),
    stream: z.string().regex(token, "must be a stream name ([A-Za-z0-9_-]+)").optional(),
    subjectPrefix: z
      .string()
      .regex(subject, "must be a literal subject (tokens [A-Za-z0-9_-] joined by dots)")
      .optional(),
    deadLetterStream: z.string().regex(token, "must be a stream name ([A-Za-z0-9_-]+)").optional(),
    deadLetterSubject: z.string().regex(subject, "must be a literal subject").optional(),
    name: z.string().min(1).optional(),
    maxDeliveries: z.number().int().min(1).max(1000).optional(),
    visibilityTimeoutMs: z.number().int().min(100).optional(),
    redeliveryDelayMs: z.number().min(0).optional(),
    maxRedeliveryDelayMs: z.number().min(0).optional(),
    batchSize: z.number().int().min(1).max(10_000).optional(),
    retentionMs: z.number().int().min(1000).optional(),
    duplicateWindowMs: z.number().int().min(100).optional(),
    storage: z.enum(["file", "memory"]).optional(),
    publishTimeoutMs: z.number().int().min(1).optional(),
    maxBufferedPublishes: z.number().int().min(1).optional(),
    closeTimeoutMs: z.number().int().min(0).optional(),
    logger: z.custom<Logger>(isLogger, { message: LOGGER_MESSAGE }).optional(),
  })
  .strict();

export type ResolvedNatsBusOptions = Required<Omit<NatsBusOptions, "connection" | "logger" | "servers">> & {
  servers: string[];
  connection: NatsConnection | undefined;
  logger: Logger | undefined;
};

/** Validates options (never echoing values: server URLs may hold credentials) and applies defaults. */
export function resolveOptions(options: NatsBusOptions): ResolvedNatsBusOptions {
  if (options === null) throw optionsError("bus-nats", "", "options must be an object");
  parseOptions("bus-nats", schema, options);
  const stream = options.stream ?? "MCPFLEET_EVENTS";
  const servers = options.servers ?? "nats://127.0.0.1:4222";
  return {
    servers: Array.isArray(servers) ? servers : [servers],
    connection: options.connection,
    stream,
    subjectPrefix: options.subjectPrefix ?? "mcpfleet.events",
    deadLetterStream: options.deadLetterStream ?? `${stream}_DEAD`,
    deadLetterSubject: options.deadLetterSubject ?? "mcpfleet.dead",
    name: options.name ?? "nats",
    maxDeliveries: options.maxDeliveries ?? 5,
    visibilityTimeoutMs: options.visibilityTimeoutMs ?? 30_000,
    redeliveryDelayMs: options.redeliveryDelayMs ?? 100,
    maxRedeliveryDelayMs: options.maxRedeliveryDelayMs ?? 10_000,
    batchSize: options.batchSize ?? 100,
    retentionMs: options.retentionMs ?? 7 * 24 * 3600 * 1000,
    duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
    storage: options.storage ?? "file",
    publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
    maxBufferedPublishes: options.maxBufferedPublishes ?? 10_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5000,
    logger: options.logger,
  };
}
