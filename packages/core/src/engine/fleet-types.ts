import type { FleetEvent } from "../events.js";
import type { Logger } from "../logger.js";
import type { AnyInstanceSpec, Transport } from "../model/spec-types.js";
import type {
  DesiredState,
  Instance,
  InstanceStatus,
  ServerDefinition,
  ServerDefinitionInput,
} from "../model/types.js";
import type { EventBus } from "../plugins/bus.js";
import type { CallOptions } from "../plugins/common.js";
import type { LogLine, LogOptions, RuntimeBackend } from "../plugins/runtime.js";
import type { SecretStore } from "../plugins/secret-store.js";
import type { FleetStore } from "../plugins/store.js";

/** Where and how to reach an instance (the gateway uses this; headers may hold resolved credentials). */
export interface InstanceConnection {
  instance: Instance;
  endpoint: string;
  transport: Exclude<Transport, "stdio">;
  /** Headers to add upstream: the spec's headers with refs resolved and `Authorization` for bearer auth. Never log. */
  headers: Record<string, string>;
  timeoutMs?: number;
}

export interface ProbeTarget {
  instance: Instance;
  spec: AnyInstanceSpec;
  endpoint: string;
  transport: Exclude<Transport, "stdio">;
  /** Resolved upstream headers (credentials). Never log. */
  headers: Record<string, string>;
}

export interface ProbeResult {
  ok: boolean;
  reason?: string;
  latencyMs?: number;
}

/**
 * A health probe. The health monitor uses the spec's HTTP `health_check.path` when set, otherwise the
 * first registered probe whose `appliesTo` returns true (the MCP probe from `@mcpfleet/mcp`), otherwise
 * the runtime's observed phase alone.
 */
export interface HealthProbe {
  readonly name: string;
  appliesTo(target: ProbeTarget): boolean;
  check(target: ProbeTarget, options: { signal: AbortSignal; timeoutMs: number }): Promise<ProbeResult>;
}

export type FleetRole = "all" | "api" | "worker";

/** One reconcile pass of one instance, as reported to {@link FleetObserver.reconciled}. */
export interface ReconcileObservation {
  instanceId: string;
  durationMs: number;
  /** `error` when the pass threw (it is logged and retried by the next trigger or resync). */
  outcome: "ok" | "error";
}

/** An event that arrived from the bus, as reported to {@link FleetObserver.eventReceived}. */
export interface EventObservation {
  type: string;
  /**
   * Arrival time minus the event's CloudEvents `time` (the publisher's clock; 0 when negative).
   * Includes time spent waiting in the bus while consumers were busy or down.
   */
  lagMs: number;
  /** `reconciler`: the work group (one worker gets each event); `listeners`: the broadcast to `subscribe`. */
  consumer: "reconciler" | "listeners";
}

/**
 * Instrumentation hooks (metrics). Called synchronously on the engine's path: keep them cheap. A hook
 * that throws is logged and ignored.
 */
export interface FleetObserver {
  reconciled?(observation: ReconcileObservation): void;
  eventReceived?(observation: EventObservation): void;
}

export interface FleetOptions {
  /** Keyed by `json_spec.type` (`docker`, `process`, custom). `url` is built in. */
  runtimes?: Record<string, RuntimeBackend>;
  bus?: EventBus;
  secrets?: SecretStore;
  store?: FleetStore;
  logger?: Logger;
  role?: FleetRole;
  probes?: HealthProbe[];
  /**
   * Stable id of this process among workers sharing a store (default `"local"`). Instances on
   * process-local runtimes belong to the worker that deployed them; give each worker its own id.
   */
  workerId?: string;
  /** CloudEvents `source`. */
  source?: string;
  reconciler?: {
    concurrency?: number;
    resyncIntervalMs?: number;
    /** Consecutive failed starts before `failed`. */
    maxRestarts?: number;
    backoffBaseMs?: number;
    backoffMaxMs?: number;
    /** Bus consumer group of the reconciler. */
    group?: string;
    /** Running this long resets the crash-loop counter. */
    stableAfterMs?: number;
    /** A started instance that is not ready within this fails. */
    startTimeoutMs?: number;
    /**
     * An unfinished claim by another worker (pending/provisioning/starting, or a stop/delete not done)
     * on a process-local runtime may be taken over once the instance has not changed for this long:
     * its worker died mid-way. Default: startTimeoutMs + 30 s.
     */
    claimTtlMs?: number;
  };
  health?: {
    defaultIntervalMs?: number;
    defaultTimeoutMs?: number;
    defaultRetries?: number;
  };
  /** Host bind-mount sources allowed in specs (prefix match on resolved paths). */
  allowedHostPaths?: string[];
  /** Allow url endpoints on link-local / cloud-metadata addresses (refused by default). */
  allowUnsafeEndpoints?: boolean;
  /** Bounded wait for in-flight work on close. */
  closeTimeoutMs?: number;
  /** Metrics hooks: reconcile durations, bus delivery lag. */
  observer?: FleetObserver;
}

