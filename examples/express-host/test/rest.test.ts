import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed, seedWith, startTestHost, type TestHost } from "./helpers.js";

let host: TestHost;
beforeAll(async () => {
  // the fastapi template bind-mounts ./app (relative to the host's working directory); the seeds' URL
  // instance points at localhost: the quick-start allowlist (refused by default)
  host = await startTestHost({ ALLOWED_HOST_PATHS: resolve("app"), ENDPOINT_ALLOW: "loopback" });
});
afterAll(async () => {
  await host?.close();
});

describe("seed bodies through REST (memory runtime)", () => {
  it("registers server-filesystem and creates instance-filesystem with the real server id; it runs", async () => {
    const server = await host.call("POST", "/v1/mcp-servers", { body: seed("server-filesystem.json") });
    expect(server.status).toBe(201);
    expect(server.body.env_schema.find((e: any) => e.name === "MAX_FILE_SIZE").default).toBe("10MB");
    const created = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: seedWith("instance-filesystem.json", server.body.id),
    });
    expect(created.status).toBe(201);
    expect(created.body.server_spec_id).toBe(server.body.id);
    expect(created.body.json_spec.environment.MAX_FILE_SIZE).toBe("5MB");
    await host.fleet.instances.waitFor(created.body.id, "running", { timeoutMs: 10_000 });
    const status = await host.call("GET", `/v1/mcp-server-instances/${created.body.id}/status`, { role: "viewer" });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ id: created.body.id, status: "running", desired_state: "running" });
    const byName = await host.call("GET", "/v1/mcp-server-instances/fs-instance-1", { role: "viewer" });
    expect(byName.body.id).toBe(created.body.id);
    // the server is in use now
    const del = await host.call("DELETE", `/v1/mcp-servers/${server.body.id}`);
    expect(del.status).toBe(409);
    expect(del.body.code).toBe("IN_USE");
  });

  it("registers server-external-url and creates its URL instance", async () => {
    const server = await host.call("POST", "/v1/mcp-servers", { body: seed("server-external-url.json") });
    expect(server.status).toBe(201);
    const created = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: seedWith("instance-external-url.json", server.body.id),
    });
    expect(created.status).toBe(201);
    expect(created.body.json_spec).toMatchObject({ type: "url", endpoint: "http://localhost:3333/mcp" });
  });

  it("parses the original start-container body; its host bind mount outside ALLOWED_HOST_PATHS is refused at create naming the path", async () => {
    const refused = await host.call("POST", "/v1/containers", {
      role: "operator",
      body: seed("container-start-request.json"),
    });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe("HOST_PATH_REFUSED");
    expect(refused.body.detail).toContain("/host/path");
    expect(refused.body.issues[0].path).toBe("json_spec.volumes.0.source");
    const { volumes: _volumes, ...withoutVolumes } = seed("container-start-request.json");
    const created = await host.call("POST", "/v1/containers", { role: "operator", body: withoutVolumes });
    expect(created.status).toBe(201);
    expect(created.body.name).toMatch(/^your-mcp-image-[0-9a-f]{6}$/);
    expect(created.body.json_spec.image).toBe("your-mcp-image:latest");
  });

  it("lists the seed templates and creates the fastapi service with 2 replicas from the seed request", async () => {
    const list = await host.call("GET", "/v1/mcp-servers/templates", { role: "viewer" });
    expect(list.status).toBe(200);
    expect(list.body.map((t: any) => t.key).sort()).toEqual(["fastapi", "my-mcp"]);
    const myMcp = await host.call("GET", "/v1/mcp-servers/templates/my-mcp", { role: "viewer" });
    expect(myMcp.body.env_schema).toContainEqual(expect.objectContaining({ name: "MCP_SERVICE_NAME", required: true }));
    const created = await host.call("POST", "/v1/mcp-servers/from-template/fastapi", {
      role: "operator",
      body: seed("create-from-template-request.json"),
    });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe("my-app");
    expect(created.body.json_spec.replicas).toBe(2);
    expect(created.body.json_spec.environment).toMatchObject({ DATABASE_URL: "sqlite:///app.db", PYTHONPATH: "/app" });
    const wrong = await host.call("POST", "/v1/mcp-servers/from-template/my-mcp", {
      role: "operator",
      body: seed("create-from-template-request.json"),
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.issues[0].path).toBe("template");
    const missing = await host.call("GET", "/v1/mcp-servers/templates/nope", { role: "viewer" });
    expect(missing.status).toBe(404);
  });

  it("loads a template through the API (admin)", async () => {
    const t = await host.call("POST", "/v1/mcp-servers/templates", {
      body: { ...seed("template-my-mcp.json"), name: "my-mcp-2" },
    });
    expect(t.status).toBe(201);
    expect(t.body.key).toBe("my-mcp-2");
  });
});

