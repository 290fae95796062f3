import { FleetError } from "../errors.js";
import type { AnyInstanceSpec } from "../model/spec-types.js";
import type { RuntimeBackend } from "../plugins/runtime.js";
import { isRecord } from "../spec/issues.js";
import type { EngineContext } from "./context.js";

/**
 * Refuses a container spec asking for more than one replica on a runtime that cannot run replicas
 * (`capabilities.replicas` not true): `UNSUPPORTED` at `json_spec.replicas`, never silently one copy.
 * Without a runtime at hand (an API-only process) the worker's deploy makes the same check.
 */
export function checkReplicas(spec: AnyInstanceSpec, runtime: RuntimeBackend | undefined, path = "json_spec.replicas") {
  const replicas = (spec as { replicas?: unknown }).replicas;
  if (spec.type !== "docker" || typeof replicas !== "number" || replicas <= 1 || !runtime) return;
  if (runtime.capabilities?.replicas === true) return;
  throw new FleetError(
    "UNSUPPORTED",
    `runtime ${runtime.name} cannot run replicas (asked for ${replicas}); set replicas to 1 or use a runtime with replicas (podman, kubernetes)`,
    { path, isRetryable: false, details: { runtime: runtime.name, replicas } },
  );
}

/**
 * A docker spec without an image takes its server definition's `docker_image_url` (the seeds'
 * MCPServer image is the default of its instances). The image is written into the stored spec.
 */
export async function withDefaultImage(
  ctx: EngineContext,
  serverId: string | null | undefined,
  jsonSpec: unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  if (!serverId || !isRecord(jsonSpec)) return jsonSpec;
  if (jsonSpec.type !== "docker" && jsonSpec.type !== "container") return jsonSpec;
  if (jsonSpec.image !== undefined && jsonSpec.image !== "") return jsonSpec;
  const server = await ctx.store.servers.get(serverId, { signal });
  return server?.docker_image_url ? { ...jsonSpec, image: server.docker_image_url } : jsonSpec;
}
