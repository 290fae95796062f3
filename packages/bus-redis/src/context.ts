import type { Logger } from "@mcpfleet/core";
import type { Redis } from "ioredis";
import type { ResolvedRedisBusOptions } from "./options.js";

/** What the bus shares with its consumers. */
export interface BusContext {
  /** Non-blocking commands (XADD, XACK, XCLAIM, ...). */
  cmd: Redis;
  /** A new connection for one blocking reader; the caller disconnects it. */
  connect(): Redis;
  opts: ResolvedRedisBusOptions;
  stream: string;
  deadStream: string;
  logger: Logger;
}
