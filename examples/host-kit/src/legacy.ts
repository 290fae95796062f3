import type { Fleet, FleetStore, Logger } from "@mcpfleet/core";
import { loadExport } from "./adapters.js";
import type { Choice } from "./assemble.js";
import type { HostConfig } from "./config.js";
import { redact } from "./stores.js";

/** What the assembly needs of `@mcpfleet/bus-redis`'s legacy source. */
export interface LegacySource {
  start(options?: { signal?: AbortSignal }): Promise<void>;
  close(): Promise<void>;
}

/**
 * The original system's Redis pub/sub source when `LEGACY_REDIS_URL` is set: its
 * `MCPServerInstanceCreated`/`Deleted` messages drive this fleet, the legacy id mapping is kept in the
 * fleet store's records (restarts and replicas share it) and status changes go back on the status
 * channel in the original envelope. Not started here: the caller starts it after the fleet.
 */
export async function buildLegacySource(
  config: HostConfig,
  fleet: Fleet,
  store: FleetStore,
  logger: Logger,
  choices: Choice[],
): Promise<LegacySource | undefined> {
  if (!config.LEGACY_REDIS_URL) return undefined;
  const legacyRedisSource = await loadExport("@mcpfleet/bus-redis", "legacyRedisSource", "LEGACY_REDIS_URL");
  const source = legacyRedisSource({
    fleet,
    url: config.LEGACY_REDIS_URL,
    ...(config.LEGACY_CHANNELS ? { channels: config.LEGACY_CHANNELS } : {}),
    publishStatus: config.LEGACY_PUBLISH_STATUS,
    ...(store.records ? { records: store.records } : {}),
    logger: logger.child({ component: "legacy-redis" }),
  }) as LegacySource;
  const mapping = store.records ? `id mapping in the ${store.name} store` : "id mapping in memory";
  choices.push({
    what: "legacy",
    value: "redis",
    reason: `LEGACY_REDIS_URL (${redact(config.LEGACY_REDIS_URL)}); ${mapping}; status ${config.LEGACY_PUBLISH_STATUS ? "published" : "not published"}`,
  });
  return source;
}

/** How long host start waits for the legacy source's subscription before going on without it. */
export const LEGACY_START_WAIT_MS = 5000;

/**
 * Starts the legacy source without holding the host's start hostage to Redis: it waits up to
 * {@link LEGACY_START_WAIT_MS} for the subscription; if Redis is unreachable by then, the host goes
 * on and the source subscribes in the background once Redis answers (logged), until `stop`.
 * A failure other than an unreachable Redis within the wait fails the start.
 */
export async function startLegacy(source: LegacySource, logger: Logger, stop: AbortSignal): Promise<void> {
  const started = source.start({ signal: stop });
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<"waiting">((resolve) => {
    timer = setTimeout(() => resolve("waiting"), LEGACY_START_WAIT_MS);
  });
  try {
    if ((await Promise.race([started, waited])) !== "waiting") return;
  } finally {
    clearTimeout(timer);
  }
  logger.warn({}, "legacy source: Redis is unreachable; the host starts without it and subscribes when Redis answers");
  started.then(
    () => logger.info({}, "legacy source subscribed after Redis came back"),
    (err: Error) => {
      if (!stop.aborted) logger.error({ err: err.message }, "legacy source could not subscribe");
    },
  );
}
