import { randomUUID } from "node:crypto";
import { endpointPolicyFrom } from "../engine/address-policy.js";
import { prepareSpec } from "../engine/spec-input.js";
import { specEnvironment } from "../model/spec-guards.js";
import type { AnyInstanceSpec } from "../model/spec-types.js";
import type { EnvSchema } from "../model/types.js";
import type { DeployRequest } from "../plugins/runtime.js";
import { resolveSpecSecretsWith } from "../secrets/resolve.js";
import { allowedSecretScopes } from "../secrets/scope-check.js";
import { formatSecretRef, parseSecretRef } from "../secrets/secret-ref.js";
import { validateEnvironment } from "../spec/env-validate.js";
import { type ParseSpecOptions, specTypeRegistryOf } from "../spec/parse-spec.js";

export interface DeployRequestOptions {
  /** Instance id (default `req-<uuid>`); also the secret scope `instance_<id>`. */
  id?: string;
  /** Default: the id. */
  name?: string;
  /** Default 1. */
  generation?: number;
  serverSpecId?: string | null;
  /** The adopter's spec types, as given to `createFleet({ specTypes })` (or a registry). */
  specTypes?: ParseSpecOptions["types"];
  /** Secret values by env var name (or `AUTH_TOKEN` / `headers.<Name>` on url specs), as `instances.create` takes them. */
  secrets?: Record<string, string>;
  /** Values of refs already written in the spec (`{ "secret_ref:vault:token": "..." }`). */
  refs?: Record<string, string>;
  /** The server definition's env schema: its defaults and coercions apply, as in the engine. */
  envSchema?: EnvSchema;
}

/**
 * The `DeployRequest` a fleet would hand a runtime for an instance created with `jsonSpec` (a wire
 * `json_spec`): parsed through the same spec type registry (built-ins plus `specTypes`, schema
 * defaults applied), `secrets` moved into refs under `instance_<id>` and resolved into
 * `request.secrets`, env schema defaults applied, the engine's spec hash. Bad input throws the
 * same `FleetError`s as `instances.create` (`SPEC_INVALID` with `json_spec.` paths,
 * `SECRET_NOT_FOUND` for a ref with no value). Endpoint and host-path policies are not applied.
 */
export function deployRequest(jsonSpec: Record<string, unknown>, options: DeployRequestOptions = {}): DeployRequest {
  const id = options.id ?? `req-${randomUUID()}`;
  const prepared = prepareSpec(
    id,
    jsonSpec,
    options.secrets,
    options.envSchema,
    // a builder for runtime tests: loopback and private endpoints pass (link-local/metadata never do)
    endpointPolicyFrom(undefined, true),
    specTypeRegistryOf(options.specTypes),
    // the scopes of the refs given values count as granted (the fleet checks grants; a builder has none)
    allowedSecretScopes(
      id,
      Object.keys(options.refs ?? {}).map((r) => parseSecretRef(r, "refs").scope),
    ),
  );
  let spec: AnyInstanceSpec = prepared.spec;
  if (options.envSchema && options.envSchema.length > 0) {
    spec = {
      ...spec,
      environment: validateEnvironment(options.envSchema, specEnvironment(spec)).env,
    } as AnyInstanceSpec;
  }
  const values = new Map<string, string>(Object.entries(options.refs ?? {}));
  for (const w of prepared.writes) values.set(formatSecretRef(w.ref), w.value);
  const { env, secrets } = resolveSpecSecretsWith(spec, (ref) => values.get(formatSecretRef(ref)));
  return {
    instance: {
      id,
      name: options.name ?? id,
      generation: options.generation ?? 1,
      specHash: prepared.hash,
      serverSpecId: options.serverSpecId ?? null,
    },
    spec,
    env,
    secrets,
  };
}
