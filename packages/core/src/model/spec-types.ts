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
  healthCheck?: HealthCheck;
  restartPolicy: RestartPolicy;
}

/** A spec of a type an adopter registered. Runtimes of that type validate `raw` themselves. */
export interface CustomSpec {
  type: string;
  environment: Record<string, EnvValue>;
  healthCheck?: HealthCheck;
  raw: Record<string, unknown>;
}

export type InstanceSpec = ContainerSpec | UrlSpec | ProcessSpec;
export type AnyInstanceSpec = InstanceSpec | CustomSpec;
