import {
  type Fleet,
  FleetError,
  type FleetEvent,
  type Instance,
  type Logger,
  type Repository,
  type StoredRecord,
  silentLogger,
} from "@mcpfleet/core";
import { errorMessage, isLogger, LOGGER_MESSAGE, parseOptions } from "@mcpfleet/core/adapter";
import { Redis } from "ioredis";
import { z } from "zod";
import { decodeLegacyEvent, encodeLegacyEvent } from "./legacy-codec.js";
import { LegacyIds } from "./legacy-ids.js";

/** The part of the Fleet API the legacy source drives (any `Fleet` fits). */
export type LegacyFleet = Pick<Fleet, "subscribe"> & {
  instances: Pick<Fleet["instances"], "create" | "get" | "delete" | "list">;
};

export interface LegacyRedisSourceOptions {
  /** The fleet the commands go to. */
  fleet: LegacyFleet;
  /** An ioredis client; the source subscribes on `redis.duplicate()` and publishes status on `redis` (not closed). */
  redis?: Redis;
  /** Used when `redis` is absent; default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Channel names; defaults are the original event names. */
  channels?: { created?: string; deleted?: string; statusChanged?: string };
  /** Publish `MCPServerInstanceStatusChanged` back on the legacy channel; default false. */
  publishStatus?: boolean;
  /**
   * Where the legacy id ↔ fleet id mapping is stored: a fleet store's `records` (survives restarts,
   * shared by replicas). Without it the mapping lives in this process (and the instance description).
   */
  records?: Repository<StoredRecord>;
  /**
   * Status changes are published once however many sources see them: each publish first takes the
   * Redis key `<statusDedupePrefix><channel>:<event id>` (SET NX, kept `statusDedupeTtlMs`, default 1 hour).
   */
  statusDedupePrefix?: string;
  statusDedupeTtlMs?: number;
  logger?: Logger;
}

export interface LegacySourceStats {
  received: number;
  created: number;
  deleted: number;
  /** Duplicates, deletes of unknown instances, status changes another source published. */
  skipped: number;
  /** Undecodable messages and failed commands (logged). */
  failed: number;
  statusPublished: number;
}

