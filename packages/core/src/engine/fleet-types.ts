import type { FleetEvent } from "../events.js";
import type { Logger } from "../logger.js";
import type { AnyInstanceSpec, Transport } from "../model/spec-types.js";
import type {
  DesiredState,
  Instance,
  InstanceStatus,
  ServerDefinition,
  ServerDefinitionInput,
  Template,
} from "../model/types.js";
import type { EventBus } from "../plugins/bus.js";
import type { CallOptions } from "../plugins/common.js";
import type { LogLine, LogOptions, RuntimeBackend } from "../plugins/runtime.js";
import type { SecretStore } from "../plugins/secret-store.js";
import type { FleetStore, QueryPage } from "../plugins/store.js";
import type { SpecTypeDefinition } from "../spec/spec-registry.js";
import type { EndpointPolicy, EndpointPolicyOptions } from "./address-policy.js";

/** Where and how to reach an instance (the gateway uses this; headers may hold resolved credentials). */
export interface InstanceConnection {
  instance: Instance;
  endpoint: string;
  transport: Exclude<Transport, "stdio">;
  /** Headers to add upstream: the spec's headers with refs resolved and `Authorization` for bearer auth. Never log. */
  headers: Record<string, string>;
  /** Per-request timeout from the spec (`timeout`), when it has one. */
  timeoutMs?: number;
  /**
   * True when the endpoint is user-supplied (url specs): connect only through `fleet.endpointPolicy`
   * (its `lookup` checks every resolved address). False for endpoints a runtime reports for what it
   * runs itself (stdio bridges, process ports, published container ports), which are trusted.
   */
  external: boolean;
  /**
   * The ready copies of a replicated instance whose runtime reports them separately
   * (`ObservedInstance.replicaEndpoints`), in index order: the gateway spreads new sessions over them
   * and keeps each session on its copy. Absent for everything else (one `endpoint`).
   */
  replicas?: { replica: number; endpoint: string }[];
}

export interface ProbeTarget {
  instance: Instance;
  spec: AnyInstanceSpec;
  endpoint: string;
  transport: Exclude<Transport, "stdio">;
  /** Resolved upstream headers (credentials). Never log. */
  headers: Record<string, string>;
  /** User-supplied endpoint (url specs): connect through `policy` (see InstanceConnection.external). */
  external?: boolean;
  /** The fleet's endpoint policy, for probes that connect to external endpoints. */
  policy?: EndpointPolicy;
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
  /**
   * The runtime of each spec type, keyed by `json_spec.type` (`docker`, `process`, a `specTypes`
   * name): the key routes instances. `container` is `docker`'s alias; `url` is built in. A key
   * that is no registered spec type, or a runtime whose `types` leave out its key, is refused.
   */
  runtimes?: Record<string, RuntimeBackend>;
  /**
   * The adopter's spec types by `type` value: a Standard Schema (zod, valibot, arktype) or a parse
   * function. Every spec of the fleet is parsed through one registry of these and the built-ins
   * (which cannot be replaced); the schema's output, defaults applied, is what the runtime
   * receives. Register the same types in every process sharing a store (API and workers).
   */
  specTypes?: Record<string, SpecTypeDefinition>;
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
    /**
     * How long a start may take: from the move to `provisioning`/`starting` until the runtime reports
     * the instance running and (where a probe applies) its readiness probe passes. A start that does
     * not finish in time is treated as a crash: the restart policy decides (restart with backoff,
     * counting toward `maxRestarts`; `restart_policy: no` fails it). Default 60 s.
     */
    startTimeoutMs?: number;
    /**
     * An unfinished claim by another worker (pending/provisioning/starting, or a stop/delete not done)
     * on a process-local runtime may be taken over once the instance has not changed for this long:
     * its worker died mid-way. Default: startTimeoutMs + 30 s. Used by stores without `leases`.
     */
    claimTtlMs?: number;
    /**
     * Stores with `leases` (memory, file, PostgreSQL): how long an instance lease lasts without
     * renewal (renewed every third of it while the worker lives, judged by the store's clock). A
     * worker paused or cut off for longer loses its instances to another worker and its later
     * writes are refused. Default: `claimTtlMs` when given, else 15 s (1 ms .. 24 h).
     */
    leaseTtlMs?: number;
  };
  health?: {
    defaultIntervalMs?: number;
    defaultTimeoutMs?: number;
    defaultRetries?: number;
  };
  /** Host bind-mount sources allowed in specs (prefix match on resolved paths). */
  allowedHostPaths?: string[];
  /**
   * SSRF policy for url endpoints: an `EndpointPolicy` or its options (`allow`: `loopback`, `private`,
   * CIDRs, host names). Link-local and metadata addresses are always refused; loopback and private
   * ones only when allowed. Checked at create/update/deploy and, on every resolved address, when the
   * gateway or a health probe connects.
   */
  endpointPolicy?: EndpointPolicy | EndpointPolicyOptions;
  /** @deprecated use `endpointPolicy: { allow: ["loopback", "private"] }` (which is what `true` now means). */
  allowUnsafeEndpoints?: boolean;
  /** Secret scopes every instance may reference besides its own `instance_<id>` (e.g. a fleet-wide `shared`). */
  sharedSecretScopes?: string[];
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
  /** Secret scopes granted to this instance besides its own (hosts let only admins set this). */
  secret_scopes?: string[];
}

export interface UpdateInstanceInput {
  name?: string;
  description?: string;
  json_spec?: unknown;
  secrets?: Record<string, string>;
  /** Replaces the instance's granted secret scopes (hosts let only admins set this). */
  secret_scopes?: string[];
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

export interface InstancePageOptions extends CallOptions {
  status?: InstanceStatus;
  server_spec_id?: string;
  name_prefix?: string;
  label?: { key: string; value?: string };
  /** 1..1000; default 100. */
  limit?: number;
  cursor?: string;
  /** Also count every match (`total`). */
  count?: boolean;
}

export interface InstancesApi {
  create(input: CreateInstanceInput, options?: CallOptions): Promise<Instance>;
  /** By id or name. */
  get(idOrName: string, options?: CallOptions): Promise<Instance>;
  list(options?: CallOptions & { status?: InstanceStatus; server_spec_id?: string }): Promise<Instance[]>;
  /**
   * One page of instances in (`name`, `id`) order, from the store's `query` capability when it has
   * one (the database filters and pages), else from `list()` filtered here.
   */
  page(options: InstancePageOptions): Promise<QueryPage<Instance>>;
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
  /** SSRF policy for user-supplied endpoints (the gateway and probes connect through it). */
  readonly endpointPolicy: EndpointPolicy;
  /**
   * For `/ready`: the store and every runtime must answer a list within 3 s; the bus check only says
   * whether the fleet is closed; the secret store is not checked.
   */
  ready(options?: CallOptions): Promise<{ ok: boolean; checks: Record<string, { ok: boolean; reason?: string }> }>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export type { DesiredState };
