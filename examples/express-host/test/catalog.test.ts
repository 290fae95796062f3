import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startTestHost, type TestHost } from "./helpers.js";

const FIXTURES = join(REPO_ROOT, "packages/core/test/fixtures");

let host: TestHost;
beforeAll(async () => {
  host = await startTestHost({
    CATALOG_DIR: [
      join(FIXTURES, "registry"),
      join(FIXTURES, "seeds/template-my-mcp.json"),
      join(FIXTURES, "seeds/template-fastapi.json"),
    ].join(","),
  });
});
afterAll(async () => {
  await host?.close();
});

describe("GET /v1/catalog and POST /v1/catalog/{name}/instances (CATALOG_DIR)", () => {
  it("lists what loaded (the mcpb-only document through its remote) and searches", async () => {
    const all = await host.call("GET", "/v1/catalog", { role: "viewer" });
    expect(all.status).toBe(200);
    expect(all.body.map((e: any) => e.name)).toEqual([
      "com.example/tenant-api",
      "fastapi",
      "io.github.brave/brave-search",
      "io.github.example/desktop-only",
      "io.github.example/weather",
      "io.github.modelcontextprotocol/filesystem",
      "my-mcp",
    ]);
    const weather = all.body.find((e: any) => e.name === "io.github.example/weather");
    expect(weather).toMatchObject({
      kind: "process",
      source: "pypi:weather-mcp-server==0.6.1",
      instance_name: "weather",
    });
    expect(weather.variables.find((v: any) => v.name === "OPENWEATHER_API_KEY")).toMatchObject({
      secret: true,
      required: true,
    });
    const found = await host.call("GET", "/v1/catalog?q=search", { role: "viewer" });
    expect(found.body.map((e: any) => e.name)).toEqual(["io.github.brave/brave-search"]);
    const one = await host.call("GET", `/v1/catalog/${encodeURIComponent("io.github.example/weather")}`, {
      role: "viewer",
    });
    expect(one.status).toBe(200);
    expect((await host.call("GET", "/v1/catalog/no-such", { role: "viewer" })).status).toBe(404);
    expect((await host.call("GET", "/v1/catalog", { role: "none" })).status).toBe(401);
  });

  it("creates a remote instance with its URL variables and a secret header; the server definition is registered", async () => {
    const r = await host.call("POST", `/v1/catalog/${encodeURIComponent("com.example/tenant-api")}/instances`, {
      role: "operator",
      body: { values: { tenant: "acme" }, secrets: { api_key: "tenant-secret-9" }, start: false },
    });
    expect(r.status).toBe(201);
    expect(r.body.name).toBe("tenant-api");
    expect(r.body.json_spec).toMatchObject({ type: "url", endpoint: "https://acme.mcp.example.com/eu/mcp" });
    expect(r.body.json_spec.headers.Authorization).toBe(`secret_ref:instance_${r.body.id}:headers.Authorization`);
    expect(r.text).not.toContain("tenant-secret-9");
    const server = await host.call("GET", `/v1/mcp-servers/${r.body.server_spec_id}`, { role: "viewer" });
    expect(server.body.name).toBe("com.example/tenant-api");
  });

  it("creates from a seed template by its short name; values checked; viewers refused", async () => {
    const r = await host.call("POST", "/v1/catalog/my-mcp/instances", {
      role: "operator",
      body: { name: "cat-my-mcp", values: { MCP_SERVICE_NAME: "svc-a" } },
    });
    expect(r.status).toBe(201);
    expect(r.body.json_spec).toMatchObject({
      image: "my-org/my-mcp:latest",
      environment: { MCP_SERVICE_NAME: "svc-a" },
    });
    const bad = await host.call("POST", "/v1/catalog/weather/instances", {
      role: "operator",
      body: { values: { units: "kelvin" } },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.issues.map((i: any) => i.path).sort()).toEqual(["values.OPENWEATHER_API_KEY", "values.units"]);
    const viewer = await host.call("POST", "/v1/catalog/my-mcp/instances", { role: "viewer", body: {} });
    expect(viewer.status).toBe(403);
  });
});
