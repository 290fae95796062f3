import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, REPO_ROOT, startTestHost, type TestHost, type TestRole } from "./helpers.js";

/**
 * Finding 7: a stdio instance's bridge listens on a loopback port. It must not be a side door:
 * requests without the instance's bridge token are refused, and no API shows the internal endpoint.
 */
// the stdio test server of @mcpfleet/mcp's own tests (one copy in the repo)
const FIXTURE = join(REPO_ROOT, "packages/mcp/test/fixture-stdio-server.mjs");
const INIT = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "attacker", version: "1" } },
};

async function connect(url: string, role: TestRole) {
  const client = new Client({ name: "host-test", version: "1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${KEYS[role]}` } },
    }),
  );
  return client;
}

describe("the stdio bridge is not a side door (process runtime, real host)", () => {
  let host: TestHost;
  let id: string;
  let bridgeUrl: string;
  beforeAll(async () => {
    host = await startTestHost({ FLEET_RUNTIME: "process" });
    const created = await host.call("POST", "/v1/mcp-server-instances", {
      role: "admin",
      body: {
        name: "bridged",
        json_spec: { type: "process", command: [process.execPath, FIXTURE, "normal"], transport: "stdio" },
      },
    });
    expect(created.status).toBe(201);
    id = created.body.id;
    await host.fleet.instances.waitFor(id, "running", { timeoutMs: 30_000 });
    // the test reads the store in-process, as only the host itself can
    bridgeUrl = (await host.fleet.instances.get(id)).endpoint!;
    expect(bridgeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  }, 60_000);
  afterAll(async () => {
    await host?.close();
  });

  it("refuses a direct request to the bridge port without the token, or with a wrong one (401)", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { "x-mcpfleet-bridge-token": "guess" },
      { authorization: `Bearer ${KEYS.admin}` },
    ];
    for (const headers of attempts) {
      const res = await fetch(bridgeUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body: JSON.stringify(INIT),
      });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/bridge token/);
      expect(JSON.stringify(body)).not.toContain("fixture"); // no serverInfo leaked
    }
  });

  it("the gateway still reaches the instance (it adds the token)", async () => {
    const client = await connect(`${host.url}/mcp/bridged`, "operator");
    const r = await client.callTool({ name: "echo", arguments: { a: 1 } });
    expect((r.content as Array<{ text: string }>)[0]!.text).toBe('echo: {"a":1}');
    await client.close();
  });

  it("no REST response shows the internal endpoint, to a viewer or an admin", async () => {
    const port = new URL(bridgeUrl).port;
    for (const role of ["viewer", "admin"] as const) {
      const status = await host.call("GET", `/v1/mcp-server-instances/${id}/status`, { role });
      expect(status.status).toBe(200);
      expect(status.body.status).toBe("running");
      expect(status.body.endpoint).toBeNull();
      const one = await host.call("GET", `/v1/mcp-server-instances/${id}`, { role });
      const list = await host.call("GET", "/v1/mcp-server-instances", { role });
      for (const r of [status, one, list]) {
        expect(r.text).not.toContain(bridgeUrl);
        expect(r.text).not.toContain(`:${port}`);
      }
    }
  });

  it("the control plane does not show it either", async () => {
    const client = await connect(`${host.url}/control/mcp`, "admin");
    for (const [name, args] of [
      ["instance_status", { id }],
      ["get_instance", { id }],
      ["list_instances", {}],
    ] as const) {
      const r = await client.callTool({ name, arguments: args });
      const text = JSON.stringify(r.content);
      expect(text, name).toContain(id);
      expect(text, name).not.toContain(bridgeUrl);
    }
    await client.close();
  });
});
