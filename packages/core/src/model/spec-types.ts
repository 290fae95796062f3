/**
 * Normalized (parsed) instance specs: what `parseInstanceSpec` returns and runtimes consume.
 * Wire documents (`json_spec`) keep snake_case keys as in the seeds; these are camelCase.
 */

export type Transport = "streamable-http" | "sse" | "stdio";
export type RestartPolicy = "no" | "always" | "unless-stopped" | "on-failure";

export interface HealthCheck {
  /** HTTP path to GET; absent means "use the MCP probe" (initialize + ping). */
  path?: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures before `running -> unhealthy`. */
  retries: number;
}

export interface Resources {
  /** Memory limit in bytes (`256m` -> 268435456). */
  memoryBytes?: number;
  /** CPU limit in nano-CPUs (`0.5` -> 500_000_000), as Docker/Podman `NanoCpus`. */
  nanoCpus?: number;
  /** CPU limit in millicores (`0.5` -> 500), as Kubernetes quantities. */
  milliCpus?: number;
  /** Original strings as written, for display and Kubernetes quantities. */
  memoryLimit?: string;
  cpuLimit?: string;
}

export interface VolumeMount {
  /** Host path for a bind mount (refused at deploy time unless allowed), or a named volume. */
  source: string;
  kind: "bind" | "volume";
  target: string;
  readOnly: boolean;
}

/**
 * An environment value as written: a literal string (numbers/booleans are stringified) or a
 * secret ref string `secret_ref:<scope>:<key>`.
 */
export type EnvValue = string;

export interface ContainerSpec {
  type: "docker";
  image: string;
  port?: number;
  transport: Transport;
  environment: Record<string, EnvValue>;
  command?: string[];
  args?: string[];
  resources?: Resources;
  healthCheck?: HealthCheck;
  volumes: VolumeMount[];
  restartPolicy: RestartPolicy;
  labels: Record<string, string>;
  replicas: number;
  /** Optional container user (`1000:1000`). */
  user?: string;
  readOnlyRootFilesystem?: boolean;
  /** Per-request timeout through the gateway in ms (`timeout`, seconds on the wire). */
  timeoutMs?: number;
}

export interface UrlAuthentication {
  type: "bearer";
  /** Literal or secret ref. */
  token: string;
}

export interface UrlSpec {
  type: "url";
  endpoint: string;
  transport: Exclude<Transport, "stdio">;
  healthCheck?: HealthCheck;
  /** Request timeout in ms (the seeds' top-level `timeout`, seconds on the wire). */
  timeoutMs?: number;
  authentication?: UrlAuthentication;
  /** Header values may be secret refs. */
  headers: Record<string, string>;
}

export interface ProcessSpec {
  type: "process";
  /** argv prefix: `["node", "server.js"]`. */
  command: string[];
  args?: string[];
  environment: Record<string, EnvValue>;
  transport: Transport;
  port?: number;
  cwd?: string;
  /** Sandbox settings of the process runtime (`network: false` gives the process no network at all). */
  sandbox?: { network?: boolean };
  healthCheck?: HealthCheck;
  restartPolicy: RestartPolicy;
  /** Per-request timeout through the gateway in ms (`timeout`, seconds on the wire). */
  timeoutMs?: number;
}

/**
 * A spec of a type an adopter registered (`createFleet({ specTypes })`): the output of the type's
 * Standard Schema or parse function (defaults applied) plus the fields core fills in.
 */
export interface CustomSpec {
  /** The registered type name. */
  type: string;
  /** The output's `environment`, else the document's; values as strings, secret refs as written. */
  environment: Record<string, EnvValue>;
  /** The output's `healthCheck`, else the document's `health_check` normalized. */
  healthCheck?: HealthCheck;
  /** The wire document as written (refs only). */
  raw: Record<string, unknown>;
  /** Every other key of the schema's (or parse function's) output. */
  [key: string]: unknown;
}

export type InstanceSpec = ContainerSpec | UrlSpec | ProcessSpec;
export type AnyInstanceSpec = InstanceSpec | CustomSpec;
