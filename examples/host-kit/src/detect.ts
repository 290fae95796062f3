import { existsSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";

/**
 * Ordered runtime detection for `FLEET_RUNTIME=auto`: in-cluster Kubernetes, then a Podman/Docker API
 * socket that answers `/_ping`, then local processes. Each step says why it was or was not chosen.
 */

export type RuntimeChoice = "process" | "podman" | "k8s" | "memory";

export interface Detection {
  runtime: RuntimeChoice;
  reason: string;
  /** The socket that answered (podman). */
  socket?: string;
  /** What each step found, in order (for the start log). */
  steps: string[];
}

export interface DetectEnv {
  env: Record<string, string | undefined>;
  serviceAccountDir?: string;
  fileExists?: (path: string) => boolean;
  pingTimeoutMs?: number;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export function socketCandidates(env: Record<string, string | undefined>): Array<{ source: string; path: string }> {
  const out: Array<{ source: string; path: string }> = [];
  const add = (source: string, value: string | undefined) => {
    if (!value) return;
    const path = value.startsWith("unix://")
      ? value.slice("unix://".length)
      : value.startsWith("/")
        ? value
        : undefined;
    if (path && !out.some((c) => c.path === path)) out.push({ source, path });
  };
  add("CONTAINER_HOST", env.CONTAINER_HOST);
  add("DOCKER_HOST", env.DOCKER_HOST);
  add("rootful Podman", "/run/podman/podman.sock");
  if (env.XDG_RUNTIME_DIR) add("rootless Podman", `${env.XDG_RUNTIME_DIR}/podman/podman.sock`);
  add("Docker", "/var/run/docker.sock");
  return out;
}

/** GET /_ping on a unix socket; resolves true on HTTP 200 within the timeout. */
export function pingSocket(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", method: "GET", timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export async function detectRuntime(options: DetectEnv): Promise<Detection> {
  const { env } = options;
  const exists = options.fileExists ?? existsSync;
  const steps: string[] = [];
  const saDir = options.serviceAccountDir ?? SA_DIR;
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && exists(join(saDir, "token"))) {
    return {
      runtime: "k8s",
      reason: "running in a Kubernetes pod (KUBERNETES_SERVICE_HOST and a service-account token)",
      steps,
    };
  }
  steps.push("not in a Kubernetes pod");
  for (const c of socketCandidates(env)) {
    if (!exists(c.path)) {
      steps.push(`${c.source} ${c.path}: no socket`);
      continue;
    }
    if (await pingSocket(c.path, options.pingTimeoutMs ?? 1000)) {
      return {
        runtime: "podman",
        reason: `container engine answered on ${c.path} (${c.source})`,
        socket: c.path,
        steps,
      };
    }
    steps.push(`${c.source} ${c.path}: did not answer /_ping`);
  }
  return { runtime: "process", reason: `no container engine answered (${steps.slice(1).join("; ")})`, steps };
}
