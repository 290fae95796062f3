import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed, startTestHost, type TestHost } from "./helpers.js";

let host: TestHost;
let flat = "";
beforeAll(async () => {
  // the seed start-container body mounts /host/path; the fastapi template mounts ./app (checked at create, on real paths)
  host = await startTestHost({ COMPAT_PREFIX: "/api/mcp", ALLOWED_HOST_PATHS: `/host/path,${resolve("app")}` });
});
afterAll(async () => {
  await host?.close();
});

describe("the original manager's HTTP API at COMPAT_PREFIX, seed bodies verbatim", () => {
  it("GET /templates in the original template shape", async () => {
    const r = await host.call("GET", "/api/mcp/templates", { role: "viewer" });
    expect(r.status).toBe(200);
    const myMcp = r.body.templates.find((t: any) => t.name === "my-mcp");
    expect(myMcp).toMatchObject({
      image: "my-org/my-mcp:latest",
      required_env_vars: ["MCP_SERVICE_NAME"],
      capabilities: ["custom-capability"],
    });
  });

  it("POST /containers with the create-from-template body: my-app from fastapi with 2 replicas", async () => {
    const r = await host.call("POST", "/api/mcp/containers", {
      role: "operator",
      body: seed("create-from-template-request.json"),
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      name: "my-app",
      image: "python:3.11-slim",
      replicas: 2,
      ports: { "8000/tcp": 8000 },
    });
    const inst = await host.fleet.instances.get("my-app");
    expect(inst.json_spec.environment).toMatchObject({ DATABASE_URL: "sqlite:///app.db", PYTHONPATH: "/app" });
  });

  it("POST /containers with the flat start-container body", async () => {
    const r = await host.call("POST", "/api/mcp/containers", {
      role: "operator",
      body: seed("container-start-request.json"),
    });
    expect(r.status).toBe(201);
    expect(r.body.image).toBe("your-mcp-image:latest");
    expect(r.body.labels).toEqual({ "custom.label": "value" });
    flat = r.body.name;
    await host.fleet.instances.waitFor(r.body.id, "running", { timeoutMs: 10_000 });
    const status = await host.call("GET", `/api/mcp/containers/${r.body.name}/status`, { role: "viewer" });
    expect(status.body).toMatchObject({ name: r.body.name, status: "running", health: "healthy" });
  });

  it("list, get, stop, start, logs, delete in the original shapes", async () => {
    const list = await host.call("GET", "/api/mcp/containers", { role: "viewer" });
    expect(list.body.containers.map((c: any) => c.name)).toEqual(expect.arrayContaining(["my-app", flat]));
    const one = await host.call("GET", `/api/mcp/containers/${flat}`, { role: "viewer" });
    expect(one.body).toMatchObject({ name: flat, status: "running" });
    const stop = await host.call("POST", `/api/mcp/containers/${flat}/stop`, { role: "operator" });
    expect(stop.status).toBe(200);
    await host.fleet.instances.waitFor(flat, "stopped", { timeoutMs: 10_000 });
    expect((await host.call("GET", `/api/mcp/containers/${flat}/status`, { role: "viewer" })).body.status).toBe(
      "exited",
    );
    expect((await host.call("POST", `/api/mcp/containers/${flat}/start`, { role: "operator" })).status).toBe(200);
    await host.fleet.instances.waitFor(flat, "running", { timeoutMs: 10_000 });
    const logs = await host.call("GET", `/api/mcp/containers/${flat}/logs?tail=10`, { role: "viewer" });
    expect(logs.status).toBe(200);
    expect(logs.body).toMatchObject({ name: flat, logs: expect.any(String) });
    const del = await host.call("DELETE", `/api/mcp/containers/${flat}`, { role: "operator" });
    expect(del.status).toBe(200);
    expect(del.body.status).toBe("removing");
    // gone once the reconciler has removed it (the store forgets deleted instances)
    let status = 0;
    for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      status = (await host.call("GET", `/api/mcp/containers/${flat}`, { role: "viewer" })).status;
      if (status === 404) break;
    }
    expect(status).toBe(404);
  });

  it("roles as on the REST equivalents", async () => {
    expect((await host.call("GET", "/api/mcp/containers", { role: "none" })).status).toBe(401);
    const viewer = await host.call("POST", "/api/mcp/containers", {
      role: "viewer",
      body: seed("container-start-request.json"),
    });
    expect(viewer.status).toBe(403);
    expect((await host.call("POST", "/api/mcp/containers/x/stop", { role: "viewer" })).status).toBe(403);
    expect((await host.call("DELETE", "/api/mcp/containers/x", { role: "viewer" })).status).toBe(403);
  });

  it("a body with neither template nor image, or an unknown template: 4xx with the path", async () => {
    const none = await host.call("POST", "/api/mcp/containers", { role: "operator", body: { service_name: "x" } });
    expect(none.status).toBe(422);
    expect(none.body.issues[0].path).toBe("template");
    const unknown = await host.call("POST", "/api/mcp/containers", { role: "operator", body: { template: "nope" } });
    expect(unknown.status).toBe(404);
  });
});

describe("COMPAT_PREFIX=/ and unset", () => {
  it("mounts at the root when /, and not at all when unset", async () => {
    const root = await startTestHost({ COMPAT_PREFIX: "/" });
    try {
      expect((await root.call("GET", "/templates", { role: "viewer" })).status).toBe(200);
      expect((await root.call("GET", "/containers", { role: "viewer" })).body.containers).toEqual([]);
    } finally {
      await root.close();
    }
    const off = await startTestHost();
    try {
      expect((await off.call("GET", "/templates", { role: "viewer" })).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
