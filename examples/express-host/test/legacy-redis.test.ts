import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { afterEach, expect, it } from "vitest";
import { API_KEYS, KEYS, seed } from "./helpers.js";
import { type SpawnedHost, spawnHost, stopHosts, until } from "./spawned-host.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const run = promisify(execFile);
/** The original Python API's side of the wire: `redis-cli PUBLISH`, as any Redis client publishes. */
const redisCli = async (...args: string[]) => (await run("redis-cli", ["-u", REDIS_URL, ...args])).stdout.trim();
const redis = await checkService("redis (with redis-cli)", async () =>
  (await redisCli("PING").catch((e: Error) => e.message)) === "PONG" ? true : "redis-cli PING failed",
);

/** `redis-cli SUBSCRIBE`: the payloads of the messages on `channel`, as they arrive. */
async function subscribe(channel: string): Promise<{ proc: ChildProcess; messages: () => string[] }> {
  const proc = spawn("redis-cli", ["-u", REDIS_URL, "SUBSCRIBE", channel], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  const messages = () => {
    const lines = out.split("\n");
    const got: string[] = [];
    for (let i = 0; i + 2 < lines.length; i++)
      if (lines[i] === "message" && lines[i + 1] === channel) got.push(lines[i + 2]!);
    return got;
  };
  await until(async () => out.includes("subscribe"), "redis-cli subscribed", 10_000);
  return { proc, messages };
}

/** A message shaped like the seed `legacy-event-instance-created.json`, for this test's ids. */
function createdMessage(legacyId: string, name: string, serverId: string): string {
  const outer = seed("legacy-event-instance-created.json");
  const inner = JSON.parse(outer.data);
  inner.event_id = randomUUID();
  inner.timestamp = (Date.now() / 1000).toFixed(6);
  inner.data = { ...inner.data, instance_id: legacyId, name, server_spec_id: serverId };
  // the seed's API_KEY references the original system's secret store; this host has none of it
  delete inner.data.json_spec.environment.API_KEY;
  return JSON.stringify({ ...outer, data: JSON.stringify(inner) });
}

function deletedMessage(legacyId: string): string {
  const outer = seed("legacy-event-instance-deleted.json");
  const inner = JSON.parse(outer.data);
  inner.event_id = randomUUID();
  inner.data.instance_id = legacyId;
  return JSON.stringify({ ...outer, data: JSON.stringify(inner) });
}

describeWith([redis], "the original system's Redis pub/sub drives a real host process", () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it("created -> running, restart, deleted by legacy id; status back on the original channel and envelope", async () => {
    const ns = `legacy-e2e-${randomUUID().slice(0, 8)}`;
    const channels = { created: `${ns}:Created`, deleted: `${ns}:Deleted`, status: `${ns}:StatusChanged` };
    const dir = mkdtempSync(join(tmpdir(), "mcpfleet-legacy-host-"));
    const env = {
      FLEET_STORE: "file",
      FLEET_RUNTIME: "memory",
      FLEET_SECRETS: "memory",
      FLEET_BUS: "memory",
      PORT: "0",
      DATA_DIR: dir,
      API_KEYS,
      LEGACY_REDIS_URL: REDIS_URL,
      LEGACY_CHANNELS: `created=${channels.created},deleted=${channels.deleted},status=${channels.status}`,
    };
    const start = async () => {
      const h = await spawnHost(env);
      cleanup.push(() => stopHosts([h]));
      return h;
    };
    const status = await subscribe(channels.status);
    cleanup.push(() => void status.proc.kill());
    let host: SpawnedHost = await start();
    const server = await host.call("POST", "/v1/mcp-servers", KEYS.admin, seed("server-filesystem.json"));
    expect(server.status).toBe(201);
    const legacyId = randomUUID();
    const name = `legacy-fs-${ns.slice(-8)}`;
    // one subscriber received it: the host's legacy source
    expect(await redisCli("PUBLISH", channels.created, createdMessage(legacyId, name, server.body.id))).toBe("1");
    const running = await until(async () => {
      const r = await host.call("GET", `/v1/mcp-server-instances/${name}`, KEYS.viewer);
      return r.status === 200 && r.body.status === "running" ? r.body : undefined;
    }, "instance running").catch(async (err) => {
      const list = await host.call("GET", "/v1/mcp-server-instances", KEYS.viewer);
      throw new Error(`${err.message}: ${list.text}\n${host.output().slice(-3000)}`);
    });
    expect(running).toMatchObject({ server_spec_id: server.body.id, json_spec: { image: "mcp/filesystem:latest" } });
    expect(running.id).not.toBe(legacyId);

    // the original envelope: {data: "<json string>", headers: {}}, seconds with microseconds, the legacy id
    const decoded = () =>
      status.messages().map((m) => {
        const outer = JSON.parse(m);
        expect(Object.keys(outer).sort()).toEqual(["data", "headers"]);
        expect(typeof outer.data).toBe("string");
        return JSON.parse(outer.data);
      });
    await until(async () => decoded().some((e) => e.data.status === "running"), "running on the status channel");
    const runningEvent = decoded().find((e) => e.data.status === "running");
    expect(runningEvent).toMatchObject({
      event_type: "MCPServerInstanceStatusChanged",
      event_id: expect.any(String),
      timestamp: expect.stringMatching(/^\d{10}\.\d{6}$/),
      data: { instance_id: legacyId, status: "running", previous_status: expect.any(String), status_reason: null },
    });
    expect(Object.keys(runningEvent.data).sort()).toEqual([
      "instance_id",
      "previous_status",
      "status",
      "status_reason",
    ]);
    // the mapping is in the store file (not only in the process)
    const stored = JSON.parse(readFileSync(join(dir, "store.json"), "utf8"));
    expect(stored.records).toContainEqual(
      expect.objectContaining({ id: `legacy-id:${legacyId}`, kind: "legacy-id", name: running.id }),
    );
    // rename it: neither its name nor its description can lead a restarted host to it, only the mapping
    const renamed = await host.call("PATCH", `/v1/mcp-server-instances/${running.id}`, KEYS.operator, {
      name: `${name}-renamed`,
      description: "edited",
    });
    expect(renamed.status).toBe(200);

    host.proc.kill("SIGTERM");
    expect(await host.exited).toBe(0);
    host = await start();
    await until(
      async () =>
        (await host.call("GET", `/v1/mcp-server-instances/${running.id}`, KEYS.viewer)).body?.status === "running",
      "running after restart",
    );
    const before = status.messages().length;
    expect(await redisCli("PUBLISH", channels.deleted, deletedMessage(legacyId))).toBe("1");
    await until(
      async () => (await host.call("GET", `/v1/mcp-server-instances/${running.id}`, KEYS.viewer)).status === 404,
      "instance deleted",
    );
    await until(async () => decoded().some((e) => e.data.status === "deleted"), "deleted on the status channel");
    const after = decoded().slice(before);
    expect(after.length).toBeGreaterThan(0);
    for (const e of after) expect(e.data.instance_id).toBe(legacyId);
    // the instance is gone, so is its mapping
    await until(async () => {
      const s = JSON.parse(readFileSync(join(dir, "store.json"), "utf8"));
      return !(s.records ?? []).some((r: { id: string }) => r.id === `legacy-id:${legacyId}`);
    }, "mapping dropped");
    expect(host.output()).toContain("legacy source subscribed");
  }, 120_000);

  it("a host whose legacy Redis is down starts without it and subscribes once Redis answers", async () => {
    const { createServer } = await import("node:net");
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const url = `redis://127.0.0.1:${port}`;
    const ns = `legacy-down-${randomUUID().slice(0, 8)}`;
    const host = await spawnHost({
      FLEET_STORE: "file",
      FLEET_RUNTIME: "memory",
      FLEET_SECRETS: "memory",
      FLEET_BUS: "memory",
      PORT: "0",
      DATA_DIR: mkdtempSync(join(tmpdir(), "mcpfleet-legacy-down-")),
      API_KEYS,
      LEGACY_REDIS_URL: url,
      LEGACY_CHANNELS: `created=${ns}:Created,deleted=${ns}:Deleted,status=${ns}:StatusChanged`,
    });
    cleanup.push(() => stopHosts([host]));
    // it listens and serves although nothing answers on the legacy Redis port
    expect((await host.call("GET", "/v1/mcp-servers", KEYS.viewer)).status).toBe(200);
    expect(host.output()).toContain("Redis is unreachable");
    expect(host.output()).not.toContain("legacy source subscribed");
    const redisProc = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      {
        stdio: "ignore",
      },
    );
    cleanup.push(() => void redisProc.kill("SIGKILL"));
    await until(
      async () => host.output().includes("legacy source subscribed after Redis came back"),
      "subscribed",
      30_000,
    );
    const server = await host.call("POST", "/v1/mcp-servers", KEYS.admin, seed("server-filesystem.json"));
    const name = `legacy-late-${ns.slice(-8)}`;
    const published = (
      await run("redis-cli", [
        "-u",
        url,
        "PUBLISH",
        `${ns}:Created`,
        createdMessage(randomUUID(), name, server.body.id),
      ])
    ).stdout.trim();
    expect(published).toBe("1");
    await until(
      async () => (await host.call("GET", `/v1/mcp-server-instances/${name}`, KEYS.viewer)).body?.status === "running",
      "instance from the late subscription running",
    );
  }, 120_000);
});
