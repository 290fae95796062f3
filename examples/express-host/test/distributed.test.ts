import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { API_KEYS, KEYS, REPO_ROOT, seed } from "./helpers.js";
import { ownedContainers as owned, podman, podmanHostEnv, podmanVars, removeOwned } from "./podman.js";

/**
 * End to end, distributed: the host (role api) with the Podman runtime, the Redis bus, the file
 * store and file secrets, plus two worker processes; the seed server and a server-everything
 * instance created through REST; an MCP client calls a tool through /mcp/{instance}; one worker is
 * killed with SIGKILL midway; everything converges; deleting leaves no container behind.
 */

const redis = await checkService("redis", () => redisPing("127.0.0.1", 6379));

function redisPing(host: string, port: number): Promise<boolean | string> {
  return new Promise((resolve) => {
    const s = netConnect({ host, port }, () => s.write("PING\r\n"));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve("timeout");
    });
    s.on("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith("+PONG") || d.toString());
    });
    s.on("error", (e) => resolve(e.message));
  });
}

/** Deletes the test's Redis keys (one EVAL over a raw RESP connection). */
function redisDeletePrefix(prefix: string): Promise<void> {
  const args = [
    "EVAL",
    "for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1",
    "0",
    `${prefix}*`,
  ];
  const resp = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
  return new Promise((resolve) => {
    const s = netConnect({ host: "127.0.0.1", port: 6379 }, () => s.write(resp));
    s.setTimeout(5000, () => s.destroy());
    s.on("data", () => s.end());
    s.on("close", () => resolve());
    s.on("error", () => resolve());
  });
}

interface Proc {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function run(file: string, env: Record<string, string>): Proc {
  let out = "";
  const proc = spawn(process.execPath, ["--conditions=@mcpfleet/source", "--import", "tsx", file], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  return { proc, out: () => out, exited: new Promise((r) => proc.on("exit", (code) => r(code))) };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describeWith([podman, redis], "distributed: api host + 2 workers on Redis and Podman", () => {
  // short owner: container and Podman secret names carry it (Podman caps secret names at 64 characters)
  const owner = `h${randomBytes(3).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "mcpfleet-dist-"));
  const procs: Proc[] = [];
  let env: Record<string, string>;
  let url = "";
  const api = async (method: string, path: string, body?: unknown, role: keyof typeof KEYS = "admin") => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${KEYS[role]}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const statusOf = async (id: string) =>
    (await api("GET", `/v1/mcp-server-instances/${id}/status`, undefined, "viewer")).body;
  const waitStatus = async (id: string, status: string) => {
    let last: unknown;
    await until(`${id} ${status}`, async () => {
      last = await statusOf(id);
      return (last as { status?: string })?.status === status ? true : undefined;
    }).catch((err) => {
      const logs = procs.map(
        (p, i) =>
          `--- process ${i}\n${p
            .out()
            .split("\n")
            .filter((l) => !l.includes('"debug"'))
            .slice(-15)
            .join("\n")}`,
      );
      throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}\n${logs.join("\n")}`);
    });
  };
  const ownedContainers = () => owned(owner);

