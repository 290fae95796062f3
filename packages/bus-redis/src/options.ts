import type { Logger } from "@mcpfleet/core";
import { isLogger, LOGGER_MESSAGE, optionsError, parseOptions } from "@mcpfleet/core/adapter";
import type { Redis } from "ioredis";
import { z } from "zod";

export interface RedisBusOptions {
  /** `redis://host:port/db`; default `redis://127.0.0.1:6379`. Ignored when `client` is given. */
  url?: string;
  /** An ioredis client to use (not closed by the bus). Blocking reads use `client.duplicate()`. */
  client?: Redis;
  /** Key prefix of every key the bus writes; default `mcpfleet:`. */
  prefix?: string;
  /** Adapter name; default `redis`. */
  name?: string;
  /** Deliveries per group before an event goes to the dead-letter stream; default 5. */
  maxDeliveries?: number;
  /** An unacked entry idle longer than this moves to a live member (XAUTOCLAIM); default 30,000 ms. */
  visibilityTimeoutMs?: number;
  /** First redelivery delay after a handler throws; doubles per attempt; default 100 ms. */
  redeliveryDelayMs?: number;
  /** Cap of the redelivery delay; default 10,000 ms (and never above half the visibility timeout). */
  maxRedeliveryDelayMs?: number;
  /** XREADGROUP/XREAD BLOCK time; default 1,000 ms. */
  blockMs?: number;
  /** Entries read per XREADGROUP; default 100. */
  batchSize?: number;
  /** Entries older than this may be trimmed (never while pending or unread in a group); default 7 days. */
  retentionMs?: number;
  /** How often the bus trims (0 = never, call `trim()` yourself); default 60,000 ms. */
  trimIntervalMs?: number;
  /** A publish retries until this deadline, then fails with BUS_UNAVAILABLE; default 10,000 ms. */
  publishTimeoutMs?: number;
  /** Publishes waiting for Redis at once; past it publish fails with BUFFER_FULL; default 10,000. */
  maxBufferedPublishes?: number;
  /** Bounded wait for in-flight handlers on close; default 5,000 ms. */
  closeTimeoutMs?: number;
  /** Dead letters kept in the dead-letter stream (approximate MAXLEN); default 10,000. */
  maxDeadLetters?: number;
  logger?: Logger;
}

const schema = z
  .object({
    url: z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
      .optional(),
    client: z.custom<Redis>(
      (v) => typeof v === "object" && v !== null && typeof (v as Redis).duplicate === "function",
      {
        message: "must be an ioredis client",
      },
    ),
    prefix: z.string().max(200).optional(),
    name: z.string().min(1).optional(),
    maxDeliveries: z.number().int().min(1).max(1000).optional(),
    visibilityTimeoutMs: z.number().int().min(10).optional(),
    redeliveryDelayMs: z.number().min(0).optional(),
    maxRedeliveryDelayMs: z.number().min(0).optional(),
    blockMs: z.number().int().min(1).optional(),
    batchSize: z.number().int().min(1).max(10_000).optional(),
    retentionMs: z.number().int().min(1).optional(),
    trimIntervalMs: z.number().int().min(0).optional(),
    publishTimeoutMs: z.number().int().min(1).optional(),
    maxBufferedPublishes: z.number().int().min(1).optional(),
    closeTimeoutMs: z.number().int().min(0).optional(),
    maxDeadLetters: z.number().int().min(1).optional(),
    logger: z.custom<Logger>(isLogger, { message: LOGGER_MESSAGE }).optional(),
  })
  .partial({ client: true })
  .strict();

export type ResolvedRedisBusOptions = Required<Omit<RedisBusOptions, "client" | "url" | "logger">> & {
  url: string;
  client: Redis | undefined;
  logger: Logger | undefined;
};

/** Validates options (never echoing values: they may hold credentials) and applies defaults. */
export function resolveOptions(options: RedisBusOptions): ResolvedRedisBusOptions {
  if (options === null) throw optionsError("bus-redis", "", "options must be an object");
  parseOptions("bus-redis", schema, options);
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
  return {
    url: options.url ?? "redis://127.0.0.1:6379",
    client: options.client,
    prefix: options.prefix ?? "mcpfleet:",
    name: options.name ?? "redis",
    maxDeliveries: options.maxDeliveries ?? 5,
    visibilityTimeoutMs,
    redeliveryDelayMs: options.redeliveryDelayMs ?? 100,
    maxRedeliveryDelayMs: Math.min(options.maxRedeliveryDelayMs ?? 10_000, visibilityTimeoutMs / 2),
    blockMs: options.blockMs ?? 1000,
    batchSize: options.batchSize ?? 100,
    retentionMs: options.retentionMs ?? 7 * 24 * 3600 * 1000,
    trimIntervalMs: options.trimIntervalMs ?? 60_000,
    publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
    maxBufferedPublishes: options.maxBufferedPublishes ?? 10_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5000,
    maxDeadLetters: options.maxDeadLetters ?? 10_000,
    logger: options.logger,
  };
}
