import { FleetError, type FleetIssue, specInvalid } from "../errors.js";
import { isUrlSpec, specEnvironment } from "../model/spec-guards.js";
import type { AnyInstanceSpec } from "../model/spec-types.js";
import type { EnvSchema } from "../model/types.js";
import type { SecretRef } from "../plugins/secret-store.js";
import { allowedSecretScopes, checkSecretScopes, extractSecrets, looksLikeSecretRef } from "../secrets/index.js";
import { type SpecTypeRegistry, specHash, validateEnvironment } from "../spec/index.js";
import type { EndpointPolicy } from "./address-policy.js";
import { checkEndpoint } from "./endpoint-policy.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Instance ids are UUIDs and lookups try the id first: a name in that shape could never be reached by name. */
const UUID_SHAPED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkName(name: unknown, path = "name"): string {
  if (typeof name === "string" && UUID_SHAPED.test(name)) {
    throw specInvalid([{ path, message: "must not have the shape of an instance id (a UUID)" }], "instance");
  }
  if (typeof name !== "string" || !NAME.test(name) || name.includes("__")) {
    throw specInvalid(
      [
        {
          path,
          message:
            "must be 1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit, without '__'",
        },
      ],
      "instance",
    );
  }
  return name;
}

function prefixed(err: unknown, prefix: string): unknown {
  if (!FleetError.isInstance(err)) return err;
  const issues: FleetIssue[] = err.issues.map((i) => ({
    ...i,
    path: i.path.startsWith(prefix) ? i.path : i.path ? `${prefix}.${i.path}` : prefix,
  }));
  return new FleetError(err.code, err.message, {
    path: err.path ? (err.path.startsWith(prefix) ? err.path : `${prefix}.${err.path}`) : prefix,
    issues,
    isRetryable: err.isRetryable,
    cause: err.cause,
    details: err.details,
  });
}

export interface PreparedSpec {
  /** Wire spec with refs only: what is stored and published. */
  wire: Record<string, unknown>;
  spec: AnyInstanceSpec;
  hash: string;
  /** Secret values to write before storing the instance. */
  writes: { ref: SecretRef; value: string }[];
}

/**
 * Validates a caller's json_spec for an instance: secret values moved into refs under
 * `instance_<id>`, spec parsed, environment validated against the server's env schema (literal
 * values for `secret` vars refused), url endpoint policy. Errors carry `json_spec.`-prefixed paths.
 * `specs` is the fleet's spec type registry (built-ins and the adopter's `specTypes`).
 */
export function prepareSpec(
  instanceId: string,
  jsonSpec: unknown,
  secrets: Record<string, string> | undefined,
  envSchema: EnvSchema | undefined,
  endpointPolicy: EndpointPolicy,
  specs: SpecTypeRegistry,
  allowedScopes: ReadonlySet<string> = allowedSecretScopes(instanceId),
): PreparedSpec {
  if (typeof jsonSpec !== "object" || jsonSpec === null || Array.isArray(jsonSpec)) {
    throw specInvalid([{ path: "json_spec", message: "must be an object" }], "instance");
  }
  if (
    secrets !== undefined &&
    (typeof secrets !== "object" ||
      secrets === null ||
      Array.isArray(secrets) ||
      Object.values(secrets).some((v) => typeof v !== "string"))
  ) {
    throw specInvalid([{ path: "secrets", message: "must be an object of string values" }], "instance");
  }
  let wire = jsonSpec as Record<string, unknown>;
  let writes: PreparedSpec["writes"] = [];
  const toMove = { ...literalCredentials(wire), ...(secrets ?? {}) };
  if (Object.keys(toMove).length > 0) {
    try {
      const extracted = extractSecrets(wire, toMove, `instance_${instanceId}`);
      wire = extracted.spec;
      writes = extracted.writes;
    } catch (err) {
      throw prefixed(err, "json_spec");
    }
  }
  let spec: AnyInstanceSpec;
  let env: Record<string, string>;
  try {
    spec = specs.parse(wire);
    env =
      envSchema && envSchema.length > 0
        ? validateEnvironment(envSchema, specEnvironment(spec)).env
        : { ...specEnvironment(spec) };
  } catch (err) {
    throw prefixed(err, "json_spec");
  }
  checkSecretScopes(wire, allowedScopes);
  if (isUrlSpec(spec)) checkEndpoint(spec.endpoint, endpointPolicy);
  return { wire, spec, hash: specHash(spec, env), writes };
}

/**
 * A url spec's literal credentials (bearer token, header values) as secrets to move into the
 * secret store, so the stored spec, events and API answers hold refs only.
 */
function literalCredentials(wire: Record<string, unknown>): Record<string, string> {
  if (wire.type !== "url") return {};
  const out: Record<string, string> = {};
  const auth = wire.authentication as { token?: unknown } | undefined;
  if (auth && typeof auth === "object" && typeof auth.token === "string" && !looksLikeSecretRef(auth.token)) {
    out.AUTH_TOKEN = auth.token;
  }
  const headers = wire.headers;
  if (headers && typeof headers === "object" && !Array.isArray(headers)) {
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value === "string" && !looksLikeSecretRef(value)) out[`headers.${name}`] = value;
    }
  }
  return out;
}
