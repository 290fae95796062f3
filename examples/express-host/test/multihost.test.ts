import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { adminPool } from "../../../packages/store-postgres/test/helpers.js";
import { API_KEYS, KEYS, REPO_ROOT } from "./helpers.js";
import { ip, makeNetwork, type Network, netnsSupport } from "./netns.js";
import { freePort, type PrivatePostgres, privatePostgres } from "./private-postgres.js";

const require = createRequire(import.meta.url);
const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);
const HOST_MAIN = join(REPO_ROOT, "examples/express-host/src/main.ts");
const WORKER_MAIN = join(REPO_ROOT, "examples/worker/src/main.ts");
const has = (bin: string) => ["/usr/local/bin", "/usr/bin", "/usr/sbin"].some((d) => existsSync(join(d, bin)));

const netns = await checkService("ip netns", async () => {
  if (process.getuid?.() !== 0) return "creating network namespaces needs root";
  for (const bin of ["initdb", "pg_ctl", "runuser"]) if (!has(bin)) return `${bin} not installed`;
  return netnsSupport();
});

/** The bus the API host and the workers share, served by the test itself on the bridge address. */
type Bus = "redis" | "nats";
const BUS_SERVER: Record<Bus, string> = { redis: "redis-server", nats: "nats-server" };
const busServer = Object.fromEntries(
  await Promise.all(
    (Object.entries(BUS_SERVER) as [Bus, string][]).map(
      async ([bus, bin]) => [bus, await checkService(bin, async () => has(bin) || `${bin} not installed`)] as const,
    ),
  ),
) as Record<Bus, Awaited<ReturnType<typeof checkService>>>;

/** Starts the bus server listening on `address` only; resolves the env the fleet processes need. */
async function startBus(
  bus: Bus,
  address: string,
  dirs: string[],
): Promise<{ proc: ChildProcess; env: Record<string, string> }> {
  const port = await freePort();
  let proc: ChildProcess;
  let env: Record<string, string>;
  if (bus === "redis") {
    proc = spawn(
      "redis-server",
      ["--bind", address, "--port", String(port), "--save", "", "--appendonly", "no", "--protected-mode", "no"],
      { stdio: "ignore" },
    );
    env = { FLEET_BUS: "redis", REDIS_URL: `redis://${address}:${port}` };
  } else {
    const store = mkdtempSync(join(tmpdir(), "mcpfleet-nats-"));
    dirs.push(store);
    proc = spawn("nats-server", ["-a", address, "-p", String(port), "-js", "-sd", store], { stdio: "ignore" });
    env = { FLEET_BUS: "nats", NATS_URL: `nats://${address}:${port}` };
  }
  await until(
    `${bus} listening on ${address}:${port}`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`${BUS_SERVER[bus]} exited ${proc.exitCode}`);
      return new Promise<true | undefined>((resolve) => {
        const s = connect({ host: address, port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(undefined));
      });
    },
    20_000,
  );
  return { proc, env };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 200_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

