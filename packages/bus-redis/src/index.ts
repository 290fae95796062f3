export { decodeEntry, decodeEvent, encodeEvent } from "./codec.js";
export {
  decodeLegacyEvent,
  encodeLegacyEvent,
  LEGACY_EVENT_TYPES,
  LEGACY_SOURCE,
  type LegacyEventType,
} from "./legacy-codec.js";
export { LEGACY_ID_RECORD_KIND } from "./legacy-ids.js";
export {
  LEGACY_ID_MARKER,
  type LegacyFleet,
  type LegacyRedisSource,
  type LegacyRedisSourceOptions,
  type LegacySourceStats,
  legacyRedisSource,
} from "./legacy-source.js";
export type { RedisBusOptions } from "./options.js";
export { type RedisBus, type RedisDeadLetter, redisBus } from "./redis-bus.js";
