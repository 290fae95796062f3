import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHost, type TestHost } from "./helpers.js";

let host: TestHost;
beforeAll(async () => {
  host = await startTestHost();
});
afterAll(async () => {
  await host?.close();
});

const expectProblem = (r: { status: number; headers: Headers; body: any }, status: number, code: string) => {
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type")).toContain("application/problem+json");
  expect(r.body).toMatchObject({
    status,
    code,
    type: expect.stringContaining("/problems/"),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(Array.isArray(r.body.issues)).toBe(true);
};

describe("problem+json errors", () => {
  it("malformed JSON is a 400 problem", async () => {
    const r = await host.call("POST", "/v1/mcp-server-instances", { role: "operator", raw: '{"name": "x", ' });
    expectProblem(r, 400, "SPEC_INVALID");
    expect(r.body.detail).toContain("malformed JSON");
  });

  it("a missing body or another content type is a 422 problem", async () => {
    const none = await host.call("POST", "/v1/mcp-server-instances", { role: "operator" });
    expectProblem(none, 422, "SPEC_INVALID");
    const text = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      raw: "name=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expectProblem(text, 422, "SPEC_INVALID");
  });

  it("lists every envelope issue with its path", async () => {
    const r = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "", json_spec: "nope", start: "yes" },
    });
    expectProblem(r, 422, "SPEC_INVALID");
    expect(r.body.issues.map((i: any) => i.path).sort()).toEqual(["json_spec", "name", "start"]);
  });

  it("lists every json_spec issue the engine finds, with JSON paths", async () => {
    const r = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "bad-spec", json_spec: { type: "docker", image: "", port: 70000, transport: "carrier-pigeon" } },
    });
    expectProblem(r, 422, "SPEC_INVALID");
    const paths = r.body.issues.map((i: any) => i.path);
    expect(paths.length).toBeGreaterThanOrEqual(3);
    for (const p of paths) expect(p).toMatch(/json_spec\.|^(image|port|transport)/);
  });

  it("a server definition with a bad env_schema lists its issues", async () => {
    const r = await host.call("POST", "/v1/mcp-servers", {
      body: { name: "s", env_schema: [{ name: "1BAD", type: "float" }] },
    });
    expectProblem(r, 422, "SPEC_INVALID");
    expect(r.body.issues.some((i: any) => i.path.startsWith("env_schema.0"))).toBe(true);
  });

  it("query validation errors are problems too", async () => {
    const r = await host.call("GET", "/v1/mcp-server-instances?limit=0&status=bogus", { role: "viewer" });
    expectProblem(r, 422, "SPEC_INVALID");
    expect(r.body.issues.map((i: any) => i.path).sort()).toEqual(["query.limit", "query.status"]);
  });

  it("a body over the limit is a 413 problem", async () => {
    const r = await host.call("POST", "/v1/mcp-servers", {
      raw: JSON.stringify({ name: "x", description: "y".repeat(2 * 1024 * 1024) }),
    });
    expectProblem(r, 413, "SPEC_INVALID");
  });

  it("duplicate names are 409 problems", async () => {
    const spec = { type: "docker", image: "mcp/echo:1", port: 8000 };
    expect(
      (
        await host.call("POST", "/v1/mcp-server-instances", {
          role: "operator",
          body: { name: "dupe", json_spec: spec, start: false },
        })
      ).status,
    ).toBe(201);
    const again = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "dupe", json_spec: spec, start: false },
    });
    expect(again.status).toBe(409);
    expect(["ALREADY_EXISTS", "CONFLICT"]).toContain(again.body.code);
  });
});

describe("system endpoints", () => {
  it("serves health, readiness, an OpenAPI 3.1 document and a docs page", async () => {
    expect((await host.call("GET", "/health", { role: "none" })).body.status).toBe("ok");
    const ready = await host.call("GET", "/ready", { role: "none" });
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.checks).some((k) => k.startsWith("store:"))).toBe(true);
    const doc = (await host.call("GET", "/openapi.json", { role: "none" })).body;
    expect(doc.openapi).toBe("3.1.0");
    const create = doc.paths["/v1/mcp-server-instances"].post;
    expect(create.requestBody.content["application/json"].schema.$ref).toBe("#/components/schemas/InstanceCreate");
    expect(doc.components.schemas.InstanceCreate.properties.json_spec.$ref).toBe("#/components/schemas/JsonSpec");
    expect(create.responses["422"].content).toHaveProperty("application/problem+json");
    expect(doc.paths).toHaveProperty("/v1/mcp-server-instances/{id}/logs");
    expect(doc.paths).toHaveProperty("/v1/mcp-servers/from-template/{key}");
    const docs = await fetch(`${host.url}/docs`);
    expect(docs.headers.get("content-type")).toContain("text/html");
    const html = await docs.text();
    expect(html).toContain("/v1/mcp-server-instances/{id}/start");
    expect(html).not.toMatch(/<script|https?:\/\/cdn/);
  });

  it("exposes Prometheus metrics to viewers", async () => {
    const c = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "metered", json_spec: { type: "docker", image: "mcp/echo:1", port: 8000 } },
    });
    await host.fleet.instances.waitFor(c.body.id, "running", { timeoutMs: 10_000 });
    const m = await host.call("GET", "/metrics", { role: "viewer" });
    expect(m.status).toBe(200);
    const running = /mcpfleet_instances\{status="running"\} (\d+)/.exec(m.text);
    expect(Number(running?.[1])).toBeGreaterThanOrEqual(1);
    expect(m.text).toMatch(/mcpfleet_bus_published_total\{type="MCPServerInstanceCreated"\} [1-9]/);
    expect(m.text).toMatch(/mcpfleet_instance_status_changes_total\{status="running"\} [1-9]/);
    expect(m.text).toContain("mcpfleet_http_request_duration_seconds_bucket");
    expect(m.text).toContain("mcpfleet_gateway_request_duration_seconds");
    // the all-in-one host reconciles: pass durations and the bus lag of its work group and listeners
    expect(m.text).toMatch(/mcpfleet_reconcile_duration_seconds_count\{outcome="ok"\} [1-9]/);
    expect(m.text).toMatch(/mcpfleet_bus_delivery_lag_seconds_count\{consumer="reconciler"\} [1-9]/);
    expect(m.text).toMatch(/mcpfleet_bus_delivery_lag_seconds_count\{consumer="listeners"\} [1-9]/);
  });
});