describe("instance lifecycle over REST", () => {
  const spec = { type: "docker", image: "mcp/echo:1", port: 8000, environment: { MODE: "test" } };

  it("create, stop, start, update with revision check, logs, delete", async () => {
    const c = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "life-1", json_spec: spec },
    });
    expect(c.status).toBe(201);
    const id = c.body.id;
    await host.fleet.instances.waitFor(id, "running", { timeoutMs: 10_000 });
    const stop = await host.call("POST", `/v1/mcp-server-instances/${id}/stop`, { role: "operator" });
    expect(stop.status).toBe(202);
    expect(stop.body.desired_state).toBe("stopped");
    await host.fleet.instances.waitFor(id, "stopped", { timeoutMs: 10_000 });
    const start = await host.call("POST", `/v1/mcp-server-instances/${id}/start`, { role: "operator" });
    expect(start.status).toBe(202);
    const running = await host.fleet.instances.waitFor(id, "running", { timeoutMs: 10_000 });

    const stale = await host.call("PATCH", `/v1/mcp-server-instances/${id}`, {
      role: "operator",
      body: { description: "x", revision: running.revision - 1 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe("CONFLICT");
    const ok = await host.call("PATCH", `/v1/mcp-server-instances/${id}`, {
      role: "operator",
      body: { description: "updated", revision: running.revision },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.description).toBe("updated");

    const logs = await host.call("GET", `/v1/mcp-server-instances/${id}/logs?tail=5`, { role: "viewer" });
    expect(logs.status).toBe(200);
    expect(logs.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = logs.text.trim().split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(5);
    for (const l of lines) expect(JSON.parse(l)).toHaveProperty("line");

    const list = await host.call("GET", "/v1/mcp-server-instances?status=running&limit=1", { role: "viewer" });
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    expect(Number(list.headers.get("x-total-count"))).toBeGreaterThanOrEqual(1);

    const del = await host.call("DELETE", `/v1/mcp-server-instances/${id}`, { role: "operator" });
    expect(del.status).toBe(202);
    expect(del.body.desired_state).toBe("deleted");
    await host.fleet.instances.waitFor(id, "deleted", { timeoutMs: 10_000 }).catch(() => {});
    await expect
      .poll(async () => (await host.call("GET", `/v1/mcp-server-instances/${id}`, { role: "viewer" })).status)
      .toBe(404);
  });

  it("streams logs as Server-Sent Events with follow=true", async () => {
    const c = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "sse-1", json_spec: spec },
    });
    await host.fleet.instances.waitFor(c.body.id, "running", { timeoutMs: 10_000 });
    const controller = new AbortController();
    const res = await fetch(`${host.url}/v1/mcp-server-instances/${c.body.id}/logs?follow=true&tail=10`, {
      headers: { "x-api-key": "test-viewer-key-0123456789abcdef" },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("event: log")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString("utf8");
    }
    controller.abort();
    const data = /event: log\ndata: (.+)\n/.exec(text)?.[1];
    expect(data).toBeDefined();
    expect(JSON.parse(data!)).toHaveProperty("stream");
  });

  it("answers 404 problems for unknown ids and routes", async () => {
    const r = await host.call("GET", "/v1/mcp-server-instances/no-such-instance/status", { role: "viewer" });
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toContain("application/problem+json");
    expect(r.body.code).toBe("NOT_FOUND");
    const route = await host.call("GET", "/v1/nothing-here", { role: "viewer" });
    expect(route.status).toBe(404);
    expect(route.body.code).toBe("NOT_FOUND");
  });

  it("tools of an instance without an HTTP endpoint is a problem, not a crash", async () => {
    const c = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "tools-stopped", json_spec: spec, start: false },
    });
    const r = await host.call("GET", `/v1/mcp-server-instances/${c.body.id}/tools`, { role: "viewer" });
    expect(r.headers.get("content-type")).toContain("application/problem+json");
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.body.code).toBeTypeOf("string");
  });
});
