import { FleetError, type Logger } from "@mcpfleet/core";
import Dockerode from "dockerode";
import { dial } from "./engine.js";

export interface SocketCandidate {
  /** Where the candidate came from: `options.socketPath`, `CONTAINER_HOST`, a well-known path. */
  source: string;
  /** `unix:///path` or `tcp://host:port`. */
  address: string;
}

export interface DetectOptions {
  socketPath?: string;
  env: Record<string, string | undefined>;
  logger: Logger;
  pingTimeoutMs: number;
  signal?: AbortSignal;
}

function toAddress(value: string): string {
  if (value.startsWith("/")) return `unix://${value}`;
  return value;
}

/** Candidates in detection order; duplicates dropped. */
export function socketCandidates(
  socketPath: string | undefined,
  env: Record<string, string | undefined>,
): SocketCandidate[] {
  const out: SocketCandidate[] = [];
  const add = (source: string, value: string | undefined) => {
    if (!value) return;
    const address = toAddress(value);
    if (!out.some((c) => c.address === address)) out.push({ source, address });
  };
  add("options.socketPath", socketPath);
  add("CONTAINER_HOST", env.CONTAINER_HOST);
  add("DOCKER_HOST", env.DOCKER_HOST);
  add("rootful Podman", "/run/podman/podman.sock");
  if (env.XDG_RUNTIME_DIR) add("rootless Podman", `${env.XDG_RUNTIME_DIR}/podman/podman.sock`);
  add("Docker", "/var/run/docker.sock");
  return out;
}

/** Builds a dockerode client for an address (`unix://`, `tcp://`, `http://`); undefined if unsupported. */
export function clientFor(address: string): Dockerode | undefined {
  if (address.startsWith("unix://")) return new Dockerode({ socketPath: address.slice("unix://".length) });
  const m = /^(tcp|http|https):\/\/([^:/]+)(?::(\d+))?/.exec(address);
  if (m) {
    const protocol = m[1] === "https" ? "https" : "http";
    return new Dockerode({ host: m[2], port: m[3] ? Number(m[3]) : 2375, protocol });
  }
  return undefined;
}

async function ping(client: Dockerode, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const abortSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
  await dial(client, {
    path: "/_ping",
    method: "GET",
    statusCodes: { 200: true, 500: "server error" },
    signal: abortSignal,
  });
}

/** Tries each candidate with a ping; the first that answers wins. */
export async function detectSocket(options: DetectOptions): Promise<{ client: Dockerode; candidate: SocketCandidate }> {
  const candidates = socketCandidates(options.socketPath, options.env);
  const tried: string[] = [];
  for (const candidate of candidates) {
    if (options.signal?.aborted) throw new FleetError("ABORTED", "socket detection aborted");
    const client = clientFor(candidate.address);
    if (!client) {
      options.logger.debug({ source: candidate.source, address: candidate.address }, "unsupported engine address");
      tried.push(`${candidate.address} (${candidate.source}: unsupported address)`);
      continue;
    }
    try {
      await ping(client, options.pingTimeoutMs, options.signal);
      options.logger.debug({ source: candidate.source, address: candidate.address }, "engine answered");
      return { client, candidate };
    } catch (err) {
      const why = err instanceof Error ? (err as NodeJS.ErrnoException).code || err.message : String(err);
      options.logger.debug({ source: candidate.source, address: candidate.address, why }, "engine did not answer");
      tried.push(`${candidate.address} (${candidate.source}: ${why})`);
    }
  }
  throw new FleetError(
    "RUNTIME_UNAVAILABLE",
    `[mcpfleet/backend-podman] no container engine answered. Tried: ${tried.join("; ")}. ` +
      "Start Podman's API service, e.g. `podman system service --time=0 unix:///run/podman/podman.sock` " +
      "(rootful) or `systemctl --user start podman.socket` (rootless), or pass `socketPath` / set CONTAINER_HOST.",
    { isRetryable: true, details: { tried } },
  );
}
