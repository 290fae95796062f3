import {
  type CallOptions,
  type CreateInstanceInput,
  type Fleet,
  type Instance,
  type InstantiateOverrides,
  templateInstanceInput,
  validateEnvironment,
} from "@mcpfleet/core";
import { authorizeInstanceInput } from "../auth/admin-fields.js";
import type { Principal } from "../auth/keys.js";
import { assertPermits } from "../auth/policy-scope.js";

/**
 * The one place every route that creates an instance goes through (REST create, containers, catalog,
 * import, the compatibility router), so role rules on what a caller may create, and a policy's
 * instance limit, hold on all of them.
 */
export async function createInstanceAs(
  fleet: Fleet,
  principal: Principal,
  input: CreateInstanceInput,
  options: CallOptions = {},
): Promise<Instance> {
  authorizeInstanceInput(principal, input as unknown as Record<string, unknown>);
  assertPermits(principal, input);
  return fleet.instances.create(input, options);
}

/**
 * Creates an instance from a loaded template (the original manager's "create service from template"),
 * through {@link createInstanceAs}: `service_name`/`name`, `environment` merged over the template's,
 * `replicas`, optional `secrets`. The template's env schema (required vars) is checked first.
 */
export async function instantiateTemplateAs(
  fleet: Fleet,
  principal: Principal,
  key: string,
  overrides: InstantiateOverrides,
  options: CallOptions = {},
): Promise<Instance> {
  const template = await fleet.templates.get(key);
  const { secrets, start, ...rest } = overrides as InstantiateOverrides & { start?: boolean };
  const input = templateInstanceInput(template, rest);
  if (template.env_schema.length > 0) {
    const env = { ...((input.json_spec.environment as Record<string, string> | undefined) ?? {}) };
    for (const k of Object.keys(secrets ?? {})) env[k] = `secret_ref:pending:${k}`;
    validateEnvironment(template.env_schema, env);
  }
  return createInstanceAs(
    fleet,
    principal,
    { ...input, ...(secrets ? { secrets } : {}), ...(typeof start === "boolean" ? { start } : {}) },
    options,
  );
}
