import type Dockerode from "dockerode";

/** Engine-neutral description of one container to create. Holds secret NAMES only, never values. */
export interface ContainerPlan {
  name: string;
  image: string;
  labels: Record<string, string>;
  /** Environment passed in clear (never secret values, except in explicit `plain-env` mode). */
  env: Record<string, string>;
  cmd?: string[];
  /** Absent for stdio containers (nothing is published). */
  containerPort?: number;
  hostPort?: number;
  /** The host IP the port is published on. */
  hostIp: string;
  network: string;
  memoryBytes: number;
  nanoCpus: number;
  user?: string;
  readOnlyRootFilesystem: boolean;
  binds: { source: string; target: string; readOnly: boolean }[];
  volumes: { name: string; target: string; readOnly: boolean }[];
  /** Podman secrets mounted as files. */
  secretMounts: { secret: string; target: string; uid: number; gid: number; mode: number }[];
  /** Podman secrets exposed as env vars: env name -> secret name. */
  secretEnv: Record<string, string>;
  stopTimeoutSeconds: number;
  /** Keep stdin open (stdio transport). */
  openStdin: boolean;
}

const CPU_PERIOD = 100_000;

/** Body for libpod's `POST /libpod/containers/create` (SpecGenerator). */
export function libpodCreateBody(plan: ContainerPlan): Record<string, unknown> {
  return {
    name: plan.name,
    image: plan.image,
    labels: plan.labels,
    env: plan.env,
    ...(plan.cmd ? { command: plan.cmd } : {}),
    portmappings: plan.containerPort
      ? [{ host_ip: plan.hostIp, container_port: plan.containerPort, host_port: plan.hostPort ?? 0, protocol: "tcp" }]
      : [],
    netns: { nsmode: "bridge" },
    Networks: { [plan.network]: {} },
    resource_limits: {
      memory: { limit: plan.memoryBytes },
      cpu: { quota: Math.round((plan.nanoCpus / 1e9) * CPU_PERIOD), period: CPU_PERIOD },
    },
    cap_drop: ["ALL"],
    no_new_privileges: true,
    ...(plan.user ? { user: plan.user } : {}),
    read_only_filesystem: plan.readOnlyRootFilesystem,
    mounts: plan.binds.map((b) => ({
      destination: b.target,
      source: b.source,
      type: "bind",
      options: [b.readOnly ? "ro" : "rw"],
    })),
    volumes: plan.volumes.map((v) => ({ Name: v.name, Dest: v.target, Options: v.readOnly ? ["ro"] : [] })),
    secrets: plan.secretMounts.map((s) => ({
      source: s.secret,
      target: s.target,
      uid: s.uid,
      gid: s.gid,
      mode: s.mode,
    })),
    secret_env: plan.secretEnv,
    stop_timeout: plan.stopTimeoutSeconds,
    stdin: plan.openStdin,
    // no restart policy on purpose: the reconciler restarts with backoff (see RuntimeBackend)
  };
}

/** Options for the Docker-compatible `POST /containers/create` (dockerode `createContainer`). */
export function compatCreateOptions(plan: ContainerPlan): Dockerode.ContainerCreateOptions {
  const port = plan.containerPort ? `${plan.containerPort}/tcp` : undefined;
  const binds = plan.binds.map((b) => `${b.source}:${b.target}:${b.readOnly ? "ro" : "rw"}`);
  const vols = plan.volumes.map((v) => `${v.name}:${v.target}${v.readOnly ? ":ro" : ""}`);
  return {
    name: plan.name,
    Image: plan.image,
    Labels: plan.labels,
    Env: Object.entries(plan.env).map(([k, v]) => `${k}=${v}`),
    ...(plan.cmd ? { Cmd: plan.cmd } : {}),
    ...(plan.user ? { User: plan.user } : {}),
    ...(port ? { ExposedPorts: { [port]: {} } } : {}),
    StopTimeout: plan.stopTimeoutSeconds,
    OpenStdin: plan.openStdin,
    StdinOnce: false,
    HostConfig: {
      ...(port
        ? { PortBindings: { [port]: [{ HostIp: plan.hostIp, HostPort: plan.hostPort ? String(plan.hostPort) : "" }] } }
        : {}),
      NetworkMode: plan.network,
      Memory: plan.memoryBytes,
      NanoCpus: plan.nanoCpus,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      ReadonlyRootfs: plan.readOnlyRootFilesystem,
      Binds: [...binds, ...vols],
      // no restart policy on purpose: the reconciler restarts with backoff (see RuntimeBackend)
      RestartPolicy: { Name: "no" },
    },
  };
}
