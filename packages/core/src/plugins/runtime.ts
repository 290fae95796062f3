import type { AnyInstanceSpec, Transport } from "../model/spec-types.js";
import type { CallOptions, PluginV1 } from "./common.js";

/** Resolved secret material for one deployment. Never log, publish or store this object. */
export interface ResolvedSecrets {
  /** Environment variables whose values came from secret refs: name -> value. */
  env: Record<string, string>;
  /** Headers whose values came from secret refs (url specs): name -> value. */
  headers: Record<string, string>;
  /** Resolved bearer token (url specs). */
  authToken?: string;
}

/** Everything a runtime needs to deploy one instance. */
export interface DeployRequest {
  instance: {
    id: string;
    name: string;
    generation: number;
    /** Deterministic hash of spec + effective environment; a change means replace. */
    specHash: string;
    serverSpecId?: string | null;
  };
  /** Normalized spec; its `environment` still holds secret refs as written. */
  spec: AnyInstanceSpec;
  /**
   * Effective non-secret environment (schema defaults applied, values stringified). Variables
   * backed by secret refs are absent here and present in `secrets.env`.
   */
  env: Record<string, string>;
  secrets: ResolvedSecrets;
}

/**
 * One separately reachable copy of a replicated instance (a runtime that runs replicas as copies the
 * gateway balances itself, as Podman does; a runtime with its own balancer, such as a Kubernetes
 * Service, reports only `endpoint`).
 */
export interface ReplicaEndpoint {
  /** Stable index `0..replicas-1`: a copy keeps it while the instance scales up or down. */
  replica: number;
  endpoint: string;
  /** Running (and so worth sending new sessions to). */
  ready: boolean;
}

export type ObservedPhase = "pending" | "starting" | "running" | "exited" | "failed" | "unknown";

/** What a runtime reports about one instance it owns. */
export interface ObservedInstance {
  instanceId: string;
  specHash: string;
  generation?: number;
  phase: ObservedPhase;
  /** URL a client can reach (Streamable HTTP, or SSE when `transport` is `sse`). */
  endpoint?: string;
  /**
   * Headers every request to `endpoint` must carry (a stdio bridge's token). Secret: the engine
   * hands them to the gateway and probes only; they are never stored, published, logged or shown.
   */
  endpointHeaders?: Record<string, string>;
  transport?: Exclude<Transport, "stdio">;
  /** Human-readable reason for `failed`/`exited` (image missing, OOM, exit code). */
  reason?: string;
  exitCode?: number;
  /** True when the runtime knows retrying cannot help (image does not exist, spec refused). */
  permanent?: boolean;
  startedAt?: string;
  replicas?: { desired: number; ready: number };
  /**
   * Every copy when the runtime runs replicas the gateway must spread sessions over (index order).
   * `endpoint` is then the first ready copy's.
   */
  replicaEndpoints?: ReplicaEndpoint[];
}

export interface LogLine {
  time: string;
  stream: "stdout" | "stderr";
  line: string;
}

export interface LogOptions extends CallOptions {
  follow?: boolean;
  /** Last N lines; absent means all that is kept. */
  tail?: number;
}

export interface RuntimeEvent {
  instanceId: string;
  kind: "started" | "exited" | "removed" | "changed";
  at: string;
}

export interface RuntimeCapabilities {
  /**
   * Objects are visible to every fleet process with the same configuration (Podman on one host,
   * Kubernetes). When false (memory, process, url), an instance belongs to the worker that deployed
   * it (`observed_by`) and other workers leave it alone.
   */
  shared?: boolean;
  logs?: boolean;
  watch?: boolean;
  stdio?: boolean;
  /** Runs `replicas` above 1 (else core refuses such specs with `UNSUPPORTED` at `json_spec.replicas`). */
  replicas?: boolean;
}

/**
 * Runs instances. Must be idempotent: objects are named deterministically from the instance id;
 * deploying the same spec hash twice is a no-op, a different hash replaces.
 * Runtimes do NOT restart crashed instances themselves: they report `exited`/`failed` and the
 * reconciler applies the spec's restart policy with backoff.
 */
export interface RuntimeBackend extends PluginV1 {
  readonly capabilities?: RuntimeCapabilities;
  /**
   * The spec types this runtime serves (`docker`, `process`, an adopter's `specTypes` name). A fleet
   * routes instances by the key a runtime is given under in `createFleet({ runtimes })`; when
   * `types` is declared, `createFleet` refuses (`OPTIONS_INVALID`, path `runtimes.<key>`) a key it
   * does not list, and every key must be a registered spec type. Absent: serves whatever it is
   * registered under.
   */
  readonly types?: readonly string[];
  deploy(request: DeployRequest, options?: CallOptions): Promise<ObservedInstance>;
  /** Removes everything owned for the instance. Idempotent: removing an unknown id resolves. */
  remove(instanceId: string, options?: CallOptions): Promise<void>;
  /** `undefined` when the runtime has nothing for this id. */
  inspect(instanceId: string, options?: CallOptions): Promise<ObservedInstance | undefined>;
  /** Only objects this runtime (this owner) manages. */
  list(options?: CallOptions): Promise<ObservedInstance[]>;
  logs(instanceId: string, options?: LogOptions): AsyncIterable<LogLine>;
  /** Pushes changes so crashes are seen without waiting for a resync. Ends when the signal aborts. */
  watch?(options?: CallOptions): AsyncIterable<RuntimeEvent>;
}
