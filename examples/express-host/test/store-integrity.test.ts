import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHost, type TestHost } from "./helpers.js";

const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

describe.each(["file", "memory"])("a body nested 5,000 deep (FLEET_STORE=%s)", (storeKind) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost({ FLEET_STORE: storeKind });
  });
  afterAll(async () => {
    await host?.close();
  });

  it("is refused with a 4xx problem and the store keeps working", async () => {
    const raw = `{"name":"deep","json_spec":{"type":"docker","image":"mcp/x:1","port":8000,"extra":${deep(5000)}}}`;
    const r = await host.call("POST", "/v1/mcp-server-instances", { role: "operator", raw });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.headers.get("content-type")).toContain("application/problem+json");
    const created = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "after-deep", json_spec: { type: "docker", image: "mcp/x:1", port: 8000 } },
    });
    expect(created.status).toBe(201);
    const list = await host.call("GET", "/v1/mcp-server-instances", { role: "viewer" });
    expect(list.status).toBe(200);
    const got = await host.call("GET", `/v1/mcp-server-instances/${created.body.id}`, { role: "viewer" });
    expect(got.status).toBe(200);
    expect(readdirSync(host.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

describe("unknown keys in request bodies", () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost({ FLEET_STORE: "file" });
  });
  afterAll(async () => {
    await host?.close();
  });

  it("are not kept on instances or servers", async () => {
    const inst = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: {
        name: "no-extras",
        json_spec: { type: "docker", image: "mcp/x:1", port: 8000 },
        revision: 99,
        status: "running",
        smuggled: { a: 1 },
      },
    });
    expect(inst.status).toBe(201);
    const got = await host.call("GET", `/v1/mcp-server-instances/${inst.body.id}`, { role: "viewer" });
    expect(got.body.smuggled).toBeUndefined();

    expect(got.body.revision).toBeLessThan(99);
    const srv = await host.call("POST", "/v1/mcp-servers", {
      role: "admin",
      body: { name: "srv-no-extras", smuggled: "x", revision: 50 },
    });
    expect(srv.status).toBe(201);
    const s = await host.call("GET", `/v1/mcp-servers/${srv.body.id}`, { role: "viewer" });
    expect(s.body.smuggled).toBeUndefined();
    expect(s.body.revision).toBe(1);
  });
});
