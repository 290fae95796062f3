import { INSTANCE_STATUSES } from "@mcpfleet/core";
import { z } from "zod";

/**
 * Request and response shapes of the REST API. They check the envelope and feed the OpenAPI
 * document; the engine validates the content (json_spec, env_schema) and reports every issue.
 */

const envValue = z.union([z.string(), z.number(), z.boolean()]);
const secretsMap = z
  .record(z.string(), z.string())
  .describe(
    "Secret values by env var name (or AUTH_TOKEN / header name); stored in the secret store, only refs are kept.",
  );

export const EnvSchemaEntry = z.looseObject({
  name: z.string().min(1),
  type: z.enum(["string", "integer", "number", "boolean"]).optional(),
  description: z.string().optional(),
  required: z.boolean().optional(),
  secret: z.boolean().optional(),
  default: z.union([envValue, z.null()]).optional(),
});

export const ServerInput = z
  .looseObject({
    name: z.string().min(1).max(128),
    description: z.string().optional(),
    docker_image_url: z.string().optional(),
    version: z.string().optional(),
    tags: z.array(z.string()).optional(),
    status: z.enum(["active", "inactive", "deprecated"]).optional(),
    is_public: z.boolean().optional(),
    env_schema: z.array(EnvSchemaEntry).optional(),
    secret_scopes: z
      .array(z.string())
      .optional()
      .describe("Secret scopes this server's instances may reference besides their own instance_<id>."),
  })
  .meta({ id: "ServerInput" });

export const ServerPatch = ServerInput.partial()
  .extend({
    revision: z.number().int().min(0).optional().describe("Refuse with 409 unless the stored revision matches."),
  })
  .meta({ id: "ServerPatch" });

export const ServerDefinition = ServerInput.extend({
  id: z.string(),
  tags: z.array(z.string()),
  status: z.enum(["active", "inactive", "deprecated"]),
  is_public: z.boolean(),
  env_schema: z.array(EnvSchemaEntry),
  created_at: z.string(),
  updated_at: z.string(),
  revision: z.number().int(),
}).meta({ id: "ServerDefinition" });

export const JsonSpec = z
  .looseObject({
    type: z.string().min(1).describe("docker (alias container), url, process, or a registered custom type"),
  })
  .meta({
    id: "JsonSpec",
    description: "Wire-form instance spec; secret values appear only as secret_ref:<scope>:<key>.",
  });

const SecretScopes = z
  .array(z.string())
  .max(64)
  .describe("Admin only: secret scopes granted to this instance besides its own instance_<id>.");

export const InstanceCreate = z
  .object({
    name: z.string().min(1).max(128),
    description: z.string().optional(),
    server_spec_id: z.string().nullable().optional(),
    json_spec: JsonSpec,
    secrets: secretsMap.optional(),
    start: z.boolean().optional().describe("Start right away (default true)."),
    secret_scopes: SecretScopes.optional(),
  })
  .meta({ id: "InstanceCreate" });

export const InstanceUpdate = z
  .object({
    name: z.string().min(1).max(128).optional(),
    description: z.string().optional(),
    json_spec: JsonSpec.optional(),
    secrets: secretsMap.optional(),
    secret_scopes: SecretScopes.optional(),
    revision: z.number().int().min(0).optional(),
  })
  .meta({ id: "InstanceUpdate" });

export const InstanceStatus = z.enum(INSTANCE_STATUSES);

export const Instance = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().optional(),
    server_spec_id: z.string().nullable().optional(),
    json_spec: JsonSpec,
    status: InstanceStatus,
    status_reason: z.string().nullable().optional(),
    desired_state: z.enum(["running", "stopped", "deleted"]),
    generation: z.number().int(),
    observed_generation: z.number().int(),
    spec_hash: z.string(),
    endpoint: z.string().nullable().optional(),
    observed_by: z.string().nullable().optional(),
    restart_count: z.number().int(),
    secret_scopes: z.array(z.string()).optional(),
    created_at: z.string(),
    updated_at: z.string(),
    revision: z.number().int(),
  })
  .meta({ id: "Instance" });

export const InstanceStatusView = Instance.pick({
  id: true,
  name: true,
  status: true,
  status_reason: true,
  desired_state: true,
  generation: true,
  observed_generation: true,
  endpoint: true,
  restart_count: true,
  updated_at: true,
}).meta({ id: "InstanceStatusView" });

export const InstanceListQuery = z.object({
  status: InstanceStatus.optional(),
  server_spec_id: z.string().optional(),
  name_prefix: z.string().min(1).max(128).optional().describe("Only names starting with this."),
  label: z
    .string()
    .regex(/^[^=]+(=.*)?$/, { error: "must be key or key=value" })
    .optional()
    .describe("json_spec.labels filter: `key` (present) or `key=value`."),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).optional().describe("Legacy paging (reads every instance); prefer `cursor`."),
  cursor: z
    .string()
    .min(1)
    .max(2000)
    .optional()
    .describe("X-Next-Cursor of the previous page: keyset paging in (name, id) order."),
});

export const LogsQuery = z.object({
  follow: z
    .enum(["true", "false", "1", "0"])
    .transform((v) => v === "true" || v === "1")
    .default(false),
  tail: z.coerce.number().int().min(0).max(100_000).optional(),
});

export const FromTemplate = z
  .looseObject({
    service_name: z.string().min(1).max(128).optional(),
    name: z.string().min(1).max(128).optional(),
    template: z.string().optional().describe("Ignored when it matches the path key; refused when it differs."),
    environment: z.record(z.string(), envValue).optional(),
    replicas: z.number().int().min(1).max(100).optional(),
    secrets: secretsMap.optional(),
  })
  .meta({ id: "CreateFromTemplate" });

export const ContainerStart = z
  .looseObject({
    image: z.string().min(1),
    name: z.string().min(1).max(128).optional().describe("Instance name (default: derived from the image)."),
    port: z.number().int().optional(),
    environment: z.record(z.string(), envValue).optional(),
    volumes: z.unknown().optional(),
    memory_limit: z.union([z.string(), z.number()]).optional(),
    cpu_limit: z.union([z.string(), z.number()]).optional(),
    restart_policy: z.string().optional(),
    health_check_path: z.string().optional(),
    health_check_interval: z.number().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    secrets: secretsMap.optional(),
    start: z.boolean().optional(),
  })
  .meta({ id: "ContainerStartRequest" });

export const Template = z
  .object({
    key: z.string(),
    name: z.string(),
    description: z.string().optional(),
    json_spec: JsonSpec,
    env_schema: z.array(EnvSchemaEntry),
    capabilities: z.array(z.string()),
  })
  .meta({ id: "Template" });

export const TemplateInput = z.looseObject({ name: z.string().min(1) }).meta({
  id: "TemplateInput",
  description: "A template in either of the original manager's formats (default_config + required_env_vars, or flat).",
});

export const Tool = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  inputSchema: z.unknown().optional(),
});

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().describe("FleetError code"),
    path: z.string().optional().describe("JSON path the problem is about"),
    issues: z.array(z.object({ path: z.string(), message: z.string() })),
    instance: z.string().optional(),
  })
  .meta({ id: "Problem" });

export const IdParam = z.object({ id: z.string().min(1) });
export const KeyParam = z.object({ key: z.string().min(1) });
