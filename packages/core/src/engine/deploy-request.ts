import { isUrlSpec, specEnvironment } from "../model/spec-guards.js";
import type { AnyInstanceSpec } from "../model/spec-types.js";
import type { Instance } from "../model/types.js";
import type { DeployRequest } from "../plugins/runtime.js";
import { resolveSpecSecrets } from "../secrets/index.js";
import { parseInstanceSpec, validateEnvironment } from "../spec/index.js";
import type { EngineContext } from "./context.js";
import { checkEndpoint, checkHostPaths } from "./endpoint-policy.js";

/** The instance's env schema (from its server definition), or none. */
export async function envSchemaOf(ctx: EngineContext, inst: Pick<Instance, "server_spec_id">) {
  if (!inst.server_spec_id) return undefined;
  const server = await ctx.store.servers.get(inst.server_spec_id);
  return server?.env_schema;
}

/** Spec with the env schema's defaults applied (refs kept as refs). */
export async function effectiveSpec(ctx: EngineContext, inst: Instance): Promise<AnyInstanceSpec> {
  const spec = parseInstanceSpec(inst.json_spec);
  const schema = await envSchemaOf(ctx, inst);
  if (!schema || schema.length === 0) return spec;
  const { env } = validateEnvironment(schema, specEnvironment(spec));
  return { ...spec, environment: env } as AnyInstanceSpec;
}

/**
 * Builds what a runtime needs: effective environment, resolved secrets (SECRET_NOT_FOUND naming the
 * ref when one is missing), host path and endpoint policy checks. Holds secret values: never log it.
 */
export async function buildDeployRequest(
  ctx: EngineContext,
  inst: Instance,
  signal?: AbortSignal,
): Promise<DeployRequest> {
  const spec = await effectiveSpec(ctx, inst);
  checkHostPaths(spec, ctx.settings.allowedHostPaths);
  if (isUrlSpec(spec)) checkEndpoint(spec.endpoint, ctx.settings.allowUnsafeEndpoints);
  const { env, secrets } = await resolveSpecSecrets(spec, ctx.secrets, { signal });
  return {
    instance: {
      id: inst.id,
      name: inst.name,
      generation: inst.generation,
      specHash: inst.spec_hash,
      serverSpecId: inst.server_spec_id ?? null,
    },
    spec,
    env,
    secrets,
  };
}
