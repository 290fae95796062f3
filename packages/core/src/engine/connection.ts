import { isUrlSpec } from "../model/spec-guards.js";
import type { AnyInstanceSpec, Transport } from "../model/spec-types.js";
import type { Instance } from "../model/types.js";
import { resolveSpecSecrets } from "../secrets/index.js";
import type { EngineContext } from "./context.js";

/** Upstream headers for an instance: literal headers, resolved secret headers, bearer token. Never log. */
export async function upstreamHeaders(
  ctx: EngineContext,
  spec: AnyInstanceSpec,
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  if (!isUrlSpec(spec)) return {};
  const { secrets } = await resolveSpecSecrets(spec, ctx.secrets, { signal });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.headers ?? {})) if (!v.startsWith("secret_ref:")) headers[k] = v;
  Object.assign(headers, secrets.headers);
  if (secrets.authToken) headers.authorization = `Bearer ${secrets.authToken}`;
  return headers;
}

export function transportOf(
  spec: AnyInstanceSpec,
  observed?: Exclude<Transport, "stdio">,
): Exclude<Transport, "stdio"> {
  if (observed) return observed;
  const t = (spec as { transport?: Transport }).transport;
  return t === "sse" ? "sse" : "streamable-http";
}

/**
 * The endpoint callers may see: a url instance's (it is its spec's), else null. Endpoints runtimes
 * report for what they run (stdio bridges, process ports, published container ports) are internal:
 * only the gateway uses them, so APIs never show them, to any role.
 */
export function visibleEndpoint(inst: Pick<Instance, "json_spec" | "endpoint">): string | null {
  const spec = inst.json_spec as { type?: unknown } | null | undefined;
  return spec?.type === "url" ? (inst.endpoint ?? null) : null;
}

/** The instance as APIs return it: internal endpoint hidden (see visibleEndpoint). */
export function instanceView<T extends Pick<Instance, "json_spec" | "endpoint">>(inst: T): T {
  return { ...inst, endpoint: visibleEndpoint(inst) };
}
