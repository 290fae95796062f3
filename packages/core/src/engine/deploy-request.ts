import { isUrlSpec, specEnvironment } from "../model/spec-guards.js";
import type { AnyInstanceSpec } from "../model/spec-types.js";
import type { Instance } from "../model/types.js";
import type { DeployRequest } from "../plugins/runtime.js";
import { allowedSecretScopes, checkSecretScopes, resolveSpecSecrets } from "../secrets/index.js";
import { validateEnvironment } from "../spec/index.js";
import type { EngineContext } from "./context.js";
import { checkEndpoint } from "./endpoint-policy.js";
import { checkHostPaths } from "./host-paths.js";

/** The instance's env schema (from its server definition), or none. */
export async function envSchemaOf(ctx: EngineContext, inst: Pick<Instance, "server_spec_id">) {
  if (!inst.server_spec_id) return undefined;
  const server = await ctx.store.servers.get(inst.server_spec_id);
  return server?.env_schema;
}

/** Secret scopes the instance's spec may reference: its own, its server's grants, its admin grants, the fleet's. */
export async function secretScopesOf(
  ctx: EngineContext,
  id: string,
  inst: Pick<Instance, "server_spec_id" | "secret_scopes">,
): Promise<Set<string>> {
  const server = inst.server_spec_id ? await ctx.store.servers.get(inst.server_spec_id) : undefined;
  return allowedSecretScopes(id, server?.secret_scopes, inst.secret_scopes, ctx.settings.sharedSecretScopes);
}

/** Spec with the env schema's defaults applied (refs kept as refs). */
export async function effectiveSpec(ctx: EngineContext, inst: Instance): Promise<AnyInstanceSpec> {
  const spec = ctx.specs.parse(inst.json_spec);
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
  // again at deploy: a spec stored before a grant was withdrawn (or written around the API) is refused
  checkSecretScopes(inst.json_spec, await secretScopesOf(ctx, inst.id, inst));
  if (isUrlSpec(spec)) checkEndpoint(spec.endpoint, ctx.settings.endpointPolicy);
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
