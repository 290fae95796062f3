import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Fleet } from "@mcpfleet/core";
import { createFleet, memoryRuntime } from "@mcpfleet/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlServerHandler } from "../src/index.js";

const CANARY = "canary-control-secret-88a1";

describe("control server driven by the SDK client", () => {
  let fleet: Fleet;
  let server: Server;
  let client: Client;
  const runtime = memoryRuntime({ types: ["process", "docker"] });

  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name, arguments: args });
    const text = (r.content as { text: string }[])[0]!.text;
    return { isError: r.isError === true, text, value: JSON.parse(text) };
  };

  beforeAll(async () => {
    fleet = createFleet({ runtimes: { process: runtime } });
    await fleet.start();
    const handler = controlServerHandler(fleet);
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    client = new Client({ name: "agent", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)),
    );
  });

  afterAll(async () => {
    await client?.close();
    server?.closeAllConnections();
    await new Promise((r) => server.close(r));
    await fleet?.close();
    await runtime.close();
  });

  it("lists the fleet's operations as tools with JSON input schemas", async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toEqual(
      [
        "create_instance",
        "delete_instance",
        "get_instance",
        "instance_logs",
        "instance_status",
        "list_instances",
        "list_servers",
        "register_server",
        "start_instance",
        "stop_instance",
      ].sort(),
    );
    const create = tools.find((t) => t.name === "create_instance")!;
    expect(create.inputSchema.required).toEqual(expect.arrayContaining(["name", "json_spec"]));
  });

  it("registers a server, creates, inspects, stops, starts and deletes an instance", async () => {
    const reg = await call("register_server", {
      name: "everything",
      docker_image_url: "localhost/everything:1",
      env_schema: [{ name: "API_KEY", type: "string", required: true, secret: true }],
    });
    expect(reg.isError).toBe(false);
    expect((await call("list_servers")).value.map((s: { name: string }) => s.name)).toContain("everything");

    const created = await call("create_instance", {
      name: "ev1",
      server_spec_id: reg.value.id,
      json_spec: { type: "process", command: ["node", "server.js"], environment: { API_KEY: "secret_ref:x:API_KEY" } },
      secrets: { API_KEY: CANARY },
    });
    expect(created.isError).toBe(false);
    expect(created.text).not.toContain(CANARY);
    await fleet.instances.waitFor("ev1", "running", { timeoutMs: 10_000 });

    const status = await call("instance_status", { id: "ev1" });
    expect(status.value).toMatchObject({ name: "ev1", status: "running", desired_state: "running" });
    expect((await call("get_instance", { id: created.value.id })).value.name).toBe("ev1");
    expect((await call("list_instances", { status: "running" })).value.map((i: { name: string }) => i.name)).toContain(
      "ev1",
    );
    const logs = await call("instance_logs", { id: "ev1", tail: 5 });
    expect(logs.value[0].line).toMatch(/^started ev1/);

    await call("stop_instance", { id: "ev1" });
    await fleet.instances.waitFor("ev1", "stopped", { timeoutMs: 10_000 });
    await call("start_instance", { id: "ev1" });
    await fleet.instances.waitFor("ev1", "running", { timeoutMs: 10_000 });
    expect((await call("delete_instance", { id: "ev1" })).isError).toBe(false);
    await fleet.instances.waitFor(created.value.id, "deleted", { timeoutMs: 10_000 }).catch(() => undefined);
    expect(runtime.ids()).not.toContain(created.value.id);
  });

  it("returns fleet errors as tool errors with their code, and refuses bad input", async () => {
    const missing = await call("get_instance", { id: "nope" });
    expect(missing.isError).toBe(true);
    expect(missing.value.error.code).toBe("NOT_FOUND");
    const bad = await call("create_instance", { name: "bad", json_spec: { type: "process", command: [] } });
    expect(bad.isError).toBe(true);
    const invalid = await client.callTool({ name: "get_instance", arguments: {} });
    expect(invalid.isError).toBe(true);
  });
});
