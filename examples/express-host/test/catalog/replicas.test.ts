import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWith } from "@mcpfleet/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { postgresService, throwawayDatabase } from "../../../../packages/store-postgres/test/helpers.js";
import { API_KEYS, KEYS, REPO_ROOT } from "../helpers.js";
import { postgresReplicaEnv, type SpawnedHost, spawnHost, stopHosts } from "../spawned-host.js";

const pgService = await postgresService();
const REGISTRY = join(REPO_ROOT, "packages/core/test/fixtures/registry");
const TEMPLATE = join(REPO_ROOT, "packages/core/test/fixtures/seeds/template-my-mcp.json");

describeWith([pgService], "catalog entries across two host processes sharing PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  let a: SpawnedHost | undefined;
  let b: SpawnedHost | undefined;
  let dir: string;
  const env = (name: string, catalogDir: string) =>
    postgresReplicaEnv(db.url, join(dir, name), API_KEYS, { CATALOG_DIR: catalogDir });
  beforeAll(async () => {
    db = await throwawayDatabase();
    dir = mkdtempSync(join(tmpdir(), "mcpfleet-catalog-replicas-"));
    const empty = join(dir, "empty-catalog");
    mkdirSync(empty);
    a = await spawnHost(env("a", `${REGISTRY},${TEMPLATE}`));
    // b loads nothing of its own: whatever it offers comes from the store a wrote
    b = await spawnHost(env("b", empty));
  }, 120_000);
  afterAll(async () => {
    await stopHosts([a, b]);
    await db?.drop();
  });

  it("an entry loaded by one process is listed, searched and instantiated on the other", async () => {
    const onA = await a!.call("GET", "/v1/catalog", KEYS.viewer);
    const onB = await b!.call("GET", "/v1/catalog", KEYS.viewer);
    expect(onA.status).toBe(200);
    expect(onB.status).toBe(200);
    expect(onB.body.map((e: { name: string }) => e.name)).toEqual(onA.body.map((e: { name: string }) => e.name));
    expect(onB.body.map((e: { name: string }) => e.name)).toEqual(
      expect.arrayContaining(["io.github.example/weather", "com.example/tenant-api", "my-mcp"]),
    );
    const search = await b!.call("GET", "/v1/catalog?q=forecasts", KEYS.viewer);
    expect(search.body.map((e: { name: string }) => e.name)).toEqual(["io.github.example/weather"]);
    const entry = await b!.call("GET", "/v1/catalog/weather", KEYS.viewer);
    expect(entry.body).toMatchObject({ name: "io.github.example/weather", source: "pypi:weather-mcp-server==0.6.1" });

    const made = await b!.call(
      "POST",
      `/v1/catalog/${encodeURIComponent("com.example/tenant-api")}/instances`,
      KEYS.operator,
      {
        values: { tenant: "acme" },
        secrets: { api_key: "catalog-replica-secret-1" },
        start: false,
      },
    );
    expect(made.status).toBe(201);
    expect(made.body.json_spec).toMatchObject({ type: "url", endpoint: "https://acme.mcp.example.com/eu/mcp" });
    expect(made.text).not.toContain("catalog-replica-secret-1");
    // the instance and the server definition b registered are in the shared store: a sees them
    const seen = await a!.call("GET", `/v1/mcp-server-instances/${made.body.id}`, KEYS.viewer);
    expect(seen.body).toMatchObject({ name: "tenant-api", server_spec_id: made.body.server_spec_id });
    // an unknown entry is unknown on both
    for (const h of [a!, b!]) expect((await h.call("GET", "/v1/catalog/nope", KEYS.viewer)).status).toBe(404);
  });

  it("a restarted process still offers the entries without loading them again", async () => {
    a!.proc.kill("SIGTERM");
    expect(await a!.exited).toBe(0);
    a = await spawnHost(env("a", join(dir, "empty-catalog")));
    const listed = await a.call("GET", "/v1/catalog", KEYS.viewer);
    expect(listed.body.map((e: { name: string }) => e.name)).toContain("my-mcp");
  }, 60_000);
});
