import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHost, type TestHost } from "../helpers.js";
import { policyToolServer } from "./policy-tools.js";

// Attacks on the real listening host by a managed key limited to instances named `repo-*`: every
// REST route that creates, reads or operates an instance (besides /v1/mcp-server-instances) must
// hold that limit, or the key reaches instances outside it by another way in.

let host: TestHost;
let upstream: Awaited<ReturnType<typeof policyToolServer>>;
let limited: string;

beforeAll(async () => {
  upstream = await policyToolServer(true);
  host = await startTestHost({ COMPAT_PREFIX: "/api/mcp", ALLOW_UNSAFE_ENDPOINTS: "true" });
  for (const name of ["repo-a", "other"]) {
    const r = await host.call("POST", "/v1/mcp-server-instances", {
      body: { name, json_spec: { type: "url", endpoint: upstream.url } },
    });
    expect(r.status).toBe(201);
    await host.fleet.instances.waitFor(name, "running", { timeoutMs: 20_000 });
  }
  const key = await host.call("POST", "/v1/api-keys", {
    body: { name: "repo-agent", role: "operator", policy: { name: "repos", instances: { names: ["repo-*"] } } },
  });
  expect(key.status).toBe(201);
  limited = key.body.key;
}, 60_000);

afterAll(async () => {
  await host?.close();
  await upstream?.close();
});

const as = (method: string, path: string, body?: unknown) =>
  host.call(method, path, { role: "none", headers: { authorization: `Bearer ${limited}` }, body });
const names = async () =>
  (await host.fleet.instances.list()).filter((i) => i.desired_state !== "deleted").map((i) => i.name);

describe("creating an instance outside the key's limit by another route", () => {
  const attempts: Array<[string, string, (name: string) => unknown]> = [
    ["POST /v1/containers", "/v1/containers", (name) => ({ image: "busybox:latest", name })],
    ["POST /v1/containers/start", "/v1/containers/start", (name) => ({ image: "busybox:latest", name })],
    ["compat POST /containers (flat body)", "/api/mcp/containers", (name) => ({ image: "busybox:latest", name })],
    [
      "compat POST /containers (from a template)",
      "/api/mcp/containers",
      (name) => ({ template: "my-mcp", service_name: name, environment: { MCP_SERVICE_NAME: "x" } }),
    ],
    [
      "POST /v1/catalog/{name}/instances",
      "/v1/catalog/my-mcp/instances",
      (name) => ({ name, values: { MCP_SERVICE_NAME: "x" } }),
    ],
    ["POST /v1/import", "/v1/import", (name) => ({ mcpServers: { [name]: { url: upstream.url } } })],
  ];

  it.each(attempts)("%s: refused with 403 naming the policy, nothing created", async (what, path, body) => {
    const name = `sneaky-${what.replace(/[^a-z]+/g, "-").replace(/^-|-$/g, "")}`;
    const r = await as("POST", path, body(name));
    expect(r.status).toBe(403);
    expect(r.body.code).toBe("FORBIDDEN");
    expect(r.text).toContain('policy \\"repos\\"');
    expect(await names()).not.toContain(name);
  });

  it.each(attempts)(
    "%s: a name inside the limit is created (the refusal is the policy's)",
    async (what, path, body) => {
      const name = `repo-${what.replace(/[^a-z]+/g, "-").replace(/^-|-$/g, "")}`;
      const r = await as("POST", path, body(name));
      expect(r.status).toBe(201);
      expect(await names()).toContain(name);
    },
  );

  it("POST /v1/import: a document with one instance outside the limit creates none of them; a dry run is refused too", async () => {
    const doc = { mcpServers: { "repo-imp-ok": { url: upstream.url }, "sneaky-imp": { url: upstream.url } } };
    const r = await as("POST", "/v1/import", doc);
    expect(r.status).toBe(403);
    expect(r.body.path).toBe("instances.sneaky-imp");
    const dry = await as("POST", "/v1/import?dry_run=true", doc);
    expect(dry.status).toBe(403);
    expect(await names()).not.toContain("repo-imp-ok");
    expect(await names()).not.toContain("sneaky-imp");
  });

  it("PATCH/PUT /v1/mcp-server-instances/{id}: renaming an allowed instance out of the limit is refused", async () => {
    for (const method of ["PATCH", "PUT"]) {
      const r = await as(method, "/v1/mcp-server-instances/repo-a", { name: "escaped" });
      expect(r.status, method).toBe(403);
    }
    expect(await names()).toContain("repo-a");
    expect(await names()).not.toContain("escaped");
  });
});

describe("reading and operating an instance outside the key's limit through the compatibility router", () => {
  it("per-container routes of another instance are 403, and it keeps running", async () => {
    for (const [method, path] of [
      ["GET", "/api/mcp/containers/other"],
      ["GET", "/api/mcp/containers/other/status"],
      ["GET", "/api/mcp/containers/other/logs"],
      ["POST", "/api/mcp/containers/other/stop"],
      ["POST", "/api/mcp/containers/other/start"],
      ["DELETE", "/api/mcp/containers/other"],
    ] as const) {
      const r = await as(method, path);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.text).not.toContain(upstream.url);
    }
    const other = await host.fleet.instances.get("other");
    expect(other.desired_state).toBe("running");
    expect((await as("GET", "/api/mcp/containers/repo-a/status")).status).toBe(200);
  });

  it("GET /containers lists only the instances inside the limit", async () => {
    const r = await as("GET", "/api/mcp/containers");
    expect(r.status).toBe(200);
    const listed = (r.body.containers as Array<{ name: string }>).map((c) => c.name);
    expect(listed).toContain("repo-a");
    expect(listed.every((n) => n.startsWith("repo-"))).toBe(true);
    // the admin key sees the other one (the filter is the policy's)
    const all = await host.call("GET", "/api/mcp/containers");
    expect((all.body.containers as Array<{ name: string }>).map((c) => c.name)).toContain("other");
  });
});