export interface LegacyRedisSource {
  /**
   * Subscribes to the channels; resolves once Redis confirmed the subscription. While Redis is
   * unreachable it keeps trying; `signal` gives up (`BUS_UNAVAILABLE`, nothing left subscribed or
   * connecting, and `start` may be called again).
   */
  start(options?: { signal?: AbortSignal }): Promise<void>;
  readonly stats: Readonly<LegacySourceStats>;
  /** Waits until every message received so far has been turned into commands. */
  idle(): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Marker kept in the description of instances created from legacy events (to find them by legacy id). */
export const LEGACY_ID_MARKER = "legacy_instance_id=";

const schema = z
  .object({
    fleet: z.custom<LegacyFleet>(
      (v) => typeof v === "object" && v !== null && typeof (v as LegacyFleet).instances?.create === "function",
      { message: "must be a Fleet" },
    ),
    redis: z.custom<Redis>((v) => typeof v === "object" && v !== null && typeof (v as Redis).duplicate === "function", {
      message: "must be an ioredis client",
    }),
    url: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL"),
    channels: z
      .object({ created: z.string().min(1), deleted: z.string().min(1), statusChanged: z.string().min(1) })
      .partial()
      .strict(),
    publishStatus: z.boolean(),
    records: z.custom<Repository<StoredRecord>>(
      (v) => typeof v === "object" && v !== null && typeof (v as Repository<StoredRecord>).get === "function",
      { message: "must be a store repository (store.records)" },
    ),
    statusDedupePrefix: z.string().max(200),
    statusDedupeTtlMs: z
      .number()
      .int()
      .min(1000)
      .max(7 * 86_400_000),
    logger: z.custom<Logger>(isLogger, { message: LOGGER_MESSAGE }),
  })
  .partial()
  .required({ fleet: true })
  .strict();

/**
 * Replaces the original manager: subscribes to its Redis pub/sub channels (`MCPServerInstanceCreated`,
 * `MCPServerInstanceDeleted`), decodes each message and turns it into a fleet command. Created →
 * `fleet.instances.create` (skipped when the id or name exists); deleted → `fleet.instances.delete`.
 * Messages are handled one at a time, in order. Pub/sub is fire-and-forget: messages published while
 * the source is down are lost, as they were in the original system. Several sources (replicas) may
 * run at once: commands are idempotent, the id mapping is shared through `records`, and each status
 * change is published once.
 */
export function legacyRedisSource(options: LegacyRedisSourceOptions): LegacyRedisSource {
  parseOptions("bus-redis", schema, options, { subject: "legacy source option" });
  const { fleet } = options;
  const logger = (options.logger ?? silentLogger()).child({ source: "legacy-redis" });
  const channels = {
    created: options.channels?.created ?? "MCPServerInstanceCreated",
    deleted: options.channels?.deleted ?? "MCPServerInstanceDeleted",
    statusChanged: options.channels?.statusChanged ?? "MCPServerInstanceStatusChanged",
  };
  const ownsClient = !options.redis;
  const pub =
    options.redis ?? new Redis(options.url ?? "redis://127.0.0.1:6379", { lazyConnect: true, maxRetriesPerRequest: 1 });
  if (ownsClient) pub.on("error", (err: unknown) => logger.debug({ err: errorMessage(err) }, "redis error"));
  let sub: Redis | undefined;
  let unsubscribeFleet: (() => void) | undefined;
  let chain: Promise<void> = Promise.resolve();
  let statusChain: Promise<void> = Promise.resolve();
  let closed = false;
  const stats: LegacySourceStats = { received: 0, created: 0, deleted: 0, skipped: 0, failed: 0, statusPublished: 0 };
  const ids = new LegacyIds(options.records);
  const dedupePrefix = options.statusDedupePrefix ?? "mcpfleet:legacy-status:";
  const dedupeTtlMs = options.statusDedupeTtlMs ?? 3_600_000;

  async function find(idOrName: string): Promise<Instance | undefined> {
    try {
      return await fleet.instances.get(idOrName);
    } catch (err) {
      if (FleetError.isInstance(err) && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
  }

  async function findByLegacyId(legacyId: string): Promise<Instance | undefined> {
    const mapped = await ids.fleetId(legacyId);
    const direct = (mapped && (await find(mapped))) || (await find(legacyId));
    if (direct) return direct;
    const all = await fleet.instances.list();
    return all.find((i) => i.description === `${LEGACY_ID_MARKER}${legacyId}`);
  }

  async function onCreated(event: FleetEvent): Promise<void> {
    const legacyId = event.subject;
    const name = event.data.name as string;
    const existing = (await findByLegacyId(legacyId)) ?? (await find(name));
    if (existing) {
      await ids.remember(legacyId, existing.id);
      stats.skipped++;
      logger.debug({ eventId: event.id, instanceId: existing.id }, "instance exists, created event skipped");
      return;
    }
    const created = await fleet.instances.create({
      name,
      description: `${LEGACY_ID_MARKER}${legacyId}`,
      server_spec_id: (event.data.server_spec_id as string | null | undefined) ?? null,
      json_spec: event.data.json_spec,
    });
    await ids.remember(legacyId, created.id);
    stats.created++;
    logger.info({ eventId: event.id, instanceId: created.id, legacyId }, "instance created from legacy event");
  }

  async function onDeleted(event: FleetEvent): Promise<void> {
    const existing = await findByLegacyId(event.subject);
    if (!existing) {
      stats.skipped++;
      logger.debug({ eventId: event.id, legacyId: event.subject }, "deleted event for an unknown instance skipped");
      return;
    }
    try {
      await fleet.instances.delete(existing.id);
    } catch (err) {
      if (FleetError.isInstance(err) && err.code === "NOT_FOUND") {
        stats.skipped++;
        return;
      }
      throw err;
    }
    stats.deleted++;
    logger.info({ eventId: event.id, instanceId: existing.id }, "instance deleted from legacy event");
  }

  async function onMessage(channel: string, message: string): Promise<void> {
    stats.received++;
    let event: FleetEvent;
    try {
      // the configured channel says which event it carries, whatever it is called
      event = decodeLegacyEvent(
        message,
        channel === channels.deleted ? "MCPServerInstanceDeleted" : "MCPServerInstanceCreated",
      );
    } catch (err) {
      stats.failed++;
      // the error names paths only, never the payload (specs may carry secret literals)
      logger.warn(
        { channel, err: FleetError.isInstance(err) ? err.toJSON() : errorMessage(err) },
        "undecodable legacy event",
      );
      return;
    }
    try {
      if (event.type === "MCPServerInstanceCreated") await onCreated(event);
      else if (event.type === "MCPServerInstanceDeleted") await onDeleted(event);
      else stats.skipped++;
    } catch (err) {
      stats.failed++;
      logger.warn(
        { channel, eventId: event.id, err: FleetError.isInstance(err) ? err.toJSON() : errorMessage(err) },
        "legacy event command failed",
      );
    }
  }

  /** The legacy id of a fleet instance: the stored mapping, else the marker its description carries. */
  async function legacyIdOf(fleetId: string): Promise<string> {
    const mapped = await ids.legacyId(fleetId);
    if (mapped) return mapped;
    const description = (await find(fleetId))?.description ?? "";
    return description.startsWith(LEGACY_ID_MARKER) ? description.slice(LEGACY_ID_MARKER.length) : fleetId;
  }

  async function publishStatus(event: FleetEvent): Promise<void> {
    const key = `${dedupePrefix}${channels.statusChanged}:${event.id}`;
    if ((await pub.set(key, "1", "PX", dedupeTtlMs, "NX")) !== "OK") {
      stats.skipped++;
      return;
    }
    const data = {
      instance_id: await legacyIdOf(event.subject),
      status: event.data.status,
      previous_status: event.data.previous_status,
      status_reason: event.data.status_reason ?? null,
    };
    await pub.publish(channels.statusChanged, encodeLegacyEvent(event, data));
    stats.statusPublished++;
    // the instance is gone: its mapping is no longer needed
    if (event.data.status === "deleted") await ids.forget(event.subject);
  }

  function onFleetEvent(event: FleetEvent): void {
    if (event.type !== "MCPServerInstanceStatusChanged" || closed) return;
    // after the commands received so far (their mappings are stored), one at a time, in order
    const commands = chain;
    statusChain = statusChain
      .then(() => commands)
      .then(() => publishStatus(event))
      .catch((err: unknown) => logger.warn({ eventId: event.id, err: errorMessage(err) }, "status publish failed"));
  }

  const source: LegacyRedisSource = {
    stats,
    async start(opts = {}) {
      if (closed) throw new FleetError("CLOSED", "[mcpfleet/bus-redis] legacy source is closed");
      if (sub) return;
      const unavailable = (why: string, cause?: unknown) =>
        new FleetError("BUS_UNAVAILABLE", `[mcpfleet/bus-redis] legacy subscribe failed: ${why}`, { cause });
      if (opts.signal?.aborted) throw unavailable("aborted before subscribing", opts.signal.reason);
      const s = pub.duplicate({ lazyConnect: false, maxRetriesPerRequest: null });
      sub = s;
      s.on("error", (err: unknown) => logger.debug({ err: errorMessage(err) }, "subscriber error"));
      s.on("message", (channel: string, message: string) => {
        chain = chain.then(() => onMessage(channel, message));
      });
      let onAbort: (() => void) | undefined;
      try {
        await Promise.race([
          s.subscribe(channels.created, channels.deleted),
          new Promise<never>((_, reject) => {
            onAbort = () => reject(unavailable("aborted while Redis was unreachable", opts.signal?.reason));
            opts.signal?.addEventListener("abort", onAbort, { once: true });
          }),
        ]);
      } catch (err) {
        // nothing stays subscribed or reconnecting: a later start begins afresh
        if (sub === s) sub = undefined;
        s.disconnect();
        throw FleetError.isInstance(err) ? err : unavailable(errorMessage(err), err);
      } finally {
        if (onAbort) opts.signal?.removeEventListener("abort", onAbort);
      }
      if (options.publishStatus) unsubscribeFleet = fleet.subscribe(onFleetEvent);
      logger.info({ channels: [channels.created, channels.deleted] }, "legacy source subscribed");
    },
    idle: async () => {
      await chain;
      await statusChain;
    },
    async close() {
      if (closed) return;
      closed = true;
      unsubscribeFleet?.();
      sub?.disconnect();
      await chain;
      await statusChain;
      if (ownsClient) pub.disconnect();
    },
    [Symbol.asyncDispose]: () => source.close(),
  };
  return source;
}
