import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createFleet, type Fleet, type ObservedInstance, type RuntimeBackend } from "@mcpfleet/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type GatewayHandler, setPrincipal } from "../src/index.js";
import { startEverythingHttp } from "./everything.js";
import { listenMcp } from "./tool-server.js";

/** A real sessionful MCP server (SDK) whose `whoami` tool answers with the copy it is. */
async function copyServer(copy: number) {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    const sid = req.headers["mcp-session-id"];
    let transport = typeof sid === "string" ? transports.get(sid) : undefined;
    if (!transport) {
      if (typeof sid === "string") {
        res
          .writeHead(404, { "content-type": "application/json" })
          .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
        return;
      }
      const t = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        enableJsonResponse: true,
        onsessioninitialized: (id) => void transports.set(id, t),
      });
      const mcp = new McpServer({ name: `copy-${copy}`, version: "1" });
      mcp.registerTool("whoami", { description: "which copy" }, async () => ({
        content: [{ type: "text", text: String(copy) }],
      }));
      await mcp.connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res);
  });
  return listenMcp(http);
}

/** An adopter's runtime that "runs" an instance as the copies it is given (what Podman reports). */
function copiesRuntime(urls: (transport: string) => string[]): RuntimeBackend {
  const deployed = new Map<string, ObservedInstance>();
  const transports = new Map<string, string>();
  const observe = (id: string, specHash: string): ObservedInstance => {
    const list = urls(transports.get(id) ?? "streamable-http");
    return {
      instanceId: id,
      specHash,
      phase: "running",
      ...(list[0] ? { endpoint: list[0] } : {}),
      replicas: { desired: list.length, ready: list.length },
      replicaEndpoints: list.map((endpoint, replica) => ({ replica, endpoint, ready: true })),
    };
  };
  return {
    specificationVersion: "v1",
    name: "copies",
    capabilities: { replicas: true },
    async deploy(req) {
      transports.set(req.instance.id, (req.spec as { transport?: string }).transport ?? "streamable-http");
      deployed.set(req.instance.id, observe(req.instance.id, req.instance.specHash));
      return observe(req.instance.id, req.instance.specHash);
    },
    async remove(id) {
      deployed.delete(id);
    },
    async inspect(id) {
      const d = deployed.get(id);
      return d ? observe(id, d.specHash) : undefined;
    },
    async list() {
      return [...deployed.values()].map((d) => observe(d.instanceId, d.specHash));
    },
    async *logs() {},
    async close() {},
    async [Symbol.asyncDispose]() {},
  };
}

describe("gateway over an instance's copies", () => {
  let copies: Awaited<ReturnType<typeof copyServer>>[] = [];
  let live: string[] = [];
  let sse: ReturnType<typeof startEverythingHttp> extends Promise<infer T> ? T[] : never = [];
  let fleet: Fleet;
  let gateway: GatewayHandler;
  let server: Server;
  let base = "";

  beforeAll(async () => {
    copies = [await copyServer(0), await copyServer(1)];
    live = copies.map((c) => c.url);
    sse = await Promise.all([startEverythingHttp("sse"), startEverythingHttp("sse")]);
    fleet = createFleet({
      runtimes: { docker: copiesRuntime((t) => (t === "sse" ? sse.map((s) => s.url) : live)) },
    });
    await fleet.start();
    await fleet.instances.create({
      name: "two-sse",
      json_spec: { type: "docker", image: "img:1", port: 1, transport: "sse", replicas: 2 },
    });
    await fleet.instances.waitFor("two-sse", "running", { timeoutMs: 10_000 });
    await fleet.instances.create({ name: "two", json_spec: { type: "docker", image: "img:1", port: 1, replicas: 2 } });
    await fleet.instances.waitFor("two", "running", { timeoutMs: 10_000 });
    gateway = createGateway(fleet, { connectionTtlMs: 0 });
    server = createServer((req, res) => {
      const who = req.headers["x-principal"];
      if (typeof who === "string") setPrincipal(req as IncomingMessage, { id: who, role: "operator" });
      gateway(req, res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp/two`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await gateway?.close();
    await fleet?.close();
    for (const c of copies) await c.close();
    for (const s of sse) s.stop();
  });

  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(base, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-06-18",
        ...headers,
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, session: res.headers.get("mcp-session-id"), json: (await res.json()) as any };
  };
  const initialize = async (principal = "alice") => {
    const r = await post(
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      },
      { "x-principal": principal },
    );
    expect(r.status).toBe(200);
    return r;
  };
  const whoami = (session: string, principal = "alice") =>
    post(
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "whoami", arguments: {} } },
      { "mcp-session-id": session, "x-principal": principal },
    );

  it("new sessions go to the copies in turn; each session's calls stay on its copy", async () => {
    const a = await initialize();
    const b = await initialize();
    expect(a.session).toMatch(/^mcpfleet-r[01]\./);
    expect([a.json.result.serverInfo.name, b.json.result.serverInfo.name].sort()).toEqual(["copy-0", "copy-1"]);
    for (const s of [a, b]) {
      const copy = s.json.result.serverInfo.name.slice(5);
      expect(s.session?.startsWith(`mcpfleet-r${copy}.`)).toBe(true);
      for (let i = 0; i < 3; i++) expect((await whoami(s.session as string)).json.result.content[0].text).toBe(copy);
    }
  });

  it("a session id is another principal's however it is spelled (with or without the copy prefix)", async () => {
    let onZero = await initialize("alice");
    if (!onZero.session?.startsWith("mcpfleet-r0.")) onZero = await initialize("alice");
    const raw = (onZero.session as string).slice("mcpfleet-r0.".length);
    expect((await whoami(raw, "mallory")).status).toBe(404);
    expect((await whoami(onZero.session as string, "mallory")).status).toBe(404);
    // the owner spelling it without the prefix reaches copy 0 (sessions from before scaling up)
    expect((await whoami(raw, "alice")).json.result.content[0].text).toBe("0");
  });

  it("a session whose copy is gone gets 404 (the client opens a new one); copy 0's goes on", async () => {
    const sessions = [await initialize(), await initialize()];
    live = live.slice(0, 1);
    try {
      for (const s of sessions) {
        const r = await whoami(s.session as string);
        if (s.session?.startsWith("mcpfleet-r1.")) expect(r.status).toBe(404);
        else expect(r.json.result.content[0].text).toBe("0");
      }
      // one copy left: sessions are handed out as the server minted them
      const fresh = await initialize();
      expect(fresh.session).not.toMatch(/^mcpfleet-r/);
    } finally {
      live = copies.map((c) => c.url);
    }
  });

  it("legacy SSE: each stream goes to a copy in turn and its message posts (`~<copy>`) follow it", async () => {
    const url = new URL(base.replace(/\/two$/, "/two-sse"));
    const portOf = async (client: Client) => {
      const res = (await client.callTool({ name: "get-env", arguments: {} })) as { content: { text: string }[] };
      return (JSON.parse(res.content[0]?.text ?? "{}") as Record<string, string>).PORT;
    };
    const clients = [new Client({ name: "a", version: "1" }), new Client({ name: "b", version: "1" })];
    try {
      for (const c of clients) await c.connect(new SSEClientTransport(url));
      const ports = await Promise.all(clients.map(portOf));
      expect(new Set(ports)).toEqual(new Set(sse.map((s) => String(s.port))));
      for (const [i, c] of clients.entries()) expect(await portOf(c)).toBe(ports[i]);
    } finally {
      for (const c of clients) await c.close().catch(() => {});
    }
  });
});
