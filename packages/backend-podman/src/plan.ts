import { resolve, sep } from "node:path";
import { type ContainerSpec, type DeployRequest, FleetError } from "@mcpfleet/core";
import type { ContainerPlan } from "./create-body.js";
import { containerName, LABEL, secretName } from "./naming.js";
import type { ResolvedOptions, SecretMode } from "./options.js";

/** Throws `HOST_PATH_REFUSED` for a bind mount outside `allowedHostPaths`. */
export function checkHostPaths(spec: ContainerSpec, allowed: string[]): void {
  spec.volumes.forEach((v, i) => {
    if (v.kind !== "bind") return;
    const path = resolve(v.source);
    const ok = allowed.some((a) => {
      const root = resolve(a);
      return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
    });
    if (!ok) {
      throw new FleetError(
        "HOST_PATH_REFUSED",
        `[mcpfleet/backend-podman] host path "${v.source}" is not allowed for bind mounts (allowedHostPaths: ${
          allowed.length ? allowed.join(", ") : "none"
        })`,
        { path: `json_spec.volumes[${i}]`, isRetryable: false, details: { hostPath: v.source } },
      );
    }
  });
}

function numericIds(user: string | undefined): { uid: number; gid: number } | undefined {
  const m = user ? /^(\d+)(?::(\d+))?$/.exec(user) : null;
  if (!m) return undefined;
  const uid = Number(m[1]);
  return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
}

export interface PlanInput {
  request: DeployRequest;
  spec: ContainerSpec;
  options: ResolvedOptions;
  secretMode: Exclude<SecretMode, "auto"> | "none";
  /** The image's own user (`Config.User`), used for secret file ownership. */
  imageUser?: string;
  /** The image's first exposed TCP port, used when the spec has none. */
  imagePort?: number;
}

export interface Plan {
  plan: ContainerPlan;
  /** Secrets to create first: names and values. Never log. */
  secrets: { name: string; value: string }[];
}

export function buildPlan({ request, spec, options, secretMode, imageUser, imagePort }: PlanInput): Plan {
  const { instance } = request;
  const name = containerName(options.owner, instance.id);
  const stdio = spec.transport === "stdio";
  const containerPort = stdio ? undefined : (spec.port ?? imagePort);
  if (!containerPort && !stdio) {
    throw new FleetError(
      "SPEC_INVALID",
      "[mcpfleet/backend-podman] json_spec.port is required (the image exposes none)",
      {
        path: "json_spec.port",
        isRetryable: false,
      },
    );
  }
  const user = spec.user ?? options.user;
  const endpointPath = options.endpointPath ?? (spec.transport === "sse" ? "/sse" : "/mcp");
  const env: Record<string, string> = { ...request.env };
  const secretEnv: Record<string, string> = {};
  const secretMounts: ContainerPlan["secretMounts"] = [];
  const secrets: Plan["secrets"] = [];
  const ids = numericIds(user ?? imageUser);
  for (const [key, value] of Object.entries(request.secrets.env)) {
    if (secretMode === "plain-env") {
      env[key] = value;
      continue;
    }
    const sname = secretName(name, instance.specHash, key);
    secrets.push({ name: sname, value });
    if (secretMode === "podman-env") secretEnv[key] = sname;
    else {
      const target = `${options.secretsDir}/${key}`;
      secretMounts.push({ secret: sname, target, uid: ids?.uid ?? 0, gid: ids?.gid ?? 0, mode: ids ? 0o400 : 0o444 });
      env[`${key}_FILE`] = target;
    }
  }
  const labels: Record<string, string> = {
    ...spec.labels,
    [LABEL.instanceId]: instance.id,
    [LABEL.specHash]: instance.specHash,
    [LABEL.managedBy]: options.owner,
    [LABEL.generation]: String(instance.generation),
    [LABEL.transport]: spec.transport,
    [LABEL.endpointPath]: endpointPath,
  };
  if (containerPort) labels[LABEL.containerPort] = String(containerPort);
  if (secrets.length) labels[LABEL.secrets] = secrets.map((s) => s.name).join(",");
  const cmd = spec.command ? [...spec.command, ...(spec.args ?? [])] : spec.args;
  const hostPort = options.hostPortFor?.(instance.id);
  const plan: ContainerPlan = {
    name,
    image: spec.image,
    labels,
    env,
    ...(cmd?.length ? { cmd } : {}),
    ...(containerPort ? { containerPort } : {}),
    ...(hostPort && containerPort ? { hostPort } : {}),
    network: options.network,
    memoryBytes: spec.resources?.memoryBytes ?? options.defaultMemoryBytes,
    nanoCpus: spec.resources?.nanoCpus ?? Math.round(options.defaultCpus * 1e9),
    ...(user ? { user } : {}),
    readOnlyRootFilesystem: spec.readOnlyRootFilesystem ?? options.readOnlyRootFilesystem,
    binds: spec.volumes
      .filter((v) => v.kind === "bind")
      .map((v) => ({ source: resolve(v.source), target: v.target, readOnly: v.readOnly })),
    volumes: spec.volumes
      .filter((v) => v.kind === "volume")
      .map((v) => ({ name: v.source, target: v.target, readOnly: v.readOnly })),
    secretMounts,
    secretEnv,
    stopTimeoutSeconds: options.stopTimeoutSeconds,
    openStdin: stdio,
  };
  return { plan, secrets };
}
