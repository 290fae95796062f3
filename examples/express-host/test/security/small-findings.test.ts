import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHost, type TestHost } from "../helpers.js";

// Issue 14, finding 11, replayed against the listening host with a real MCP server (server-everything).
const require = createRequire(import.meta.url);
const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);
const MCP_HEADERS = { accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18" };
const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "attacker", version: "1" } },
};

let host: TestHost;
beforeAll(async () => {
  host = await startTestHost({ FLEET_RUNTIME: "process" });
  const created = await host.call("POST", "/v1/mcp-server-instances", {
    role: "admin",
    body: {
      name: "everything",
      json_spec: { type: "process", command: [process.execPath, EVERYTHING, "stdio"], transport: "stdio" },
    },
  });
  expect(created.status).toBe(201);
  await host.fleet.instances.waitFor(created.body.id, "running", { timeoutMs: 30_000 });
}, 60_000);
afterAll(async () => {
  await host?.close();
});

describe("finding 11", () => {
  it("malformed percent-encoding in ids answers 400, not 500", async () => {
    for (const path of [
      "/v1/mcp-server-instances/%ZZ",
      "/v1/mcp-server-instances/%E0%A4%A",
      "/v1/mcp-server-instances/%ZZ/logs",
      "/v1/mcp-servers/%ZZ",
      "/mcp/%ZZ",
    ]) {
      const r = await host.call("GET", path, { role: "admin" });
      expect(r.status, path).toBe(400);
      expect(r.body.code, path).toBe("SPEC_INVALID");
    }
    const gz = await host.call("POST", "/v1/mcp-server-instances", {
      raw: "not gzip at all",
      headers: { "content-encoding": "gzip" },
    });
    expect(gz.status).toBeGreaterThanOrEqual(400);
    expect(gz.status).toBeLessThan(500);
  });

  it("a gateway session id is usable only by the key that opened it", async () => {
    const opened = await host.call("POST", "/mcp/everything", {
      role: "admin",
      headers: MCP_HEADERS,
      body: initialize,
    });
    expect(opened.status).toBe(200);
    const sid = opened.headers.get("mcp-session-id");
    expect(sid).toBeTruthy();
    const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
    const stolen = await host.call("POST", "/mcp/everything", {
      role: "operator",
      headers: { ...MCP_HEADERS, "mcp-session-id": sid! },
      body: list,
    });
    expect(stolen.status).toBe(404);
    expect(stolen.text).not.toContain("echo");
    const own = await host.call("POST", "/mcp/everything", {
      role: "admin",
      headers: { ...MCP_HEADERS, "mcp-session-id": sid! },
      body: list,
    });
    expect(own.status).toBe(200);
    expect(own.text).toContain("echo");
  });

  it("a JSON-RPC message whose method is not a string gets a JSON-RPC error on every MCP route", async () => {
    for (const path of ["/mcp/everything", "/mcp", "/control/mcp"]) {
      for (const body of [
        { jsonrpc: "2.0", id: 1, method: 5 },
        { jsonrpc: "2.0", id: 1, method: { x: 1 } },
        { jsonrpc: "2.0", id: { bad: true }, method: "tools/list" },
        [],
      ]) {
        const r = await host.call("POST", path, { role: "admin", headers: MCP_HEADERS, body });
        expect(r.status, `${path} ${JSON.stringify(body)}`).toBe(400);
        expect(r.body.error.code, path).toBe(-32600);
      }
    }
  });

  it("an instance may not be named like an instance id", async () => {
    const r = await host.call("POST", "/v1/mcp-server-instances", {
      role: "admin",
      body: {
        name: "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        json_spec: { type: "url", endpoint: "https://x.example/mcp" },
      },
    });
    expect(r.status).toBe(422);
    expect(r.body.path).toBe("name");
  });
});
