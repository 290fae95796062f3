import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWith } from "@mcpfleet/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { postgresService, throwawayDatabase } from "../../../../packages/store-postgres/test/helpers.js";
import { API_KEYS, KEYS } from "../helpers.js";
import { postgresReplicaEnv, type SpawnedHost, spawnHost, stopHosts } from "../spawned-host.js";

const pgService = await postgresService();

/** Polls until `check` holds (replicas converge within their key cache time; no fixed sleeps). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describeWith([pgService], "managed keys across two host processes sharing PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  let a: SpawnedHost;
  let b: SpawnedHost;
  let dir: string;
  beforeAll(async () => {
    db = await throwawayDatabase();
    dir = mkdtempSync(join(tmpdir(), "mcpfleet-replicas-"));
    const env = (name: string) => postgresReplicaEnv(db.url, join(dir, name), API_KEYS, { KEYS_CACHE_TTL_MS: "1000" });
    [a, b] = await Promise.all([spawnHost(env("a")), spawnHost(env("b"))]);
  }, 120_000);
  afterAll(async () => {
    await stopHosts([a, b]);
    await db?.drop();
  });

  it("a key made on one process works on the other; its revocation reaches the other within seconds", async () => {
    const made = await a.call("POST", "/v1/api-keys", KEYS.admin, {
      name: "replica-agent",
      role: "operator",
      policy: { tools: { deny: ["*delete*"] } },
    });
    expect(made.status).toBe(201);
    const key = made.body.key as string;
    expect(key).toMatch(/^mcpf_/);
    // the other process reads it from the shared store (never the key: only its hash is stored)
    await eventually(async () => (await b.call("GET", "/v1/mcp-server-instances", key)).status === 200, "key on b");
    expect((await b.call("POST", "/v1/mcp-servers", key, {})).status).toBe(403);
    const listed = await b.call("GET", "/v1/api-keys", KEYS.admin);
    expect(listed.text).not.toContain(key);
    expect(listed.body.items).toContainEqual(expect.objectContaining({ id: made.body.id }));
    const revoked = await a.call("DELETE", `/v1/api-keys/${made.body.id}`, KEYS.admin);
    expect(revoked.status).toBe(200);
    await eventually(async () => (await b.call("GET", "/v1/mcp-server-instances", key)).status === 401, "revoked on b");
    expect((await a.call("GET", "/v1/mcp-server-instances", key)).status).toBe(401);
    // neither process logged the key
    expect(a.output() + b.output()).not.toContain(key);
    for (const h of ["a", "b"]) expect(readFileSync(join(dir, h, "audit.log"), "utf8")).not.toContain(key);
  });
});
