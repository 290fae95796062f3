import { randomBytes } from "node:crypto";
import { createServer, Socket as NetSocket, type Server, type Socket } from "node:net";
import { describeWith } from "@mcpfleet/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminPool, postgresService, throwawayDatabase } from "../../../packages/store-postgres/test/helpers.js";
import { startTestHost, type TestHost } from "./helpers.js";

const pgService = await postgresService();
const KEY = randomBytes(32).toString("hex");
const spec = (labels?: Record<string, string>) => ({
  type: "docker",
  image: "mcp/x:1",
  port: 8000,
  ...(labels ? { labels } : {}),
});

/** A TCP forwarder to PostgreSQL that the test can cut (the database "goes away") and restore. */
async function cuttableProxy(
  target: number,
): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = new NetSocket();
        sockets.add(client).add(upstream);
        upstream.connect(target, "127.0.0.1");
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
      });
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  await listen();
  return {
    port,
    async cut() {
      await new Promise<void>((r) => {
        server?.close(() => r());
        for (const s of sockets) s.destroy();
        sockets.clear();
      });
    },
    restore: listen,
  };
}

describeWith([pgService], "the host on PostgreSQL (FLEET_STORE=postgres, FLEET_SECRETS=postgres)", () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  let host: TestHost;
  let admin: ReturnType<typeof adminPool>;
  const env = () => ({
    FLEET_STORE: "postgres",
    FLEET_SECRETS: "postgres",
    DATABASE_URL: db.url,
    DATABASE_SCHEMA: "fleet",
    SECRETS_KEY: KEY,
  });
  beforeAll(async () => {
    db = await throwawayDatabase();
    admin = adminPool(db.url);
    host = await startTestHost(env());
  });
  afterAll(async () => {
    await host?.close();
    await admin?.end();
    await db?.drop();
  });

  it("/ready reports the postgres store", async () => {
    const r = await host.call("GET", "/ready", { role: "none" });
    expect(r.status).toBe(200);
    expect(r.body.checks["store:postgres"]).toEqual({ ok: true });
  });

  it("stores instances in the database, secrets encrypted, and pages the list with a cursor", async () => {
    const canary = `canary-${randomBytes(6).toString("hex")}`;
    const made: string[] = [];
    for (const n of ["pg-c", "pg-a", "pg-b"]) {
      const r = await host.call("POST", "/v1/mcp-server-instances", {
        role: "operator",
        body: { name: n, json_spec: spec(n === "pg-b" ? { team: "blue" } : undefined), secrets: { API_KEY: canary } },
      });
      expect(r.status).toBe(201);
      made.push(r.body.id);
    }
    const first = await host.call("GET", "/v1/mcp-server-instances?name_prefix=pg-&limit=2", { role: "viewer" });
    expect(first.status).toBe(200);
    expect(first.body.map((i: { name: string }) => i.name)).toEqual(["pg-a", "pg-b"]);
    expect(first.headers.get("x-total-count")).toBe("3");
    const cursor = first.headers.get("x-next-cursor");
    expect(cursor).toBeTruthy();
    expect(first.headers.get("link")).toContain('rel="next"');
    const second = await host.call(
      "GET",
      `/v1/mcp-server-instances?name_prefix=pg-&limit=2&cursor=${encodeURIComponent(cursor!)}`,
      { role: "viewer" },
    );
    expect(second.body.map((i: { name: string }) => i.name)).toEqual(["pg-c"]);
    expect(second.headers.get("x-next-cursor")).toBeNull();
    const labelled = await host.call("GET", "/v1/mcp-server-instances?label=team%3Dblue", { role: "viewer" });
    expect(labelled.body.map((i: { name: string }) => i.name)).toEqual(["pg-b"]);
    const bad = await host.call("GET", "/v1/mcp-server-instances?cursor=garbage", { role: "viewer" });
    expect(bad.status).toBe(422);
    const rows = await admin.query("SELECT t::text AS row FROM fleet.instances t");
    expect(rows.rows).toHaveLength(3);
    const secrets = await admin.query("SELECT t::text AS row FROM fleet.secrets t");
    expect(secrets.rows.length).toBeGreaterThanOrEqual(3);
    for (const r of [...rows.rows, ...secrets.rows]) expect(r.row).not.toContain(canary);
  });

  it("templates live in the database: a second host sees one loaded through the first", async () => {
    const load = await host.call("POST", "/v1/mcp-servers/templates", {
      role: "admin",
      body: { name: "stored-tpl", image: "mcp/stored:1", port: 8000 },
    });
    expect(load.status).toBeLessThan(300);
    const key = load.body.key as string;
    const rows = await admin.query("SELECT id FROM fleet.templates WHERE id = $1", [key]);
    expect(rows.rows).toHaveLength(1);
    const other = await startTestHost(env());
    try {
      const got = await other.call("GET", `/v1/mcp-servers/templates/${key}`, { role: "viewer" });
      expect(got.status).toBe(200);
      expect(got.body.name).toBe("stored-tpl");
    } finally {
      await other.close();
    }
  });
});