  beforeAll(async () => {
    env = {
      ...podmanHostEnv(owner),
      FLEET_BUS: "redis",
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_PREFIX: `${owner}:`,
      FLEET_STORE: "file",
      FLEET_SECRETS: "file",
      DATA_DIR: dir,
      API_KEYS,
      RESYNC_INTERVAL_MS: "1000",
      RECONCILE_BACKOFF_MS: "200",
      HEALTH_INTERVAL_MS: "1000",
      HEALTH_TIMEOUT_MS: "3000",
      SHUTDOWN_TIMEOUT_MS: "5000",
      LOG_LEVEL: "info",
    };
    const host = run(join(REPO_ROOT, "examples/express-host/src/main.ts"), { ...env, FLEET_ROLE: "api", PORT: "0" });
    procs.push(host);
    url = await until("host listening", async () => /listening on (http:\/\/\S+)/.exec(host.out())?.[1], 30_000).catch(
      (err) => {
        throw new Error(`${(err as Error).message}; host output:\n${host.out().slice(-3000)}`);
      },
    );
    for (const id of ["w1", "w2"]) {
      const w = run(join(REPO_ROOT, "examples/worker/src/main.ts"), { ...env, WORKER_ID: id, HEALTH_PORT: "0" });
      procs.push(w);
      await until(`worker ${id}`, async () => (w.out().includes("reconciling") ? true : undefined), 30_000).catch(
        (err) => {
          throw new Error(`${(err as Error).message}; worker output:\n${w.out().slice(-3000)}`);
        },
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill("SIGKILL");
    // leave nothing behind even when a test failed midway
    await removeOwned(owner);
    await redisDeletePrefix(`${owner}:`);
  }, 60_000);

  it("creates the seed server and a server-everything instance; an MCP client calls a tool through /mcp/{instance}", async () => {
    const server = await api("POST", "/v1/mcp-servers", seed("server-filesystem.json"));
    expect(server.status).toBe(201);
    const canary = "CANARY-dist-9b2e";
    const created = await api(
      "POST",
      "/v1/mcp-server-instances",
      {
        name: "everything-1",
        server_spec_id: server.body.id,
        json_spec: {
          type: "docker",
          image: podmanVars.MCPFLEET_TEST_IMAGE_HTTP,
          port: 3001,
          environment: { ALLOWED_DIRECTORIES: "/tmp" },
        },
        secrets: { TOK: canary },
      },
      "operator",
    );
    expect(created.status).toBe(201);
    await waitStatus(created.body.id, "running");
    const client = new Client({ name: "dist-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp/everything-1`), {
        requestInit: { headers: { authorization: `Bearer ${KEYS.operator}` } },
      }),
    );
    const r = await client.callTool({ name: "echo", arguments: { message: "across processes" } });
    expect((r.content as Array<{ text: string }>)[0]!.text).toBe("Echo: across processes");
    await client.close();
    for (const p of procs) expect(p.out()).not.toContain(canary);

    // the workers reconciled it: their /metrics show reconcile passes and the bus lag of the work group
    let reconciles = 0;
    let arrivals = 0;
    for (const w of procs.slice(1)) {
      const healthUrl = /health and metrics on (http:\/\/\S+)/.exec(w.out())?.[1];
      expect(healthUrl).toBeDefined();
      const m = await (await fetch(`${healthUrl}/metrics`)).text();
      reconciles += Number(/mcpfleet_reconcile_duration_seconds_count\{outcome="ok"\} (\d+)/.exec(m)?.[1] ?? 0);
      arrivals += Number(/mcpfleet_bus_delivery_lag_seconds_count\{consumer="reconciler"\} (\d+)/.exec(m)?.[1] ?? 0);
      expect(m).not.toContain(canary);
    }
    expect(reconciles).toBeGreaterThan(0);
    expect(arrivals).toBeGreaterThan(0);
  }, 120_000);

  it("converges after one worker is killed with SIGKILL; deleting leaves no container", async () => {
    const ids: string[] = [(await api("GET", "/v1/mcp-server-instances/everything-1", undefined, "viewer")).body.id];
    for (const n of [2, 3]) {
      const c = await api(
        "POST",
        "/v1/mcp-server-instances",
        {
          name: `everything-${n}`,
          json_spec: { type: "docker", image: podmanVars.MCPFLEET_TEST_IMAGE_HTTP, port: 3001 },
        },
        "operator",
      );
      expect(c.status).toBe(201);
      ids.push(c.body.id);
    }
    for (const id of ids) await waitStatus(id, "running");
    // kill the worker that deployed the most instances, so the survivor has to take them over
    const owners = await Promise.all(
      ids.map(
        async (id) =>
          (await api("GET", `/v1/mcp-server-instances/${id}`, undefined, "viewer")).body.observed_by as string,
      ),
    );
    const victimId = owners.filter((o) => o === "w1").length >= owners.filter((o) => o === "w2").length ? "w1" : "w2";
    const victim = procs[victimId === "w1" ? 1 : 2]!;
    victim.proc.kill("SIGKILL");
    expect(await victim.exited).toBe(null);

    // new work lands on the survivor
    const late = await api(
      "POST",
      "/v1/mcp-server-instances",
      { name: "everything-4", json_spec: { type: "docker", image: podmanVars.MCPFLEET_TEST_IMAGE_HTTP, port: 3001 } },
      "operator",
    );
    expect(late.status).toBe(201);
    ids.push(late.body.id);
    await waitStatus(late.body.id, "running");

    // the survivor acts on the victim's instances too (Podman is a shared runtime): stop one, then delete all
    const victims = ids.filter((_, i) => owners[i] === victimId);
    expect(victims.length).toBeGreaterThan(0);
    const stop = await api("POST", `/v1/mcp-server-instances/${victims[0]}/stop`, undefined, "operator");
    expect(stop.status).toBe(202);
    await waitStatus(victims[0]!, "stopped");
    for (const id of ids)
      expect((await api("DELETE", `/v1/mcp-server-instances/${id}`, undefined, "operator")).status).toBe(202);
    for (const id of ids)
      await until(`${id} gone`, async () =>
        (await api("GET", `/v1/mcp-server-instances/${id}`, undefined, "viewer")).status === 404 ? true : undefined,
      );
    await until("no container left", async () => ((await ownedContainers()).length === 0 ? true : undefined), 60_000);

    // graceful shutdown of the rest
    for (const p of procs.filter((p) => p !== victim)) p.proc.kill("SIGTERM");
    for (const p of procs.filter((p) => p !== victim)) expect(await p.exited).toBe(0);
  }, 240_000);

  // A worker killed between "container created" and "container started" leaves the instance in
  // `starting` with a created-but-not-running container. The reconciler restarts such an instance after
  // `reconciler.startTimeoutMs`; the timing of a real kill at that point cannot be forced here, so the
  // mechanism is covered deterministically in packages/core/test/engine/faults.test.ts.
});
