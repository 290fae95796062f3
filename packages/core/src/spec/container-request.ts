import { specInvalid } from "../errors.js";
import type { ContainerSpec } from "../model/spec-types.js";
import { isRecord } from "./issues.js";
import { parseInstanceSpec } from "./parse-spec.js";

/** Keys copied as they are from a flat body into the docker json_spec. */
const PASSTHROUGH = [
  "image",
  "port",
  "transport",
  "environment",
  "command",
  "args",
  "volumes",
  "restart_policy",
  "labels",
  "replicas",
  "user",
  "read_only_root_filesystem",
  "resources",
  "health_check",
] as const;

/**
 * Maps a flat "start container" body of the original manager (`memory_limit`, `cpu_limit`,
 * `health_check_path`, `health_check_interval`, `health_check_timeout`, `health_check_retries`
 * beside `image`, `port`, `environment`, `volumes`, `restart_policy`, `labels`...) to the
 * equivalent wire docker `json_spec`. Nested `resources`/`health_check` are merged with the flat
 * keys (flat keys win). Does not validate; see `parseContainerStartRequest`.
 */
export function containerStartRequestToWire(input: unknown): Record<string, unknown> {
  if (!isRecord(input)) throw specInvalid([{ path: "", message: "must be an object" }], "container start request");
  const wire: Record<string, unknown> = { type: "docker" };
  for (const k of PASSTHROUGH) if (input[k] !== undefined) wire[k] = input[k];
  const resources: Record<string, unknown> = isRecord(input.resources) ? { ...input.resources } : {};
  if (input.memory_limit !== undefined) resources.memory_limit = input.memory_limit;
  if (input.cpu_limit !== undefined) resources.cpu_limit = input.cpu_limit;
  if (Object.keys(resources).length > 0) wire.resources = resources;
  const flatHealth = {
    path: input.health_check_path,
    interval: input.health_check_interval,
    timeout: input.health_check_timeout,
    retries: input.health_check_retries,
  };
  if (Object.values(flatHealth).some((v) => v !== undefined)) {
    const base: Record<string, unknown> =
      typeof input.health_check === "string"
        ? { path: input.health_check }
        : isRecord(input.health_check)
          ? { ...input.health_check }
          : {};
    for (const [k, v] of Object.entries(flatHealth)) if (v !== undefined) base[k] = v;
    wire.health_check = base;
  }
  return wire;
}

/**
 * Validates a flat "start container" body: returns the wire `json_spec` (ready for
 * `instances.create`) and its normalized spec. Issue paths are those of the json_spec
 * (`resources.memory_limit` for a bad flat `memory_limit`, `health_check.path` for
 * `health_check_path`).
 */
export function parseContainerStartRequest(input: unknown): {
  json_spec: Record<string, unknown>;
  spec: ContainerSpec;
} {
  const json_spec = containerStartRequestToWire(input);
  return { json_spec, spec: parseInstanceSpec(json_spec) as ContainerSpec };
}