for (const bus of ["redis", "nats"] as const) {
  describeWith(
    [netns, busServer[bus]],
    `separate network hosts (ip netns): API host + 2 workers sharing only PostgreSQL, ${bus} and the secret store`,
    () => {
      let net: Network;
      let pg: PrivatePostgres | undefined;
      const dirs: string[] = [];
      const procs = new Map<string, ChildProcess>();
      const output = new Map<string, string>();
      let busProc: ChildProcess | undefined;
      let busEnv: Record<string, string> = {};
      let base = "";
      let dbUrl = "";
      const secretsKey = randomBytes(32).toString("hex");

      /** A node process inside a namespace (`ip netns exec` execs it: the pid is node's). */
      const inNs = (name: string, script: string, env: Record<string, string>) => {
        const dataDir = mkdtempSync(join(tmpdir(), `mcpfleet-${name}-`));
        dirs.push(dataDir);
        const p = spawn(
          "ip",
          [
            "netns",
            "exec",
            net.hosts[name]!.ns,
            process.execPath,
            "--conditions=@mcpfleet/source",
            "--import",
            "tsx",
            script,
          ],
          {
            cwd: REPO_ROOT,
            env: {
              PATH: process.env.PATH ?? "/usr/bin:/bin",
              HOME: dataDir,
              DATA_DIR: join(dataDir, "data"),
              LOG_LEVEL: "warn",
              FLEET_STORE: "postgres",
              FLEET_SECRETS: "postgres",
              DATABASE_URL: dbUrl,
              DATABASE_SCHEMA: "fleet",
              SECRETS_KEY: secretsKey,
              ...busEnv,
              API_KEYS,
              ENDPOINT_ALLOW: "private",
              // a SIGKILLed worker's lease ends 5 s after its last renewal (default 15 s) and the
              // survivor's next resync (every 3 s, default 30 s) takes the instance over
              // long enough that a loaded machine's late renewal does not hand a live worker's
              // lease to the other (it took 5 s once, and a file run beside others left a process)
              LEASE_TTL_MS: "15000",
              RESYNC_INTERVAL_MS: "3000",
              ...env,
            },
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        output.set(name, "");
        const keep = (d: Buffer) => output.set(name, (output.get(name)! + d.toString()).slice(-20_000));
        p.stdout!.on("data", keep);
        p.stderr!.on("data", keep);
        procs.set(name, p);
        return p;
      };

      /** REST as admin (process specs run commands on a worker's host: admin only). */
      const call = async (method: string, path: string, body?: unknown) => {
        const r = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${KEYS.admin}`, ...(body ? { "content-type": "application/json" } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        const text = await r.text();
        return { status: r.status, body: text ? JSON.parse(text) : undefined };
      };

      const echo = async (name: string, message: string) => {
        const client = new Client({ name: "multihost-test", version: "1" });
        const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/${name}`), {
          requestInit: { headers: { authorization: `Bearer ${KEYS.operator}` } },
        });
        await client.connect(transport);
        try {
          const r = (await client.callTool({ name: "echo", arguments: { message } })) as {
            content: { text: string }[];
          };
          return r.content[0]!.text;
        } finally {
          await client.close();
        }
      };

      /** The stored endpoint (the REST view hides internal addresses). */
      const endpointOf = async (id: string) => {
        const db = adminPool(dbUrl);
        try {
          return (await db.query("SELECT doc->>'endpoint' AS e FROM fleet.instances WHERE id = $1", [id])).rows[0]?.e;
        } finally {
          await db.end();
        }
      };

      /** Every pid in a namespace (the worker and what it spawned). */
      const pidsIn = async (ns: string) =>
        (await ip("netns", "pids", ns).catch(() => ""))
          .split("\n")
          .map((l) => Number(l.trim()))
          .filter((n) => n > 0);
      /** The pids in a namespace that run the MCP server (not the worker, nor tsx's esbuild service beside it). */
      const serverPidsIn = async (ns: string) =>
        (await pidsIn(ns)).filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(EVERYTHING);
          } catch {
            return false; // exited meanwhile
          }
        });

      beforeAll(async () => {
        net = await makeNetwork(["api", "wa", "wb"]);
        // a private PostgreSQL listening on the bridge address only, open to the namespaces' subnet
        pg = await privatePostgres(net.gateway, `${net.gateway}/24`);
        dbUrl = pg.url;
        ({ proc: busProc, env: busEnv } = await startBus(bus, net.gateway, dirs));
        const api = net.hosts.api!;
        base = `http://${api.addr}:8080`;
        inNs("api", HOST_MAIN, { FLEET_ROLE: "api", HOST: api.addr, PORT: "8080" });
        for (const w of ["wa", "wb"]) {
          inNs(w, WORKER_MAIN, {
            WORKER_ID: w,
            HOST: net.hosts[w]!.addr,
            FLEET_RUNTIME: "process",
            FLEET_PROCESS_SANDBOX: "none",
            FLEET_PROCESS_ALLOW_ROOT: "on",
            FLEET_PROCESS_ADVERTISE_HOST: net.hosts[w]!.addr,
            ALLOWED_HOST_PATHS: REPO_ROOT,
          });
        }
        await until("the API host to be ready", async () =>
          (await fetch(`${base}/ready`)).ok ? true : undefined,
        ).catch((err) => {
          throw new Error(`${(err as Error).message}; api output: ${output.get("api")}`);
        });
      }, 400_000);

      afterAll(async () => {
        for (const host of Object.values(net?.hosts ?? {})) {
          for (const pid of await pidsIn(host.ns)) {
            try {
              process.kill(pid, "SIGKILL");
            } catch {}
          }
        }
        for (const p of procs.values()) if (p.exitCode === null) p.kill("SIGKILL");
        busProc?.kill("SIGKILL");
        await pg?.remove();
        await net?.remove();
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      }, 60_000);

      it("a tool call through the API host reaches a worker's instance on another host; SIGKILL the worker: the other takes over; delete leaves nothing", async () => {
        const created = await call("POST", "/v1/mcp-server-instances", {
          name: "everything-net",
          json_spec: {
            type: "process",
            command: [process.execPath, EVERYTHING, "streamableHttp"],
            transport: "streamable-http",
            port: 3001,
          },
        });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const id = created.body.id as string;
        const first = await until("running on a worker", async () => {
          const r = await call("GET", `/v1/mcp-server-instances/${id}`);
          return r.body?.status === "running" ? r.body : undefined;
        }).catch((err) => {
          throw new Error(`${(err as Error).message}; wa: ${output.get("wa")}; wb: ${output.get("wb")}`);
        });
        const owner = first.observed_by as string;
        expect(["wa", "wb"]).toContain(owner);
        // the endpoint is the worker's own address, not loopback, and the API host (another namespace) reaches it
        expect(await endpointOf(id)).toBe(`http://${net.hosts[owner]!.addr}:3001/mcp`);
        expect(await echo("everything-net", "across hosts")).toBe("Echo: across hosts");

        const survivor = owner === "wa" ? "wb" : "wa";
        procs.get(owner)!.kill("SIGKILL");
        // the dead worker's children die with its host
        for (const pid of await pidsIn(net.hosts[owner]!.ns)) process.kill(pid, "SIGKILL");
        const moved = await until(
          "the other worker to take the instance over",
          async () => {
            const r = await call("GET", `/v1/mcp-server-instances/${id}`);
            return r.body?.status === "running" && r.body.observed_by === survivor ? r.body : undefined;
          },
          240_000,
        );
        expect(moved.observed_by).toBe(survivor);
        expect(await endpointOf(id)).toBe(`http://${net.hosts[survivor]!.addr}:3001/mcp`);
        expect(await echo("everything-net", "after failover")).toBe("Echo: after failover");

        expect((await serverPidsIn(net.hosts[survivor]!.ns)).length).toBeGreaterThan(0); // the server it runs
        expect((await call("DELETE", `/v1/mcp-server-instances/${id}`)).status).toBeLessThan(300);
        await until("the instance gone", async () =>
          (await call("GET", `/v1/mcp-server-instances/${id}`)).status === 404 ? true : undefined,
        );
        // nothing left behind: no server process on the survivor's host, no row, no lease
        await until("the server process gone", async () =>
          (await serverPidsIn(net.hosts[survivor]!.ns)).length === 0 ? true : undefined,
        ).catch(async (err) => {
          const left = await pidsIn(net.hosts[survivor]!.ns);
          const ps = await new Promise<string>((resolve) =>
            execFile("ps", ["-o", "pid,ppid,stat,etimes,args", "-p", left.join(",")], (_e, out) => resolve(out)),
          );
          throw new Error(
            `${(err as Error).message}; left: ${ps}; worker output: ${output.get(survivor)?.slice(-3000)}`,
          );
        });
        const db = adminPool(dbUrl);
        try {
          expect((await db.query("SELECT count(*)::int AS n FROM fleet.instances")).rows[0].n).toBe(0);
          expect((await db.query("SELECT count(*)::int AS n FROM fleet.leases")).rows[0].n).toBe(0);
        } finally {
          await db.end();
        }
      }, 720_000);
    },
  );
}
