import type { ContainerSpec, HealthCheck, ProcessSpec, Resources, UrlSpec, VolumeMount } from "../model/spec-types.js";
import { parseCpuQuantity, parseMemoryQuantity } from "./quantities.js";
import type { DockerWire, HealthCheckWire, ProcessWire, UrlWire, VolumesWire } from "./wire-schemas.js";

/** Defaults of a health check (wire seconds -> ms). */
export const HEALTH_DEFAULTS = { intervalMs: 30_000, timeoutMs: 5_000, retries: 3 } as const;

export function normalizeHealthCheck(h: HealthCheckWire | undefined): HealthCheck | undefined {
  if (h === undefined) return undefined;
  if (typeof h === "string") return { path: h, ...HEALTH_DEFAULTS };
  return {
    ...(h.path !== undefined ? { path: h.path } : {}),
    intervalMs: h.interval !== undefined ? Math.round(h.interval * 1000) : HEALTH_DEFAULTS.intervalMs,
    timeoutMs: h.timeout !== undefined ? Math.round(h.timeout * 1000) : HEALTH_DEFAULTS.timeoutMs,
    retries: h.retries ?? HEALTH_DEFAULTS.retries,
  };
}

export function normalizeEnvironment(
  env: Record<string, string | number | boolean> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (env) for (const k of Object.keys(env)) out[k] = String(env[k]);
  return out;
}

function normalizeResources(r: DockerWire["resources"]): Resources | undefined {
  if (!r) return undefined;
  const out: Resources = {};
  if (r.memory_limit !== undefined) {
    out.memoryBytes = parseMemoryQuantity(r.memory_limit) as number;
    out.memoryLimit = String(r.memory_limit);
  }
  if (r.cpu_limit !== undefined) {
    const cpu = parseCpuQuantity(r.cpu_limit) as { nanoCpus: number; milliCpus: number };
    out.nanoCpus = cpu.nanoCpus;
    out.milliCpus = cpu.milliCpus;
    out.cpuLimit = String(r.cpu_limit);
  }
  return out;
}

const BIND = /^(?:\/|\.\.?(?:\/|$))/;

function mount(source: string, target: string, readOnly: boolean): VolumeMount {
  return { source, kind: BIND.test(source) ? "bind" : "volume", target, readOnly };
}

export function normalizeVolumes(v: VolumesWire | undefined): VolumeMount[] {
  if (!v) return [];
  if (Array.isArray(v)) return v.map((m) => mount(m.source, m.target, m.read_only ?? false));
  return Object.keys(v).map((source) => {
    const t = v[source] as string | { bind: string; mode?: "ro" | "rw" };
    if (typeof t === "string") {
      const ro = t.endsWith(":ro");
      return mount(source, t.replace(/:(?:ro|rw)$/, ""), ro);
    }
    return mount(source, t.bind, t.mode === "ro");
  });
}

export function normalizeDocker(w: DockerWire): ContainerSpec {
  const spec: ContainerSpec = {
    type: "docker",
    image: w.image,
    transport: w.transport ?? "streamable-http",
    environment: normalizeEnvironment(w.environment),
    volumes: normalizeVolumes(w.volumes),
    restartPolicy: w.restart_policy ?? "on-failure",
    labels: w.labels ? { ...w.labels } : {},
    replicas: w.replicas ?? 1,
  };
  if (w.port !== undefined) spec.port = w.port;
  if (w.command !== undefined) spec.command = [...w.command];
  if (w.args !== undefined) spec.args = [...w.args];
  const resources = normalizeResources(w.resources);
  if (resources) spec.resources = resources;
  const hc = normalizeHealthCheck(w.health_check);
  if (hc) spec.healthCheck = hc;
  if (w.user !== undefined) spec.user = w.user;
  if (w.read_only_root_filesystem !== undefined) spec.readOnlyRootFilesystem = w.read_only_root_filesystem;
  if (w.timeout !== undefined) spec.timeoutMs = Math.round(w.timeout * 1000);
  return spec;
}

export function normalizeUrl(w: UrlWire): UrlSpec {
  const spec: UrlSpec = {
    type: "url",
    endpoint: w.endpoint,
    transport: w.transport ?? "streamable-http",
    headers: w.headers ? { ...w.headers } : {},
  };
  const hc = normalizeHealthCheck(w.health_check);
  if (hc) spec.healthCheck = hc;
  if (w.timeout !== undefined) spec.timeoutMs = Math.round(w.timeout * 1000);
  if (w.authentication) spec.authentication = { type: "bearer", token: w.authentication.token };
  return spec;
}

export function normalizeProcess(w: ProcessWire): ProcessSpec {
  const spec: ProcessSpec = {
    type: "process",
    command: typeof w.command === "string" ? [w.command] : [...w.command],
    environment: normalizeEnvironment(w.environment ?? w.env),
    transport: w.transport ?? "stdio",
    restartPolicy: w.restart_policy ?? "on-failure",
  };
  if (w.args !== undefined) spec.args = [...w.args];
  if (w.port !== undefined) spec.port = w.port;
  if (w.cwd !== undefined) spec.cwd = w.cwd;
  if (w.sandbox?.network !== undefined) spec.sandbox = { network: w.sandbox.network };
  const hc = normalizeHealthCheck(w.health_check);
  if (hc) spec.healthCheck = hc;
  if (w.timeout !== undefined) spec.timeoutMs = Math.round(w.timeout * 1000);
  return spec;
}
