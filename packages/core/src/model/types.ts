/**
 * Domain documents. Field names are the wire names of the original system (snake_case), so a
 * document round-trips through the REST API and the stores unchanged.
 */

export type EnvVarType = "string" | "integer" | "number" | "boolean";

export interface EnvSchemaEntry {
  name: string;
  type: EnvVarType;
  description?: string;
  required: boolean;
  secret: boolean;
  default?: string | number | boolean | null;
}

export type EnvSchema = EnvSchemaEntry[];

export type ServerStatus = "active" | "inactive" | "deprecated";

export interface ServerDefinition {
  id: string;
  name: string;
  description?: string;
  docker_image_url?: string;
  version?: string;
  tags: string[];
  status: ServerStatus;
  is_public: boolean;
  env_schema: EnvSchema;
  /** Secret scopes (besides their own `instance_<id>`) that this server's instances may reference. Set by admins. */
  secret_scopes?: string[];
  created_at: string;
  updated_at: string;
  /**
   * Optimistic-concurrency counter, bumped by the store on every write (named `revision`, not
   * `version`, because `version` is the server's own version string in the original documents).
   */
  revision: number;
}

/** An instance template: a named wire-form docker spec with its environment schema. */
export interface Template {
  key: string;
  name: string;
  description?: string;
  /** Wire-form json_spec (docker type). */
  json_spec: Record<string, unknown>;
  env_schema: EnvSchema;
  capabilities: string[];
}

/** What a caller passes to `servers.register` (ids, timestamps and revision are assigned). */
export type ServerDefinitionInput = Partial<Omit<ServerDefinition, "created_at" | "updated_at" | "revision">> & {
  name: string;
};

export type InstanceStatus =
  | "pending"
  | "provisioning"
  | "starting"
  | "running"
  | "unhealthy"
  | "stopping"
  | "stopped"
  | "failed"
  | "deleting"
  | "deleted";

/** What the user wants the instance to be. */
export type DesiredState = "running" | "stopped" | "deleted";

export interface Instance {
  id: string;
  name: string;
  description?: string;
  server_spec_id?: string | null;
  /** Wire-form spec, secret refs only (never values). */
  json_spec: Record<string, unknown>;
  status: InstanceStatus;
  status_reason?: string | null;
  desired_state: DesiredState;
  /** Bumped on every desired-state change (spec, start, stop, delete). */
  generation: number;
  /** The generation the reconciler last converged. */
  observed_generation: number;
  /** Hash of the normalized spec + effective environment, set by the API on every spec change. */
  spec_hash: string;
  /** Endpoint the runtime reported (Streamable HTTP or SSE URL), when running. */
  endpoint?: string | null;
  /**
   * The worker that last deployed it (for runtimes local to one process, such as the memory and
   * process runtimes, only that worker can observe it).
   */
  observed_by?: string | null;
  /** Consecutive failed starts (crash loop counter), reset when running is reached. */
  restart_count: number;
  /** Secret scopes an admin granted this instance besides its own `instance_<id>`. */
  secret_scopes?: string[];
  created_at: string;
  updated_at: string;
  /** Optimistic-concurrency version, bumped by the store on every write. */
  revision: number;
}
