import type { Logger } from "@mcpfleet/core";
import type Dockerode from "dockerode";
import { type EngineInfo, engineInfo, versionAtLeast } from "./engine.js";
import type { ResolvedOptions, SecretMode } from "./options.js";
import { detectSocket, type SocketCandidate } from "./socket.js";

export interface PodmanConnection {
  address: string;
  source: string;
  podman: boolean;
  version: string;
  api: "libpod" | "compat";
  secretMode: Exclude<SecretMode, "auto"> | "none";
}

/** A connected engine: the client, what it reported, and the API and secret mode chosen for it. */
export interface Engine {
  client: Dockerode;
  info: EngineInfo;
  conn: PodmanConnection;
}

/** Podman >= 5.3 hides env-type secret values in `inspect` (containers/podman#23788, fixed by #23959). */
const ENV_SECRETS_SAFE_FROM = "5.3.0";

/**
 * Takes the injected client or detects the socket, asks the engine what it is, and picks the API
 * (`libpod` on Podman) and the secret mode (`auto`: Podman env secrets where inspect hides them).
 */
export async function openEngine(
  options: ResolvedOptions,
  env: Record<string, string | undefined>,
  logger: Logger,
  signal?: AbortSignal,
): Promise<Engine> {
  let client: Dockerode;
  let candidate: SocketCandidate;
  if (options.docker) {
    client = options.docker;
    candidate = { source: "options.docker", address: "injected client" };
  } else {
    ({ client, candidate } = await detectSocket({
      socketPath: options.socketPath,
      env,
      logger,
      pingTimeoutMs: options.pingTimeoutMs,
      signal,
    }));
  }
  const info = await engineInfo(client, signal);
  const api = options.api === "auto" ? (info.podman ? "libpod" : "compat") : options.api;
  let secretMode: PodmanConnection["secretMode"] = options.secretMode === "auto" ? "none" : options.secretMode;
  if (options.secretMode === "auto" && info.podman) {
    secretMode = versionAtLeast(info.version, ENV_SECRETS_SAFE_FROM) ? "podman-env" : "podman-mount";
  }
  const conn: PodmanConnection = { ...candidate, podman: info.podman, version: info.version, api, secretMode };
  logger.info(
    { address: conn.address, source: conn.source, podman: info.podman, version: info.version, api, secretMode },
    "engine connected",
  );
  return { client, info, conn };
}
