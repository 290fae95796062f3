import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { deleteKeys, REDIS_URL, redisService, testPrefix } from "../../../packages/bus-redis/test/helpers.js";
import { postgresService, throwawayDatabase } from "../../../packages/store-postgres/test/helpers.js";
import { API_KEYS, KEYS, REPO_ROOT } from "./helpers.js";

/**
 * deploy/Containerfile, built with Podman from this repository and run: the API host (FLEET_ROLE=api) and a worker
 * (FLEET_ROLE=worker) from the same image, on the machine's PostgreSQL and Redis (`--network host`). No registry is
 * needed: the base is deploy/base/build-base.sh's local image (kept, like a pulled base; MCPFLEET_BASE_IMAGE names
 * another), the build reaches only the npm registry. The image and the containers are removed afterwards.
 */
const run = promisify(execFile);
const CONF = join(REPO_ROOT, "scripts/podman/containers.conf");
// the CLI on local storage (a CONTAINER_HOST left by another suite would point it at a socket)
const { CONTAINER_HOST: _remote, ...baseEnv } = process.env;
const podmanEnv = { ...baseEnv, CONTAINERS_CONF: CONF };
const podmanCli = async (args: string[], timeout = 60_000) =>
  (await run("podman", args, { env: podmanEnv, timeout, maxBuffer: 64 * 1024 * 1024 })).stdout.trim();

const podman = await checkService("podman", async () => {
  if ((await run("id", ["-u"])).stdout.trim() !== "0")
    return "needs root (Podman 4.3 as root, debootstrap for the base)";
  await podmanCli(["info", "--format", "{{.Store.GraphDriverName}}"], 30_000);
  return true;
});
const pg = await postgresService();
const redis = await redisService();

const tag = randomBytes(4).toString("hex");
const IMAGE = `localhost/mcpfleet-test/containerfile:${tag}`;
const HOST_NAME = `mcpfleet-cf-host-${tag}`;
const WORKER_NAME = `mcpfleet-cf-worker-${tag}`;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
const seconds = (since: bigint) => Number((process.hrtime.bigint() - since) / 1_000_000n) / 1000;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const logsOf = async (name: string) => {
  const out = await run("podman", ["logs", "--tail", "30", name], { env: podmanEnv, timeout: 20_000 }).catch(
    (err: Error) => ({ stdout: "", stderr: err.message }),
  );
  return `--- ${name}\n${out.stdout}${out.stderr}`;
};

