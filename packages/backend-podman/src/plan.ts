import { resolve, sep } from "node:path";
import { type ContainerSpec, type DeployRequest, FleetError } from "@mcpfleet/core";
import type { ContainerPlan } from "./create-body.js";
import { LABEL, replicaName, secretName } from "./naming.js";
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
  /** Which copy (0 unless the spec asks for replicas). */
  replica?: number;
  /** Hash of what every copy shares (see `templateHash`). */
  template?: string;
}

export interface Plan {
  plan: ContainerPlan;
  /** Secrets to create first: names and values. Never log. */
  secrets: { name: string; value: string }[];
}

export function buildPlan(input: PlanInput): Plan {
  const { request, spec, options, secretMode, imageUser, imagePort, replica = 0 } = input;
  const { instance } = request;
  const name = replicaName(options.owner, instance.id, replica);
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
  // every copy knows which one it is (logs, metrics, a server that reports it)
  const env: Record<string, string> = { ...request.env, MCPFLEET_REPLICA: String(replica) };
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
    [LABEL.replica]: String(replica),
    [LABEL.replicas]: String(spec.replicas ?? 1),
  };
  if (input.template) labels[LABEL.template] = input.template;
  if (containerPort) {
    labels[LABEL.containerPort] = String(containerPort);
    labels[LABEL.publishHost] = options.publishHost;
  }
  if (secrets.length) labels[LABEL.secrets] = secrets.map((s) => s.name).join(",");
  const cmd = spec.command ? [...spec.command, ...(spec.args ?? [])] : spec.args;
  const hostPort = options.hostPortFor?.(instance.id, replica);
  const plan: ContainerPlan = {
    name,
    image: spec.image,
    labels,
    env,
    ...(cmd?.length ? { cmd } : {}),
    ...(containerPort ? { containerPort } : {}),
    ...(hostPort && containerPort ? { hostPort } : {}),
    hostIp: options.publishHost,
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

/** Refuses what no engine runs here: non-docker specs, stdio replicas, bind mounts outside the allowed paths. */
export function checkRequest(request: DeployRequest, allowedHostPaths: string[]): ContainerSpec {
  const spec = request.spec;
  if (spec.type !== "docker") {
    throw new FleetError(
      "UNSUPPORTED",
      `[mcpfleet/backend-podman] spec type "${spec.type}" is not handled (docker only)`,
      {
        path: "json_spec.type",
        isRetryable: false,
      },
    );
  }
  const cspec = spec as ContainerSpec;
  if ((cspec.replicas ?? 1) > 1 && cspec.transport === "stdio") {
    throw new FleetError(
      "UNSUPPORTED",
      `[mcpfleet/backend-podman] a stdio container runs one replica (asked for ${cspec.replicas}): each copy would need its own attached bridge; use streamable-http or sse for replicas`,
      { path: "json_spec.replicas", isRetryable: false },
    );
  }
  checkHostPaths(cspec, allowedHostPaths);
  return cspec;
}

/** Refuses secrets this engine cannot hide (no secrets API, or Podman secrets over the compat API). */
export function checkSecrets(
  request: DeployRequest,
  conn: { api: "libpod" | "compat"; secretMode: Exclude<SecretMode, "auto"> | "none" },
  engine: { podman: boolean; version: string },
): void {
  const hasSecrets = Object.keys(request.secrets.env).length > 0;
  if (hasSecrets && conn.secretMode === "none") {
    throw new FleetError(
      "UNSUPPORTED",
      `[mcpfleet/backend-podman] this engine (${engine.podman ? "Podman" : "Docker"} ${engine.version}) has no secrets API for containers; ` +
        'set secretMode "plain-env" to pass secret values as plain (inspect-visible) environment variables',
      { path: "environment", isRetryable: false },
    );
  }
  if (hasSecrets && conn.api === "compat" && conn.secretMode !== "plain-env") {
    throw new FleetError(
      "UNSUPPORTED",
      `[mcpfleet/backend-podman] Podman secrets need api "libpod" (api is "compat")`,
      {
        path: "api",
        isRetryable: false,
      },
    );
  }
}
