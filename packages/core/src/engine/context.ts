import type { FleetEvent, FleetEventData, FleetEventType } from "../events.js";
import type { Logger } from "../logger.js";
import type { EventBus } from "../plugins/bus.js";
import type { RuntimeBackend } from "../plugins/runtime.js";
import type { SecretStore } from "../plugins/secret-store.js";
import type { FleetStore } from "../plugins/store.js";
import type { FleetRole, HealthProbe } from "./fleet-types.js";
import type { Observe } from "./observer.js";

export interface EngineSettings {
  concurrency: number;
  resyncIntervalMs: number;
  maxRestarts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  group: string;
  stableAfterMs: number;
  startTimeoutMs: number;
  claimTtlMs: number;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  healthRetries: number;
  allowedHostPaths: string[];
  allowUnsafeEndpoints: boolean;
  closeTimeoutMs: number;
}

/** What the engine's parts share. One per fleet. */
export interface EngineContext {
  role: FleetRole;
  workerId: string;
  source: string;
  store: FleetStore;
  bus: EventBus;
  secrets: SecretStore;
  logger: Logger;
  runtimes: Map<string, RuntimeBackend>;
  probes: HealthProbe[];
  settings: EngineSettings;
  /** Metrics hooks (never throw). */
  observe: Observe;
  /** Builds, publishes on the bus and delivers locally. Never throws (the store is the source of truth). */
  publish(type: FleetEventType, subject: string, data: FleetEventData): Promise<FleetEvent>;
}
