import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Fleet } from "@mcpfleet/core";
import { createFleet } from "@mcpfleet/core";
import type { GatewayHandler } from "@mcpfleet/mcp";
import { createGateway, mcpProbe } from "@mcpfleet/mcp";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProcessRuntime } from "../src/index.js";
import { processRuntime } from "../src/index.js";
import { EVERYTHING, SANDBOX } from "./helpers.js";

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function connect(url: string) {
  const client = new Client({ name: "t", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport };
}

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

describe("fleet + process runtime + gateway with server-everything", () => {
  let fleet: Fleet;
  let runtime: ProcessRuntime;
  let gateway: GatewayHandler;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    runtime = processRuntime({ ...SANDBOX, killGraceMs: 1000 });
    fleet = createFleet({
      runtimes: { process: runtime },
      probes: [mcpProbe()],
      reconciler: { backoffBaseMs: 50, backoffMaxMs: 200, resyncIntervalMs: 1000 },
      health: { defaultIntervalMs: 1000, defaultTimeoutMs: 2000 },
    });
    await fleet.start();
    gateway = createGateway(fleet);
    server = createServer(gateway);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const port = await freePort();
    await fleet.instances.create({
      name: "alpha",
      json_spec: { type: "process", command: [process.execPath, EVERYTHING, "stdio"], transport: "stdio" },
    });
    await fleet.instances.create({
      name: "beta",
      json_spec: {
        type: "process",
        command: [process.execPath, EVERYTHING, "streamableHttp"],
        transport: "streamable-http",
        port,
      },
    });
    await fleet.instances.waitFor("alpha", "running", { timeoutMs: 20_000 });
    await fleet.instances.waitFor("beta", "running", { timeoutMs: 20_000 });
  }, 40_000);

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await gateway?.close();
    await fleet?.close();
    await runtime?.close();
  });

  it("serves concurrent sessions over one stdio server through /mcp/<name>", async () => {
    const clients = await Promise.all(Array.from({ length: 6 }, () => connect(`${base}/mcp/alpha`)));
    expect(new Set(clients.map((c) => c.transport.sessionId)).size).toBe(6);
    const results = await Promise.all(
      clients.flatMap(({ client }, i) =>
        [0, 1, 2].map((j) => client.callTool({ name: "echo", arguments: { message: `${i}.${j}` } })),
      ),
    );
    expect(results.map(text)).toEqual(clients.flatMap((_, i) => [0, 1, 2].map((j) => `Echo: ${i}.${j}`)));
    for (const { client } of clients) await client.close();
  });

  it("routes by instance id as well as by name, and 404s unknown instances", async () => {
    const beta = await fleet.instances.get("beta");
    const { client } = await connect(`${base}/mcp/${beta.id}`);
    expect(text(await client.callTool({ name: "echo", arguments: { message: "by id" } }))).toBe("Echo: by id");
    await client.close();
    const res = await fetch(`${base}/mcp/nope`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(res.status).toBe(404);
  });

  it("aggregates the tools of both instances as <instance>__<tool> and routes calls", async () => {
    const { client } = await connect(`${base}/mcp`);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("alpha__echo");
    expect(names).toContain("beta__echo");
    expect(names).toContain("beta__get-sum");
    expect(text(await client.callTool({ name: "beta__echo", arguments: { message: "agg" } }))).toBe("Echo: agg");
    const sum = await client.callTool({ name: "alpha__get-sum", arguments: { a: 2, b: 3 } });
    expect(text(sum)).toContain("5");
    await client.close();
  });

  it("streams progress through the gateway and survives a client that disconnects mid-stream", async () => {
    const { client, transport } = await connect(`${base}/mcp/beta`);
    const ctrl = new AbortController();
    const res = await fetch(`${base}/mcp/beta`, {
      method: "POST",
      signal: ctrl.signal,
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": transport.sessionId!,
        "mcp-protocol-version": "2025-06-18",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 99,
        method: "tools/call",
        params: {
          name: "trigger-long-running-operation",
          arguments: { duration: 3, steps: 30 },
          _meta: { progressToken: "tok" },
        },
      }),
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("notifications/progress");
    ctrl.abort();
    await reader.cancel().catch(() => {});
    // the same session and the instance keep working
    expect(text(await client.callTool({ name: "echo", arguments: { message: "after" } }))).toBe("Echo: after");
    await client.close();
  });

  it("gives a clean error when the stdio server is killed mid-call, then the fleet restarts it", async () => {
    const alpha = await fleet.instances.get("alpha");
    const pid = runtime.pid(alpha.id)!;
    const { client } = await connect(`${base}/mcp/alpha`);
    let killed = false;
    // killed on the first progress notification: the call is certainly in flight
    const call = client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 5, steps: 10 } },
      undefined,
      {
        onprogress: () => {
          if (killed) return;
          killed = true;
          process.kill(pid, "SIGKILL");
        },
      },
    );
    await expect(call).rejects.toThrow(/MCP server killed by SIGKILL/);
    await client.close().catch(() => {});
    // the reconciler redeploys: a new process answers on the same gateway route
    await fleet.instances.waitFor("alpha", "running", { timeoutMs: 20_000 });
    let newPid: number | undefined;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      newPid = runtime.pid(alpha.id);
      const o = await runtime.inspect(alpha.id);
      if (newPid && newPid !== pid && o?.phase === "running") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(newPid).not.toBe(pid);
    await fleet.instances.waitFor("alpha", "running", { timeoutMs: 20_000 });
    const again = await connect(`${base}/mcp/alpha`);
    expect(text(await again.client.callTool({ name: "echo", arguments: { message: "back" } }))).toBe("Echo: back");
    await again.client.close();
    expect((await fleet.instances.get("alpha")).restart_count).toBeGreaterThanOrEqual(0);
  }, 40_000);
});
