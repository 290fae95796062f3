import type { Fleet, FleetStore, Logger } from "@mcpfleet/core";
import { loadExport } from "./adapters.js";
import type { Choice } from "./assemble.js";
import type { HostConfig } from "./config.js";
import { redact } from "./stores.js";

/** What the assembly needs of `@mcpfleet/bus-redis`'s legacy source. */
export interface LegacySource {
  start(): Promise<void>;
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
