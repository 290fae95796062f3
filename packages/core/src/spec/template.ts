import { z } from "zod";
import type { InstantiateOverrides } from "../engine/fleet-types.js";
import { FleetError, type FleetIssue, specInvalid } from "../errors.js";
import type { EnvSchemaEntry, Template } from "../model/types.js";
import { containerStartRequestToWire } from "./container-request.js";
import { parseEnvSchema } from "./env-schema.js";
import { isRecord, reservedKeyIssues, zodIssues } from "./issues.js";
import { parseInstanceSpec } from "./parse-spec.js";
import { ENV_NAME, RESERVED_KEYS } from "./wire-schemas.js";

const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const templateSchema = z.object({
  name: z
    .string({ error: "must be a string" })
    .regex(TEMPLATE_NAME, { error: "must be 1-128 letters, digits, '.', '_' or '-'" }),
  description: z.string({ error: "must be a string" }).max(4096).nullable().optional(),
  default_config: z.record(z.string(), z.unknown(), { error: "must be an object" }).optional(),
  required_env_vars: z
    .array(
      z
        .string()
        .regex(ENV_NAME, { error: "must be an environment variable name" })
        .refine((n) => !RESERVED_KEYS.has(n), { error: "reserved name is not allowed" }),
      {
        error: "must be an array of names",
      },
    )
    .optional(),
  capabilities: z
    .array(z.string({ error: "must be a string" }).max(256), { error: "must be an array of strings" })
    .optional(),
  env_schema: z.unknown().optional(),
});

/**
 * Loads a template of the original manager, in either format:
 * - with `default_config` (flat container keys: image, port, environment, memory_limit, ...),
 *   `required_env_vars` (become required string entries of the env schema) and `capabilities`;
 * - flat (`image`, `port`, `environment`, `volumes`, `command` at the top level).
 * An `env_schema` array may be given too. The key is the name. The json_spec is validated.
 */
export function parseTemplate(json: unknown): Template {
  if (!isRecord(json)) throw specInvalid([{ path: "", message: "must be an object" }], "template");
  const issues: FleetIssue[] = reservedKeyIssues(json);
  const r = templateSchema.safeParse(json);
  if (!r.success) issues.push(...zodIssues(r.error.issues));
  if (issues.length > 0 || !r.success) throw specInvalid(issues, "template");
  const t = r.data;
  const config: Record<string, unknown> = t.default_config ? { ...t.default_config } : { ...json };
  if (config.image === undefined && json.image !== undefined) config.image = json.image;
  const configPath = t.default_config ? "default_config" : "";
  const wire = containerStartRequestToWire(config);
  try {
    parseInstanceSpec(wire);
  } catch (err) {
    throw prefixIssues(err, configPath, "template");
  }
  let envSchema: EnvSchemaEntry[] = [];
  if (t.env_schema !== undefined && t.env_schema !== null) envSchema = parseEnvSchema(t.env_schema, "env_schema");
  for (const name of t.required_env_vars ?? []) {
    const existing = envSchema.find((e) => e.name === name);
    if (existing) existing.required = true;
    else envSchema.push({ name, type: "string", required: true, secret: false });
  }
  const template: Template = {
    key: t.name,
    name: t.name,
    json_spec: wire,
    env_schema: envSchema,
    capabilities: [...(t.capabilities ?? [])],
  };
  if (typeof t.description === "string") template.description = t.description;
  return template;
}

const overridesSchema = z.object({
  name: z.string({ error: "must be a string" }).min(1).max(128).optional(),
  service_name: z.string({ error: "must be a string" }).min(1).max(128).optional(),
  environment: z
    .record(
      z.string(),
      z.union([z.string(), z.number(), z.boolean()], { error: "must be a string, number or boolean" }),
      { error: "must be an object" },
    )
    .optional(),
  replicas: z.number({ error: "must be an integer from 1 to 100" }).int().min(1).max(100).optional(),
});

/**
 * Applies a "create from template" request (`service_name` or `name`, `environment` merged over
 * the template's, `replicas`) and returns `{ name, json_spec }` for `instances.create`. The name
 * defaults to the template's. The json_spec is validated (`SPEC_INVALID` naming the override).
 */
export function templateInstanceInput(
  template: Template,
  overrides: InstantiateOverrides | Record<string, unknown> = {},
): { name: string; json_spec: Record<string, unknown> } {
  const issues: FleetIssue[] = reservedKeyIssues(overrides);
  const r = overridesSchema.safeParse(overrides);
  if (!r.success) issues.push(...zodIssues(r.error.issues));
  if (issues.length > 0 || !r.success) throw specInvalid(issues, "template overrides");
  const o = r.data;
  const json_spec: Record<string, unknown> = { ...template.json_spec };
  if (o.environment) {
    const base = isRecord(template.json_spec.environment) ? template.json_spec.environment : {};
    json_spec.environment = { ...base, ...o.environment };
  }
  if (o.replicas !== undefined) json_spec.replicas = o.replicas;
  parseInstanceSpec(json_spec);
  return { name: o.name ?? o.service_name ?? template.name, json_spec };
}

function prefixIssues(err: unknown, prefix: string, what: string): unknown {
  if (!FleetError.isInstance(err) || !prefix) return err;
  return specInvalid(
    err.issues.map((i) => ({ ...i, path: i.path ? `${prefix}.${i.path}` : prefix })),
    what,
  );
}
