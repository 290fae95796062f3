import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, startTestHost, type TestHost, type TestRole } from "./helpers.js";

const require = createRequire(import.meta.url);
const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);

async function connect(url: string, role: TestRole) {
  const client = new Client({ name: "host-test", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${KEYS[role]}` } },
  });
  await client.connect(transport);
  return client;
}

let host: TestHost;
let id: string;
beforeAll(async () => {
  host = await startTestHost({ FLEET_RUNTIME: "process" });
  // a process spec is a command on the host: admin-only (operators use it below, through MCP)
  const created = await host.call("POST", "/v1/mcp-server-instances", {
    role: "admin", // process specs are admin-only
    body: {
      name: "everything",
      json_spec: { type: "process", command: [process.execPath, EVERYTHING, "stdio"], transport: "stdio" },
    },
  });
  expect(created.status).toBe(201);
  id = created.body.id;
  await host.fleet.instances.waitFor(id, "running", { timeoutMs: 30_000 });
}, 60_000);
afterAll(async () => {
  await host?.close();
});

describe("MCP through the host (process runtime, server-everything over stdio)", () => {
  it("an MCP SDK client calls a tool through /mcp/{instance} with an operator key", async () => {
    const client = await connect(`${host.url}/mcp/everything`, "operator");
    const r = await client.callTool({ name: "echo", arguments: { message: "through the host" } });
    expect((r.content as Array<{ text: string }>)[0]!.text).toBe("Echo: through the host");
    await client.close();
    const byId = await connect(`${host.url}/mcp/${id}`, "operator");
    expect((await byId.listTools()).tools.map((t) => t.name)).toContain("echo");
    await byId.close();
  });

  it("refuses viewers and anonymous callers on the MCP routes", async () => {
    await expect(connect(`${host.url}/mcp/everything`, "viewer")).rejects.toThrow(/403|Forbidden/i);
    const anon = await fetch(`${host.url}/mcp/everything`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(anon.status).toBe(401);
  });

  it("lists the instance's tools over REST", async () => {
    const r = await host.call("GET", `/v1/mcp-server-instances/${id}/tools`, { role: "viewer" });
    expect(r.status).toBe(200);
    expect(r.body.instance).toBe(id);
    expect(r.body.tools.map((t: any) => t.name)).toEqual(expect.arrayContaining(["echo"]));
  });

  it("aggregates tools at /mcp as <instance>__<tool>", async () => {
    const client = await connect(`${host.url}/mcp`, "operator");
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("everything__echo");
    const r = await client.callTool({ name: "everything__echo", arguments: { message: "aggregated" } });
    expect((r.content as Array<{ text: string }>)[0]!.text).toBe("Echo: aggregated");
    await client.close();
  });

  it("serves the control-plane MCP server at /control/mcp", async () => {
    const client = await connect(`${host.url}/control/mcp`, "operator");
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools.length).toBeGreaterThan(3);
    const list = tools.find((t) => /list.*instances|instances.*list/.test(t));
    expect(list).toBeDefined();
    const r = await client.callTool({ name: list!, arguments: {} });
    expect(JSON.stringify(r.content)).toContain("everything");
    await client.close();
  });

  it("audits MCP calls with the key id (never the key)", async () => {
    await new Promise((r) => setTimeout(r, 50));
    const text = readFileSync(host.auditPath, "utf8");
    for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
    const entries = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(entries).toContainEqual(
      expect.objectContaining({ action: "mcp:instance", actor: "op", target: "everything", result: "ok" }),
    );
    expect(entries).toContainEqual(expect.objectContaining({ action: "mcp:control", actor: "op", result: "ok" }));
    expect(entries).toContainEqual(
      expect.objectContaining({ action: "mcpInstance", actor: "view", result: "denied", status: 403 }),
    );
  });

  it("counts gateway requests in /metrics", async () => {
    const m = await host.call("GET", "/metrics", { role: "viewer" });
    expect(m.text).toMatch(/mcpfleet_gateway_request_duration_seconds_count\{route="instance",status="200"\} [1-9]/);
  });
});
