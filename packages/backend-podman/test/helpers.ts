import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ContainerSpec, DeployRequest } from "@mcpfleet/core";
import { checkService, type ServiceStatus } from "@mcpfleet/core/testing";
import Dockerode from "dockerode";
import { secretPrefix } from "../src/index.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");

export interface PodmanTestEnv {
  socket: string;
  imageHttp: string;
  imageStdio: string;
  imageExit: string;
  /** Environment to hand to the runtime (CONTAINER_HOST etc). */
  vars: Record<string, string>;
}

let cached: PodmanTestEnv | undefined;

/** Runs scripts/podman-env.sh (idempotent, flock-guarded) and parses the `export K=V` lines it prints. */
export function podmanTestEnv(): PodmanTestEnv {
  if (cached) return cached;
  const out = execFileSync("bash", [join(ROOT, "scripts/podman-env.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 240_000,
  });
  const vars: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) vars[m[1]] = m[2];
  }
  const need = (k: string) => {
    const v = vars[k];
    if (!v) throw new Error(`scripts/podman-env.sh did not print ${k}`);
    return v;
  };
  cached = {
    socket: need("MCPFLEET_PODMAN_SOCKET"),
    imageHttp: need("MCPFLEET_TEST_IMAGE_HTTP"),
    imageStdio: need("MCPFLEET_TEST_IMAGE_STDIO"),
    imageExit: need("MCPFLEET_TEST_IMAGE_EXIT"),
    vars,
  };
  process.env.CONTAINERS_CONF = vars.CONTAINERS_CONF;
  return cached;
}

/** `checkService` for Podman: runs the env script, then pings the API socket. */
export async function podmanService(): Promise<{ status: ServiceStatus; env?: PodmanTestEnv }> {
  let env: PodmanTestEnv | undefined;
  const status = await checkService("podman", async () => {
    try {
      env = podmanTestEnv();
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr;
      return `scripts/podman-env.sh failed: ${stderr?.trim().split("\n").slice(-3).join(" | ") ?? String(err)}`;
    }
    await new Dockerode({ socketPath: env.socket }).ping();
    return true;
  });
  return env ? { status, env } : { status };
}

/** A unique owner label per test file/run so parallel files never see each other's containers. */
export function uniqueOwner(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

export function containerSpec(image: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    type: "docker",
    image,
    port: 3001,
    transport: "streamable-http",
    environment: {},
    volumes: [],
    restartPolicy: "no",
    labels: {},
    replicas: 1,
    ...overrides,
  };
}

/** A DeployRequest shaped like the fleet engine's. */
export function deployRequest(
  id: string,
  spec: ContainerSpec,
  env: Record<string, string> = {},
  secrets: Record<string, string> = {},
  generation = 1,
): DeployRequest {
  const specHash = createHash("sha256")
    .update(JSON.stringify({ spec, env, secrets: Object.keys(secrets).sort() }))
    .digest("hex")
    .slice(0, 32);
  return { instance: { id, name: id, generation, specHash }, spec, env, secrets: { env: secrets, headers: {} } };
}

/** One MCP `initialize` over Streamable HTTP; resolves the server name or rejects. */
export function mcpInitialize(endpoint: string, timeoutMs = 2000): Promise<string> {
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "mcpfleet-test", version: "1" } },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      endpoint,
      {
        method: "POST",
        timeout: timeoutMs,
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () => {
          const m = /"serverInfo":\{"name":"([^"]+)"/.exec(text);
          if (res.statusCode === 200 && m?.[1]) resolve(m[1]);
          else reject(new Error(`initialize: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("initialize timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/** Polls `initialize` every `everyMs` until it answers (readiness, as the probe does). */
export async function waitForMcp(endpoint: string, timeoutMs = 20_000, everyMs = 50): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await mcpInitialize(endpoint, 1000);
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
  throw new Error(`MCP server at ${endpoint} never answered: ${String(last)}`);
}

/** Removes everything labelled with `owner`: containers, secrets of those containers, networks. */
export async function cleanupOwner(socket: string, owner: string, networks: string[] = []): Promise<void> {
  const docker = new Dockerode({ socketPath: socket });
  const list = await docker.listContainers({ all: true, filters: { label: [`mcpfleet.managed-by=${owner}`] } });
  const prefixes = list.flatMap((c) => (c.Names ?? []).map((n) => secretPrefix(n.replace(/^\//, ""))));
  for (const c of list)
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  const secrets = (await docker.listSecrets()) as { ID: string; Spec?: { Name?: string } }[];
  for (const s of secrets) {
    if (!prefixes.some((p) => s.Spec?.Name?.startsWith(p))) continue;
    await new Promise<void>((resolve) => {
      const req = request({ socketPath: socket, path: `/v4.0.0/libpod/secrets/${s.ID}`, method: "DELETE" }, (res) => {
        res.resume();
        res.on("end", () => resolve());
      });
      req.on("error", () => resolve());
      req.end();
    });
  }
  for (const n of networks)
    await docker
      .getNetwork(n)
      .remove()
      .catch(() => {});
}
