import type { ObservedInstance, ObservedPhase } from "@mcpfleet/core";
import type Dockerode from "dockerode";
import { LABEL } from "./naming.js";

function phaseOf(status: string | undefined): ObservedPhase {
  switch (status) {
    case "running":
      return "running";
    case "created":
    case "configured":
    case "initialized":
    case "restarting":
      return "starting";
    case "exited":
    case "stopped":
    case "dead":
      return "exited";
    case "paused":
    case "removing":
      return "unknown";
    default:
      return "unknown";
  }
}

function endpointFrom(
  labels: Record<string, string>,
  hostPort: string | number | undefined,
  endpointHost: string,
): string | undefined {
  if (hostPort === undefined || hostPort === "" || hostPort === 0) return undefined;
  return `http://${endpointHost}:${hostPort}${labels[LABEL.endpointPath] ?? "/mcp"}`;
}

function common(
  labels: Record<string, string>,
): Pick<ObservedInstance, "instanceId" | "specHash" | "generation" | "transport"> {
  const generation = Number(labels[LABEL.generation]);
  const transport = labels[LABEL.transport];
  return {
    instanceId: labels[LABEL.instanceId] ?? "",
    specHash: labels[LABEL.specHash] ?? "",
    ...(Number.isFinite(generation) ? { generation } : {}),
    ...(transport === "sse" || transport === "streamable-http" ? { transport } : {}),
  };
}

/** From `GET /containers/{id}/json`; endpoints carry `endpointHost` (the advertised address). */
export function observeInspect(info: Dockerode.ContainerInspectInfo, endpointHost = "127.0.0.1"): ObservedInstance {
  const labels = info.Config?.Labels ?? {};
  const phase = phaseOf(info.State?.Status);
  const port = labels[LABEL.containerPort];
  const binding = port ? info.NetworkSettings?.Ports?.[`${port}/tcp`]?.[0] : undefined;
  const out: ObservedInstance = { ...common(labels), phase };
  const endpoint = phase === "running" ? endpointFrom(labels, binding?.HostPort, endpointHost) : undefined;
  if (endpoint) out.endpoint = endpoint;
  if (info.State?.StartedAt && !info.State.StartedAt.startsWith("0001")) out.startedAt = info.State.StartedAt;
  if (phase === "exited") {
    out.exitCode = info.State.ExitCode;
    out.reason = info.State.OOMKilled
      ? `container was killed: out of memory (exit code ${info.State.ExitCode})`
      : `container exited with code ${info.State.ExitCode}${info.State.Error ? `: ${info.State.Error}` : ""}`;
  }
  return out;
}

/** From `GET /containers/json` (no per-container inspect). */
export function observeSummary(c: Dockerode.ContainerInfo, endpointHost = "127.0.0.1"): ObservedInstance {
  const labels = c.Labels ?? {};
  const phase = phaseOf(c.State);
  const port = Number(labels[LABEL.containerPort]);
  const binding = c.Ports?.find((p) => p.PrivatePort === port && p.PublicPort);
  const out: ObservedInstance = { ...common(labels), phase };
  const endpoint = phase === "running" ? endpointFrom(labels, binding?.PublicPort, endpointHost) : undefined;
  if (endpoint) out.endpoint = endpoint;
  if (phase === "exited") {
    const code = /\((-?\d+)\)/.exec(c.Status ?? "");
    if (code) out.exitCode = Number(code[1]);
    out.reason = `container ${c.Status ?? "exited"}`;
  }
  return out;
}
