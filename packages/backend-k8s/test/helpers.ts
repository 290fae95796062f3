import type { ContainerSpec, DeployRequest } from "@mcpfleet/core";

export const CANARY = "canary-7f3a9c1e-s3cr3t-value";

/** A docker DeployRequest; images with `crashloop` / `imagepull` make the fake's pods fail. */
export function dockerRequest(
  id: string,
  opts: { variant?: "a" | "b"; image?: string; spec?: Partial<ContainerSpec>; secret?: string } = {},
): DeployRequest {
  const variant = opts.variant ?? "a";
  const spec: ContainerSpec = {
    type: "docker",
    image: opts.image ?? "ghcr.io/example/mcp-everything:1.0",
    port: 3001,
    transport: "streamable-http",
    environment: {
      LOG_LEVEL: "info",
      API_KEY: "secret_ref:instance_x:API_KEY",
      ...(variant === "b" ? { EXTRA: "1" } : {}),
    },
    volumes: [],
    restartPolicy: "always",
    labels: {},
    replicas: 1,
    healthCheck: { path: "/health", intervalMs: 10_000, timeoutMs: 2_000, retries: 3 },
    ...opts.spec,
  };
  return {
    instance: {
      id,
      name: `server ${id}`,
      generation: variant === "a" ? 1 : 2,
      specHash: `hash-${variant}-${opts.image ?? "ok"}`,
    },
    spec,
    env: { LOG_LEVEL: "info", ...(variant === "b" ? { EXTRA: "1" } : {}) },
    secrets: { env: { API_KEY: opts.secret ?? CANARY }, headers: {} },
  };
}
