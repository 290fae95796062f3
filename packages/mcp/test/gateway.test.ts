import { execFile } from "node:child_process";
import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import type { Fleet } from "@mcpfleet/core";
import { createFleet, recordingLogger } from "@mcpfleet/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayHandler } from "../src/index.js";
import { createGateway, mcpProbe } from "../src/index.js";
import { startEverythingHttp } from "./everything.js";
import { recordingProxy } from "./recording-proxy.js";
import { toolServer } from "./tool-server.js";

const run = promisify(execFile);
const INSPECTOR = new URL("../node_modules/.bin/mcp-inspector", import.meta.url).pathname;
const TOKEN = "canary-bearer-31f9e2";
const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

describe("gateway over a real fleet of url instances", () => {
  const log = recordingLogger();
  let fleet: Fleet;
  let gateway: GatewayHandler;
  let server: Server;
  let base: string;
  let everything: Awaited<ReturnType<typeof startEverythingHttp>>;
  let sse: Awaited<ReturnType<typeof startEverythingHttp>>;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let toolsA: Awaited<ReturnType<typeof toolServer>>;
  let toolsB: Awaited<ReturnType<typeof toolServer>>;

  beforeAll(async () => {
    [everything, sse, toolsA, toolsB] = await Promise.all([
      startEverythingHttp("streamableHttp"),
      startEverythingHttp("sse"),
      toolServer(["dup", "only_a", "dup"]),
      toolServer(["dup", "only_b"]),
    ]);
    proxy = await recordingProxy(everything.port);
    fleet = createFleet({
      logger: log,
      probes: [mcpProbe()],
      health: { defaultIntervalMs: 1000 },
      // the upstreams listen on loopback: allowed explicitly (refused by default)
      endpointPolicy: { allow: ["loopback"] },
    });
    await fleet.start();
    await fleet.instances.create({
      name: "ev",
      json_spec: {
        type: "url",
        endpoint: `http://127.0.0.1:${proxy.port}/mcp`,
        authentication: { type: "bearer", token: "secret_ref:x:AUTH_TOKEN" },
      },
      secrets: { AUTH_TOKEN: TOKEN },
    });
    await fleet.instances.create({ name: "old", json_spec: { type: "url", endpoint: sse.url, transport: "sse" } });
    await fleet.instances.create({ name: "a", json_spec: { type: "url", endpoint: toolsA.url } });
    await fleet.instances.create({ name: "b", json_spec: { type: "url", endpoint: toolsB.url } });
    for (const n of ["ev", "old", "a", "b"]) await fleet.instances.waitFor(n, "running", { timeoutMs: 15_000 });
    gateway = createGateway(fleet, { auth: (req) => req.headers.authorization !== "Bearer refused" });
    server = createServer(gateway);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 30_000);

  afterAll(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await gateway?.close();
    await fleet?.close();
    await proxy?.close();
    await toolsA?.close();
    await toolsB?.close();
    everything?.stop();
    sse?.stop();
  });

  it("adds the instance's resolved bearer token upstream and never forwards the client's credentials", async () => {
    const client = new Client({ name: "t", version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/ev`), {
      requestInit: { headers: { authorization: "Bearer client-own" } },
    });
    await client.connect(transport);
    expect(text(await client.callTool({ name: "echo", arguments: { message: "hi" } }))).toBe("Echo: hi");
    const viaGateway = proxy.seen.filter(
      (h) => h["user-agent"] !== undefined && h["mcp-session-id"] === transport.sessionId,
    );
    expect(viaGateway.length).toBeGreaterThan(0);
    for (const h of viaGateway) expect(h.authorization).toBe(`Bearer ${TOKEN}`);
    await client.close();
    expect(JSON.stringify(log.lines)).not.toContain(TOKEN);
  });

  it("streams without buffering and aborts the upstream request when the client disconnects", async () => {
    const client = new Client({ name: "t", version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/ev`));
    await client.connect(transport);
    const before = proxy.stats.abortedByClient;
    const ctrl = new AbortController();
    const res = await fetch(`${base}/mcp/ev`, {
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
        id: 7,
        method: "tools/call",
        params: {
          name: "trigger-long-running-operation",
          arguments: { duration: 5, steps: 50 },
          _meta: { progressToken: 1 },
        },
      }),
    });
    const reader = res.body!.getReader();
    // the first progress event arrives long before the 5 s call ends: nothing is buffered
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("notifications/progress");
    ctrl.abort();
    await reader.cancel().catch(() => {});
    for (let i = 0; i < 100 && proxy.stats.abortedByClient === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(proxy.stats.abortedByClient).toBe(before + 1);
    await client.close();
  });

  it("proxies legacy SSE instances, rewriting the message endpoint through the gateway", async () => {
    const client = new Client({ name: "t", version: "1" });
    await client.connect(new SSEClientTransport(new URL(`${base}/mcp/old`)));
    expect(text(await client.callTool({ name: "echo", arguments: { message: "sse" } }))).toBe("Echo: sse");
    await client.close();
  });

  it("refuses colliding aggregated names and keeps the rest", async () => {
    const client = new Client({ name: "t", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    const names = (await client.listTools()).tools.map((t) => t.name);
    // "a" lists "dup" twice: refused; "b__dup" is unique and stays
    expect(names).not.toContain("a__dup");
    expect(names).toEqual(expect.arrayContaining(["a__only_a", "b__dup", "b__only_b", "ev__echo", "old__echo"]));
    expect(text(await client.callTool({ name: "b__dup", arguments: {} }))).toBe("called dup");
    const unknown = await client.callTool({ name: "a__dup", arguments: {} });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toContain('unknown tool "a__dup"');
    expect(log.lines.some((l) => l.level === "warn" && String(l.msg).includes("collision"))).toBe(true);
    await client.close();
  });

  it("drops an instance from the aggregate when it stops", async () => {
    const id = (await fleet.instances.get("a")).id;
    await fleet.instances.stop(id);
    await fleet.instances.waitFor(id, "stopped", { timeoutMs: 10_000 });
    const client = new Client({ name: "t", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain("a__only_a");
    expect(names).toContain("b__only_b");
    await client.close();
    const res = await fetch(`${base}/mcp/a`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(res.status).toBe(503);
    await fleet.instances.start(id);
  });

  it("applies the host's auth hook and hands other paths to next()", async () => {
    const refused = await fetch(`${base}/mcp/ev`, {
      method: "POST",
      headers: { authorization: "Bearer refused" },
      body: "{}",
    });
    expect(refused.status).toBe(401);
    let nextCalled = false;
    await new Promise<void>((resolve) => {
      gateway({ url: "/other", method: "GET", headers: {} } as never, {} as never, () => {
        nextCalled = true;
        resolve();
      });
    });
    expect(nextCalled).toBe(true);
    expect(() => createGateway(fleet, { basePath: "mcp" })).toThrow(/option "basePath"/);
  });

  it("works with the MCP Inspector CLI (tools/list, tools/call)", async () => {
    const list = await run(INSPECTOR, ["--cli", `${base}/mcp/ev`, "--transport", "http", "--method", "tools/list"], {
      timeout: 60_000,
    });
    expect(JSON.parse(list.stdout).tools.map((t: { name: string }) => t.name)).toContain("echo");
    const call = await run(
      INSPECTOR,
      [
        "--cli",
        `${base}/mcp/ev`,
        "--transport",
        "http",
        "--method",
        "tools/call",
        "--tool-name",
        "echo",
        "--tool-arg",
        "message=inspector",
      ],
      { timeout: 60_000 },
    );
    expect(JSON.parse(call.stdout).content[0].text).toBe("Echo: inspector");
  }, 120_000);
});
