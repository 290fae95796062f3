import { isUrlSpec } from "../model/spec-guards.js";
import type { AnyInstanceSpec, Transport } from "../model/spec-types.js";
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
