import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { afterAll, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers.js";
import { pidsWithEnv, type SpawnedHost, spawnHost, until } from "./spawned-host.js";

/**
 * Finding 9 of issue 14 against the real host process: `kill -9` of the host leaves no child
 * holding its port (the restarted host's instance reaches running instead of crash-looping on
 * EADDRINUSE), and DELETE leaves nothing behind, `setsid` grandchildren included.
 */
const bwrap = await checkService("bubblewrap", async () => {
  const r = spawnSync("bwrap", ["--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "true"], { stdio: "ignore" });
  return r.status === 0 || "bwrap is missing or cannot create namespaces (apt-get install bubblewrap)";
});

const require = createRequire(import.meta.url);
const EVERYTHING = join(
  dirname(
    require.resolve("@modelcontextprotocol/server-everything/package.json", {
      paths: [join(REPO_ROOT, "packages/backend-process")],
    }),
  ),
  "dist/index.js",
);
const R = randomBytes(6).toString("hex");
const ADMIN = `adm-key-${R}-0123456789abcdef`;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describeWith([bwrap], "no orphans after a host crash or a delete (real host process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "mcpfleet-orphans-"));
  const env = {
    DATA_DIR: dir,
    PORT: "0",
    FLEET_RUNTIME: "process",
    API_KEYS: `adm:admin:${ADMIN}`,
    FLEET_PROCESS_READONLY_PATHS: REPO_ROOT,
    LOG_LEVEL: "warn",
  };
  const hosts: SpawnedHost[] = [];
  const start = async () => {
    const h = await spawnHost(env);
    hosts.push(h);
    return h;
  };
  afterAll(async () => {
    for (const h of hosts) if (h.proc.exitCode === null && h.proc.signalCode === null) h.proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-process`, { recursive: true, force: true });
  });
  const status = async (h: SpawnedHost, id: string) =>
    (await h.call("GET", `/v1/mcp-server-instances/${id}/status`, ADMIN)).body?.status as string | undefined;

  it("kill -9 of the host leaves no HTTP child holding its port; the restarted host's instance runs", async () => {
    const marker = `MCPFLEET_ORPHAN_HTTP=${R}`;
    const port = await freePort();
    const first = await start();
    const created = await first.call("POST", "/v1/mcp-server-instances", ADMIN, {
      name: "http-everything",
      json_spec: {
        type: "process",
        command: [process.execPath, EVERYTHING, "streamableHttp"],
        transport: "streamable-http",
        port,
        environment: { MCPFLEET_ORPHAN_HTTP: R },
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await until(async () => (await status(first, id)) === "running", "running", 60_000);
    expect(pidsWithEnv(marker).length).toBeGreaterThan(0);
    first.proc.kill("SIGKILL");
    await first.exited;
    await until(async () => pidsWithEnv(marker).length === 0, "the crashed host's children to be gone", 5_000);

    const second = await start();
    await until(async () => (await status(second, id)) === "running", "running after the restart", 60_000);
    const after = await second.call("GET", `/v1/mcp-server-instances/${id}`, ADMIN);
    expect(after.body.restart_count).toBe(0);
    expect(second.output()).not.toContain("EADDRINUSE");
    expect((await second.call("DELETE", `/v1/mcp-server-instances/${id}`, ADMIN)).status).toBe(202);
    await until(async () => pidsWithEnv(marker).length === 0, "nothing left after DELETE", 10_000);
    second.proc.kill("SIGTERM");
    await second.exited;
  }, 180_000);

  it("DELETE leaves no setsid grandchild behind", async () => {
    const marker = `MCPFLEET_ORPHAN_SETSID=${R}`;
    const h = await start();
    const created = await h.call("POST", "/v1/mcp-server-instances", ADMIN, {
      name: "setsid-escape",
      json_spec: {
        type: "process",
        command: [
          "sh",
          "-c",
          `setsid sh -c 'while :; do sleep 1; done' & exec ${process.execPath} ${EVERYTHING} stdio`,
        ],
        transport: "stdio",
        environment: { MCPFLEET_ORPHAN_SETSID: R },
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await until(async () => (await status(h, id)) === "running", "running", 60_000);
    // the grandchild left the instance's process group and session
    const before = pidsWithEnv(marker);
    const sessions = new Set(
      before.map((p) => spawnSync("ps", ["-o", "sid=", "-p", String(p)], { encoding: "utf8" }).stdout.trim()),
    );
    expect(sessions.size).toBeGreaterThan(1);
    expect((await h.call("DELETE", `/v1/mcp-server-instances/${id}`, ADMIN)).status).toBe(202);
    await until(
      async () => (await h.call("GET", `/v1/mcp-server-instances/${id}`, ADMIN)).status === 404,
      "deleted",
      30_000,
    );
    await until(async () => pidsWithEnv(marker).length === 0, "no process of the instance left", 10_000);
    h.proc.kill("SIGTERM");
    await h.exited;
  }, 120_000);
});