describeWith([pgService], "the host while PostgreSQL is unreachable", () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  let host: TestHost;
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
  beforeAll(async () => {
    db = await throwawayDatabase();
    proxy = await cuttableProxy(Number(new URL(db.url).port || 5432));
    const u = new URL(db.url);
    u.port = String(proxy.port);
    host = await startTestHost({ FLEET_STORE: "postgres", DATABASE_URL: u.toString() });
  });
  afterAll(async () => {
    await host?.close();
    await db?.drop();
  });

  it("answers 503 STORE_UNAVAILABLE (not 500), /ready says not ready, and recovers by itself", async () => {
    expect((await host.call("GET", "/v1/mcp-server-instances", { role: "viewer" })).status).toBe(200);
    await proxy.cut();
    const down = await host.call("GET", "/v1/mcp-server-instances", { role: "viewer" });
    expect(down.status).toBe(503);
    expect(down.body.code).toBe("STORE_UNAVAILABLE");
    expect(down.body.retryable).toBe(true);
    const create = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "while-down", json_spec: spec() },
    });
    expect(create.status).toBe(503);
    const ready = await host.call("GET", "/ready", { role: "none" });
    expect(ready.status).toBe(503);
    expect(ready.body.checks["store:postgres"].ok).toBe(false);
    await proxy.restore();
    const up = await host.call("GET", "/v1/mcp-server-instances", { role: "viewer" });
    expect(up.status).toBe(200);
    expect((await host.call("GET", "/ready", { role: "none" })).status).toBe(200);
  });
});

describe("list paging on the memory store (same query parameters)", () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost();
  });
  afterAll(async () => {
    await host?.close();
  });

  it("cursor pages, filters, and the legacy offset still answer", async () => {
    for (const n of ["m-2", "m-1", "m-3"]) {
      await host.call("POST", "/v1/mcp-server-instances", { role: "operator", body: { name: n, json_spec: spec() } });
    }
    const first = await host.call("GET", "/v1/mcp-server-instances?name_prefix=m-&limit=2", { role: "viewer" });
    expect(first.body.map((i: { name: string }) => i.name)).toEqual(["m-1", "m-2"]);
    const next = first.headers.get("x-next-cursor")!;
    const second = await host.call("GET", `/v1/mcp-server-instances?limit=2&name_prefix=m-&cursor=${next}`, {
      role: "viewer",
    });
    expect(second.body.map((i: { name: string }) => i.name)).toEqual(["m-3"]);
    const legacy = await host.call("GET", "/v1/mcp-server-instances?offset=1&limit=1", { role: "viewer" });
    expect(legacy.status).toBe(200);
    expect(legacy.body).toHaveLength(1);
    expect(legacy.headers.get("x-total-count")).toBe("3");
  });
});
