import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Fleet } from "@mcpfleet/core";
import { createFleet, FleetError } from "@mcpfleet/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayHandler } from "../src/index.js";
import { createGateway, createStdioBridge, mcpProbe } from "../src/index.js";

/** A stateful SDK server whose tool list can grow at runtime (it then sends `notifications/tools/list_changed`). */
async function growingServer() {
  const servers = new Set<McpServer>();
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const extra: string[] = [];
  const register = (s: McpServer, name: string) =>
    s.registerTool(name, { description: name }, async () => ({ content: [{ type: "text", text: name }] }));
  const http = createServer(async (req, res) => {
    const sid = req.headers["mcp-session-id"] as string | undefined;
    let transport = sid ? transports.get(sid) : undefined;
    if (!transport) {
      const mcp = new McpServer({ name: "growing", version: "1" });
      register(mcp, "first");
      for (const n of extra) register(mcp, n);
      servers.add(mcp);
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => void transports.set(id, transport!),
      });
      await mcp.connect(transport);
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    addTool(name: string) {
      extra.push(name);
      for (const s of servers) register(s, name); // McpServer notifies connected clients
    },
    close: () =>
      new Promise<void>((r) => {
        http.closeAllConnections();
        http.close(() => r());
      }),
  };
}

describe("aggregated endpoint refresh", () => {
  let fleet: Fleet;
  let gateway: GatewayHandler;
  let server: Server;
  let upstream: Awaited<ReturnType<typeof growingServer>>;
  let base: string;

  beforeAll(async () => {
    upstream = await growingServer();
    fleet = createFleet({ probes: [mcpProbe()], endpointPolicy: { allow: ["loopback"] } });
    await fleet.start();
    await fleet.instances.create({ name: "grow", json_spec: { type: "url", endpoint: upstream.url } });
    await fleet.instances.waitFor("grow", "running", { timeoutMs: 15_000 });
    gateway = createGateway(fleet);
    server = createServer(gateway);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await gateway?.close();
    await fleet?.close();
    await upstream?.close();
  });

  it("picks up tools an instance adds (notifications/tools/list_changed)", async () => {
    const client = new Client({ name: "t", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["grow__first"]);
    upstream.addTool("second");
    let names: string[] = [];
    for (let i = 0; i < 100 && !names.includes("grow__second"); i++) {
      await new Promise((r) => setTimeout(r, 30));
      names = (await client.listTools()).tools.map((t) => t.name);
    }
    expect(names.sort()).toEqual(["grow__first", "grow__second"]);
    expect(JSON.stringify(await client.callTool({ name: "grow__second", arguments: {} }))).toContain("second");
    await client.close();
  });

  it("validates bridge options with OPTIONS_INVALID", () => {
    const err = (() => {
      try {
        createStdioBridge({ stdin: process.stdout, stdout: process.stdin }, { maxSessions: 0 });
      } catch (e) {
        return e;
      }
    })();
    expect(FleetError.isInstance(err) && err.code).toBe("OPTIONS_INVALID");
    expect((err as Error).message).toMatch(/^\[mcpfleet\/mcp bridge\] option "maxSessions"/);
  });
});
