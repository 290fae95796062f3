import type { AnyInstanceSpec, DeployRequest, ObservedInstance, ReplicaEndpoint } from "@mcpfleet/core";
import { specHash } from "@mcpfleet/core/adapter";
import type Dockerode from "dockerode";
import { inspectContainer, wrapEngineError } from "./engine-ops.js";
import { LABEL } from "./naming.js";

export type ReplicaHealth = "all" | "any";

/**
 * Hash of what every copy of an instance shares: the spec without `replicas`, the effective
 * environment and the names of its secrets. Two deploys with the same template differ only in how
 * many copies they ask for, so scaling keeps the copies that exist. Never hashes secret values.
 */
export function templateHash(request: DeployRequest): string {
  const spec = { ...request.spec, replicas: 1 } as AnyInstanceSpec;
  const env = { ...request.env };
  for (const key of Object.keys(request.secrets.env)) env[key] = "(secret)";
  return specHash(spec, env).slice(0, 32);
}

/** The copy index a container's labels name (containers made before replicas are copy 0). */
export function replicaOf(labels: Record<string, string> | undefined): number {
  const n = Number(labels?.[LABEL.replica] ?? 0);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** What the last deploy through this process settled for an instance (labels cannot be updated). */
export interface Accepted {
  template: string;
  specHash: string;
  generation: number;
  replicas: number;
}

export interface Member {
  replica: number;
  labels: Record<string, string>;
  observed: ObservedInstance;
}

/**
 * One observation of an instance from its copies. The spec hash is the last accepted deploy's when
 * every copy still has its template (a scale keeps old copies, whose labels name the spec they were
 * made with); otherwise the oldest copy's, so a mixed set reads as not yet converged.
 */
export function combine(
  instanceId: string,
  members: Member[],
  accepted: Accepted | undefined,
  health: ReplicaHealth,
): ObservedInstance {
  const sorted = [...members].sort((a, b) => a.replica - b.replica);
  const uniform = accepted !== undefined && sorted.every((m) => m.labels[LABEL.template] === accepted.template);
  const oldest = [...sorted].sort((a, b) => (a.observed.generation ?? 0) - (b.observed.generation ?? 0))[0];
  const newest = [...sorted].sort((a, b) => (b.observed.generation ?? 0) - (a.observed.generation ?? 0))[0];
  const desired = uniform ? accepted.replicas : Math.max(1, Number(newest?.labels[LABEL.replicas] ?? 1) || 1);
  const active = sorted.filter((m) => m.replica < desired);
  const first = active[0] ?? sorted[0];
  const base: ObservedInstance = {
    instanceId,
    specHash: uniform ? accepted.specHash : (oldest?.observed.specHash ?? ""),
    phase: "unknown",
  };
  const generation = uniform ? accepted.generation : oldest?.observed.generation;
  if (generation !== undefined) base.generation = generation;
  if (first?.observed.transport) base.transport = first.observed.transport;
  const ready = active.filter((m) => m.observed.phase === "running" && m.observed.endpoint);
  const present = new Set(active.map((m) => m.replica));
  const missing = Array.from({ length: desired }, (_, i) => i).filter((i) => !present.has(i));
  const down = active.filter((m) => m.observed.phase === "exited" || m.observed.phase === "failed");
  const endpoints: ReplicaEndpoint[] = active
    .filter((m) => m.observed.endpoint)
    .map((m) => ({
      replica: m.replica,
      endpoint: m.observed.endpoint as string,
      ready: m.observed.phase === "running",
    }));
  const out: ObservedInstance = { ...base, replicas: { desired, ready: ready.length }, replicaEndpoints: endpoints };
  const lead = ready[0] ?? first;
  if (ready[0]?.observed.endpoint) out.endpoint = ready[0].observed.endpoint;
  if (lead?.observed.startedAt) out.startedAt = lead.observed.startedAt;
  const enough = health === "all" ? ready.length >= desired : ready.length > 0;
  if (enough) return { ...out, phase: "running" };
  const gone = down.length + missing.length;
  // "all": one copy down is the instance down; "any": only when no copy can still come up
  if (gone > 0 && (health === "all" || gone >= desired)) {
    const reasons = [
      ...down.map((m) => `replica ${m.replica}: ${m.observed.reason ?? "exited"}`),
      ...missing.map((i) => `replica ${i}: container is missing`),
    ];
    const exitCode = down.find((m) => m.observed.exitCode !== undefined)?.observed.exitCode;
    return {
      ...out,
      phase: down.some((m) => m.observed.phase === "failed") ? "failed" : "exited",
      reason: desired === 1 && reasons.length === 1 ? (down[0]?.observed.reason ?? reasons[0]) : reasons.join("; "),
      ...(exitCode !== undefined ? { exitCode } : {}),
      ...(down.some((m) => m.observed.permanent) ? { permanent: true } : {}),
    };
  }
  const phases = active.map((m) => m.observed.phase);
  return { ...out, phase: phases.includes("starting") || phases.includes("running") ? "starting" : "unknown" };
}

/** Every container of one instance of `owner` (by label), inspected, in copy order. */
export async function instanceContainers(
  client: Dockerode,
  owner: string,
  instanceId: string,
  signal?: AbortSignal,
): Promise<Dockerode.ContainerInspectInfo[]> {
  let found: Dockerode.ContainerInfo[];
  try {
    found = await client.listContainers({
      all: true,
      filters: { label: [`${LABEL.managedBy}=${owner}`, `${LABEL.instanceId}=${instanceId}`] },
      abortSignal: signal,
    });
  } catch (err) {
    throw wrapEngineError(err, `list containers of ${instanceId}`);
  }
  const mine = found.filter(
    (c) => c.Labels?.[LABEL.managedBy] === owner && c.Labels?.[LABEL.instanceId] === instanceId,
  );
  const infos = await Promise.all(mine.map((c) => inspectContainer(client, c.Id, signal)));
  return infos
    .filter((i): i is Dockerode.ContainerInspectInfo => i !== undefined)
    .sort((a, b) => replicaOf(a.Config?.Labels) - replicaOf(b.Config?.Labels));
}

/** A container's name without the leading slash the engine reports. */
export function nameOf(info: { Name?: string; Names?: string[] }): string {
  return (info.Name ?? info.Names?.[0] ?? "").replace(/^\//, "");
}
