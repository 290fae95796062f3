import type { FleetEvent, FleetEventData, FleetEventType } from "../events.js";
import type { Logger } from "../logger.js";
import type { EventBus } from "../plugins/bus.js";
import type { RuntimeBackend } from "../plugins/runtime.js";
import type { SecretStore } from "../plugins/secret-store.js";
import type { FleetStore } from "../plugins/store.js";
import type { SpecTypeRegistry } from "../spec/spec-registry.js";
import type { EndpointPolicy } from "./address-policy.js";
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
  leaseTtlMs: number;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  healthRetries: number;
  allowedHostPaths: string[];
  /** SSRF policy for user-supplied (url spec) endpoints. */
  endpointPolicy: EndpointPolicy;
  sharedSecretScopes: string[];
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
  /** Every spec type of this fleet (built-ins and `specTypes`): the one table every parse goes through. */
  specs: SpecTypeRegistry;
  probes: HealthProbe[];
  settings: EngineSettings;
  /** Metrics hooks (never throw). */
  observe: Observe;
  /** Builds, publishes on the bus and delivers locally. Never throws (the store is the source of truth). */
  publish(type: FleetEventType, subject: string, data: FleetEventData): Promise<FleetEvent>;
}
