import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, startTestHost, type TestHost, type TestRole } from "../helpers.js";

// Issue 14, finding 4: the control plane holds the REST roles; its audit names method, tool and real outcome.
let host: TestHost;
beforeAll(async () => {
  host = await startTestHost();
});
afterAll(async () => {
  await host?.close();
});

async function connect(role: TestRole) {
  const client = new Client({ name: "attacker", version: "1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${host.url}/control/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${KEYS[role]}` } },
    }),
  );
  return client;
}

const READ_ONLY = ["get_instance", "instance_logs", "instance_status", "list_instances", "list_servers"];
const OPERATOR = [...READ_ONLY, "create_instance", "delete_instance", "start_instance", "stop_instance"];

const last = (lines: any[], pred: (e: any) => boolean) => [...lines].reverse().find(pred);

async function audit(): Promise<any[]> {
  await new Promise((r) => setTimeout(r, 50)); // the audit stream is asynchronous
  return readFileSync(host.auditPath, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

describe("control plane roles", () => {
  it("tools/list shows each role only what its REST operations allow", async () => {
    const expected: Record<TestRole, string[]> = {
      viewer: READ_ONLY,
      operator: OPERATOR,
      admin: [...OPERATOR, "register_server"],
    };
    for (const role of ["viewer", "operator", "admin"] as const) {
      const client = await connect(role);
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      expect(names, role).toEqual([...expected[role]].sort());
      await client.close();
    }
  });

  it("an operator cannot register_server (REST answers 403 for the same action); nothing is registered", async () => {
    const rest = await host.call("POST", "/v1/mcp-servers", { role: "operator", body: { name: "evil" } });
    expect(rest.status).toBe(403);
    const client = await connect("operator");
    // a tool the role does not have is not there: -32602, as for any unknown tool
    await expect(client.callTool({ name: "register_server", arguments: { name: "evil" } })).rejects.toThrow(
      /-32602.*register_server/,
    );
    await client.close();
    expect((await host.fleet.servers.list()).map((s) => s.name)).not.toContain("evil");
    const line = last(await audit(), (e) => e.tool === "register_server");
    expect(line).toMatchObject({ actor: "op", rpc_method: "tools/call", result: "error", arg_keys: ["name"] });
  });

  it("a viewer cannot create, stop or delete through the control plane", async () => {
    const client = await connect("viewer");
    for (const name of ["create_instance", "stop_instance", "delete_instance"]) {
      await expect(
        client.callTool({ name, arguments: { id: "x", name: "v", json_spec: { type: "docker", image: "a/b:1" } } }),
        name,
      ).rejects.toThrow(/-32602/);
    }
    await client.close();
    expect(await host.fleet.instances.list()).toHaveLength(0);
  });

  it("an operator cannot create a process instance through the control plane", async () => {
    const client = await connect("operator");
    const r = await client.callTool({
      name: "create_instance",
      arguments: { name: "root-shell", json_spec: { type: "process", command: ["sh", "-c", "id"] } },
    });
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toContain("FORBIDDEN");
    await client.close();
    expect(await host.fleet.instances.list()).toHaveLength(0);
  });

  it("the audit records each call's method and tool, its real outcome, and argument keys only", async () => {
    const client = await connect("operator");
    const secretArg = "canary-audit-arg-0b9c";
    const ok = await client.callTool({ name: "list_instances", arguments: {} });
    expect(ok.isError).toBeFalsy();
    const bad = await client.callTool({
      name: "create_instance",
      arguments: { name: "bad name!", json_spec: { type: "docker", image: "a/b:1" }, secrets: { K: secretArg } },
    });
    expect(bad.isError).toBe(true);
    await client.close();
    // a JSON-RPC error (unknown method) is an error in the audit, not ok
    const raw = await host.call("POST", "/control/mcp", {
      role: "operator",
      headers: { accept: "application/json, text/event-stream" },
      body: { jsonrpc: "2.0", id: 7, method: "no/such/method" },
    });
    expect(raw.text).toMatch(/"error":\{"code":-32601/);
    const lines = await audit();
    const text = JSON.stringify(lines);
    expect(text).not.toContain(secretArg);
    expect(last(lines, (e) => e.tool === "list_instances")).toMatchObject({
      result: "ok",
      rpc_method: "tools/call",
    });
    expect(last(lines, (e) => e.tool === "create_instance")).toMatchObject({
      result: "tool_error",
      arg_keys: ["name", "json_spec", "secrets"],
    });
    expect(last(lines, (e) => e.rpc_method === "no/such/method")).toMatchObject({ result: "error" });
    expect(lines.some((e) => e.rpc_method === "initialize" && e.result === "ok")).toBe(true);
  });
});