describeWith([podman, pg, redis], "deploy/Containerfile: the host and the worker image on Podman", () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  const prefix = testPrefix("containerfile");
  let hostUrl = "";
  let workerUrl = "";
  const started: string[] = [];

  const api = async (method: string, path: string, body?: unknown, role: keyof typeof KEYS | "none" = "admin") => {
    const res = await fetch(`${hostUrl}${path}`, {
      method,
      headers: {
        ...(role === "none" ? {} : { authorization: `Bearer ${KEYS[role]}` }),
        ...(body ? { "content-type": "application/json" } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  };

  const start = async (name: string, env: Record<string, string>) => {
    const args = ["run", "-d", "--name", name, "--network", "host"];
    for (const [k, v] of Object.entries(env)) args.push("-e", `${k}=${v}`);
    started.push(name);
    await podmanCli([...args, IMAGE]);
  };

  beforeAll(async () => {
    const t0 = process.hrtime.bigint();
    // the base holds the Node this suite runs on (CI's Node 20 pass and its Node 24 pass each test their own)
    let base = process.env.MCPFLEET_BASE_IMAGE ?? `localhost/mcpfleet-base:node${process.versions.node.split(".")[0]}`;
    const baseKept = await podmanCli(["image", "exists", base]).then(
      () => true,
      () => false,
    );
    if (!process.env.MCPFLEET_BASE_IMAGE) {
      base = (
        await run("bash", [join(REPO_ROOT, "deploy/base/build-base.sh")], {
          env: { ...podmanEnv, NODE_BIN: process.execPath, MCPFLEET_BASE_IMAGE: base },
          timeout: 600_000,
          maxBuffer: 16 * 1024 * 1024,
        })
      ).stdout.trim();
    }
    const baseSeconds = seconds(t0);
    // --layers=false: no intermediate stage images stay behind (every run fetches the locked packages afresh)
    const t1 = process.hrtime.bigint();
    await podmanCli(
      [
        "build",
        "--pull=never",
        "--layers=false",
        "--build-arg",
        `BASE_IMAGE=${base}`,
        "-f",
        "deploy/Containerfile",
        "-t",
        IMAGE,
        REPO_ROOT,
      ],
      900_000,
    );
    const buildSeconds = seconds(t1);
    const size = Number(await podmanCli(["image", "inspect", "--format", "{{.Size}}", IMAGE]));
    console.info(
      `[containerfile] base ${base} ${baseKept ? "already there" : "built"} in ${baseSeconds.toFixed(1)} s; ` +
        `image built in ${buildSeconds.toFixed(1)} s (${(size / 1e6).toFixed(0)} MB)`,
    );

    db = await throwawayDatabase();
    const shared = {
      FLEET_STORE: "postgres",
      FLEET_SECRETS: "postgres",
      DATABASE_URL: db.url,
      SECRETS_KEY: randomBytes(32).toString("hex"),
      FLEET_BUS: "redis",
      REDIS_URL,
      REDIS_PREFIX: prefix,
      FLEET_RUNTIME: "memory",
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    };
    const hostPort = await freePort();
    const healthPort = await freePort();
    hostUrl = `http://127.0.0.1:${hostPort}`;
    workerUrl = `http://127.0.0.1:${healthPort}`;
    const t2 = process.hrtime.bigint();
    await start(HOST_NAME, { ...shared, FLEET_ROLE: "api", PORT: String(hostPort), API_KEYS });
    await start(WORKER_NAME, { ...shared, FLEET_ROLE: "worker", HEALTH_PORT: String(healthPort), WORKER_ID: "cf-1" });
    for (const [name, url] of [
      [HOST_NAME, hostUrl],
      [WORKER_NAME, workerUrl],
    ] as const) {
      await until(
        `${name} /ready`,
        async () => ((await fetch(`${url}/ready`)).status === 200 ? true : undefined),
        120_000,
      ).catch(async (err) => {
        throw new Error(`${(err as Error).message}\n${await logsOf(name)}`);
      });
    }
    console.info(`[containerfile] host and worker ready ${seconds(t2).toFixed(1)} s after podman run`);
  }, 1_200_000);

  afterAll(async () => {
    for (const name of started) await podmanCli(["rm", "-f", "-t", "5", name]).catch(() => {});
    await podmanCli(["rmi", "-f", IMAGE]).catch(() => {});
    await db?.drop();
    await deleteKeys(prefix);
  }, 120_000);

  it("/ready answers 200 on the host and on the worker (its HEALTH_PORT), with the postgres store", async () => {
    const host = await fetch(`${hostUrl}/ready`);
    expect(host.status).toBe(200);
    const hostReady = (await host.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(hostReady.status).toBe("ready");
    expect(Object.keys(hostReady.checks).some((k) => k.startsWith("store:postgres"))).toBe(true);
    expect((await fetch(`${workerUrl}/ready`)).status).toBe(200);
    expect(await (await fetch(`${workerUrl}/health`)).json()).toMatchObject({ status: "ok", workerId: "cf-1" });
  });

  it("REST with an API key: created through the host, deployed by the worker container", async () => {
    expect((await api("GET", "/v1/mcp-server-instances", undefined, "none")).status).toBe(401);
    const created = await api("POST", "/v1/mcp-server-instances", {
      name: `cf-${tag}`,
      json_spec: { type: "docker", image: "mcp/x:1", port: 8000 },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    // FLEET_ROLE=api does not reconcile: "running" comes from the worker in the other container
    await until(`${id} running`, async () => {
      const s = await api("GET", `/v1/mcp-server-instances/${id}/status`, undefined, "viewer");
      return s.body?.status === "running" ? true : undefined;
    }).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await logsOf(WORKER_NAME)}`);
    });
    const listed = await api("GET", "/v1/mcp-server-instances", undefined, "viewer");
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).toContain(id);
    expect((await api("DELETE", `/v1/mcp-server-instances/${id}`)).status).toBeLessThan(300);
  });

  it("serves the dashboard built in the image, and runs as the non-root user node", async () => {
    const ui = await fetch(`${hostUrl}/ui/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain("<html");
    expect(await podmanCli(["image", "inspect", "--format", "{{.Config.User}}", IMAGE])).toBe("node");
    for (const name of [HOST_NAME, WORKER_NAME]) {
      expect(await podmanCli(["exec", name, "id", "-u"])).toBe("1000");
      // the code is root's and read-only to the service; only /data is its own
      await expect(podmanCli(["exec", name, "touch", "/app/package.json"])).rejects.toThrow();
      expect(await podmanCli(["exec", name, "stat", "-c", "%U", "/data"])).toBe("node");
    }
  });
});