export interface CreateInstanceInput {
  name: string;
  description?: string;
  server_spec_id?: string | null;
  json_spec: unknown;
  /** Secret values by env var (or `AUTH_TOKEN` / header) name; stored in the SecretStore, refs kept in the spec. */
  secrets?: Record<string, string>;
  /** Start right away (default true). */
  start?: boolean;
}

export interface UpdateInstanceInput {
  name?: string;
  description?: string;
  json_spec?: unknown;
  secrets?: Record<string, string>;
  /** Optimistic concurrency: refuse with CONFLICT when the stored revision differs. */
  revision?: number;
}

export interface WaitForOptions extends CallOptions {
  timeoutMs?: number;
}

export interface ServersApi {
  register(def: unknown, options?: CallOptions): Promise<ServerDefinition>;
  get(id: string, options?: CallOptions): Promise<ServerDefinition>;
  list(options?: CallOptions): Promise<ServerDefinition[]>;
  update(
    id: string,
    patch: Partial<ServerDefinitionInput> & { revision?: number },
    options?: CallOptions,
  ): Promise<ServerDefinition>;
  /** Refused with IN_USE while instances reference it. */
  delete(id: string, options?: CallOptions): Promise<void>;
}

export interface Template {
  key: string;
  name: string;
  description?: string;
  /** Wire-form json_spec (docker type). */
  json_spec: Record<string, unknown>;
  env_schema: ServerDefinition["env_schema"];
  capabilities: string[];
}

export interface InstantiateOverrides {
  name?: string;
  service_name?: string;
  environment?: Record<string, string | number | boolean>;
  replicas?: number;
  secrets?: Record<string, string>;
  [key: string]: unknown;
}

export interface TemplatesApi {
  load(json: unknown): Promise<Template>;
  list(): Promise<Template[]>;
  get(key: string): Promise<Template>;
  instantiate(key: string, overrides?: InstantiateOverrides, options?: CallOptions): Promise<Instance>;
}

export interface InstancesApi {
  create(input: CreateInstanceInput, options?: CallOptions): Promise<Instance>;
  /** By id or name. */
  get(idOrName: string, options?: CallOptions): Promise<Instance>;
  list(options?: CallOptions & { status?: InstanceStatus; server_spec_id?: string }): Promise<Instance[]>;
  update(id: string, input: UpdateInstanceInput, options?: CallOptions): Promise<Instance>;
  delete(id: string, options?: CallOptions): Promise<Instance>;
  start(id: string, options?: CallOptions): Promise<Instance>;
  stop(id: string, options?: CallOptions): Promise<Instance>;
  logs(id: string, options?: LogOptions): AsyncIterable<LogLine>;
  waitFor(id: string, status: InstanceStatus | InstanceStatus[], options?: WaitForOptions): Promise<Instance>;
}

export interface Fleet {
  readonly role: FleetRole;
  readonly logger: Logger;
  readonly servers: ServersApi;
  readonly templates: TemplatesApi;
  readonly instances: InstancesApi;
  start(): Promise<void>;
  /** Local listener for every event this fleet publishes or receives. Returns an unsubscribe function. */
  subscribe(listener: (event: FleetEvent) => void): () => void;
  /** How to reach a running instance, with resolved upstream credentials (gateway use only). */
  connection(idOrName: string, options?: CallOptions): Promise<InstanceConnection>;
  registerProbe(probe: HealthProbe): void;
  /** Resolves when this process's reconciler has nothing queued or running (tests, graceful hand-over). */
  idle(): Promise<void>;
  /** Reconciles every instance once now; resolves when the pass is done. */
  resync(): Promise<void>;
  /** Runtime for a spec type, if configured. */
  runtimeFor(type: string): RuntimeBackend | undefined;
  /** Reachability of store, bus, secrets and runtimes (for `/ready`). */
  ready(options?: CallOptions): Promise<{ ok: boolean; checks: Record<string, { ok: boolean; reason?: string }> }>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export type { DesiredState };
