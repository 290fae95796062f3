import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServedBridge } from "../src/index.js";
import { serveStdioBridge } from "../src/index.js";
import { spawnEverything } from "./everything.js";

async function until(fn: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The token of the bridge under test: every request carries it (see the side-door tests below). */
let token: Record<string, string> = {};
async function serve(...args: Parameters<typeof serveStdioBridge>): Promise<ServedBridge> {
  const s = await serveStdioBridge(...args);
  token = s.headers;
  return s;
}
const fetch = (input: string | URL, init: RequestInit = {}) =>
  globalThis.fetch(input, { ...init, headers: { ...token, ...((init.headers as Record<string, string>) ?? {}) } });

async function connect(url: string, capabilities = {}) {
  const client = new Client({ name: "t", version: "1" }, { capabilities });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: token } });
  await client.connect(transport);
  return { client, transport };
}

describe("stdio bridge over server-everything", () => {
  let child: ReturnType<typeof spawnEverything>;
  let served: ServedBridge;
  beforeAll(async () => {
    child = spawnEverything();
    served = await serve(child, { clientCapabilities: { sampling: {} } });
  });
  afterAll(async () => {
    await served.close();
    child.kill("SIGKILL");
  });

  it("serves many concurrent sessions over one process with remapped ids", async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => connect(served.url)));
    const ids = new Set(clients.map((c) => c.transport.sessionId));
    expect(ids.size).toBe(8);
    // every client uses the same JSON-RPC ids (1, 2, ...): the bridge must keep them apart
    const results = await Promise.all(
      clients.flatMap(({ client }, i) =>
        Array.from({ length: 5 }, (_, j) => client.callTool({ name: "echo", arguments: { message: `c${i}-${j}` } })),
      ),
    );
    const texts = results.map((r) => (r.content as { text: string }[])[0]!.text);
    expect(texts).toEqual(clients.flatMap((_, i) => Array.from({ length: 5 }, (_, j) => `Echo: c${i}-${j}`)));
    const tools = await clients[0]!.client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain("echo");
    for (const { client } of clients) await client.close();
    expect(served.bridge.sessionCount).toBeGreaterThanOrEqual(0);
  });

  it("routes progress notifications to the caller with its own token", async () => {
    const a = await connect(served.url);
    const seen: number[] = [];
    const result = await a.client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
      undefined,
      {
        onprogress: (p) => seen.push(p.progress),
      },
    );
    expect((result.content as { text: string }[])[0]!.text).toMatch(/completed/i);
    expect(seen.length).toBe(3);
    await a.client.close();
  });

  it("routes a server-to-client request (sampling) to the session that caused it", async () => {
    const a = await connect(served.url, { sampling: {} });
    a.client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      model: "fake",
      role: "assistant",
      content: { type: "text", text: "sampled!" },
    }));
    const result = await a.client.callTool({
      name: "trigger-sampling-request",
      arguments: { prompt: "hi", maxTokens: 5 },
    });
    expect(JSON.stringify(result.content)).toContain("sampled!");
    await a.client.close();
  });

  it("fans out unsolicited notifications to every session's GET stream", async () => {
    const a = await connect(served.url);
    // session b is a raw client so the test owns its GET stream
    const init = await fetch(served.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
      }),
    });
    const sessionB = init.headers.get("mcp-session-id")!;
    expect(((await init.json()) as { result: { serverInfo: { name: string } } }).result.serverInfo.name).toBeTruthy();
    const ctrl = new AbortController();
    const res = await fetch(served.url, {
      headers: { accept: "text/event-stream", "mcp-session-id": sessionB },
      signal: ctrl.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const toggled = await a.client.callTool({ name: "toggle-simulated-logging", arguments: {} });
    expect(JSON.stringify(toggled)).toContain("Started simulated");
    let seen = "";
    while (!seen.includes("notifications/message")) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`GET stream ended without a notification: ${seen}`);
      seen += new TextDecoder().decode(chunk.value);
    }
    await a.client.callTool({ name: "toggle-simulated-logging", arguments: {} });
    ctrl.abort();
    await a.client.close();
    await fetch(served.url, { method: "DELETE", headers: { "mcp-session-id": sessionB } });
  });

  it("refuses a server-to-client request it cannot attribute with a clear JSON-RPC error", async () => {
    const a = await connect(served.url, { sampling: {} });
    const b = await connect(served.url, { sampling: {} });
    for (const c of [a, b]) {
      c.client.setRequestHandler(CreateMessageRequestSchema, async () => ({
        model: "fake",
        role: "assistant",
        content: { type: "text", text: "should not be asked" },
      }));
    }
    const busy = a.client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 1, steps: 2 } });
    await until(() => served.bridge.pendingCount === 1, "a's call in flight");
    const sampled = await b.client
      .callTool({ name: "trigger-sampling-request", arguments: { prompt: "hi", maxTokens: 5 } })
      .then((r) => JSON.stringify(r))
      .catch((e: Error) => e.message);
    await busy;
    expect(sampled).toContain("mcpfleet bridge cannot route");
    expect(sampled).toContain("2 client sessions have requests in flight");
    await a.client.close();
    await b.client.close();
  });

  it("forwards a client's cancellation with the remapped id", async () => {
    const a = await connect(served.url);
    const ctrl = new AbortController();
    const call = a.client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 3, steps: 3 } },
      undefined,
      {
        signal: ctrl.signal,
      },
    );
    await until(() => served.bridge.pendingCount === 1, "the call in flight");
    ctrl.abort();
    await expect(call).rejects.toThrow();
    // the SDK posts notifications/cancelled; the bridge drops the call and forwards the remapped id
    await until(() => served.bridge.pendingCount === 0, "the cancellation");
    expect(JSON.stringify(await a.client.callTool({ name: "echo", arguments: { message: "next" } }))).toContain(
      "Echo: next",
    );
    await a.client.close();
  });

  it("ends a session on DELETE (answering its in-flight calls) and refuses unknown sessions with 404", async () => {
    const a = await connect(served.url);
    const sid = a.transport.sessionId!;
    const inFlight = a.client
      .callTool({ name: "trigger-long-running-operation", arguments: { duration: 5, steps: 5 } })
      .then(
        () => "resolved",
        (e: Error) => e.message,
      );
    await until(() => served.bridge.pendingCount === 1, "the call in flight");
    await a.transport.terminateSession();
    expect(await inFlight).toMatch(/client session ended/);
    expect(served.bridge.pendingCount).toBe(0);
    const res = await fetch(served.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": sid,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(res.status).toBe(404);
    const noSession = await fetch(served.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(noSession.status).toBe(400);
    const bad = await fetch(served.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });
});

describe("stdio bridge when the server dies", () => {
  it("answers in-flight calls with a JSON-RPC error and reports the exit", async () => {
    const child = spawnEverything();
    const served = await serve(child);
    const exited = new Promise((resolve) => served.bridge.onExit(resolve));
    const { client } = await connect(served.url);
    const call = client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 5, steps: 5 } });
    await until(() => served.bridge.pendingCount === 1, "the call in flight");
    child.kill("SIGKILL");
    await expect(call).rejects.toThrow(/MCP server killed by SIGKILL/);
    expect(await exited).toMatchObject({ signal: "SIGKILL" });
    const res = await fetch(served.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }),
    });
    expect(res.status).toBe(503);
    await served.close();
  });

  it("closed by its owner before it saw the exit, tells in-flight calls why the server went away", async () => {
    const child = spawnEverything();
    const served = await serve(child);
    const { client } = await connect(served.url);
    const call = client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 5, steps: 5 } });
    await until(() => served.bridge.pendingCount === 1, "the call in flight");
    // the owner (a runtime removing a crashed instance) closes first: the process has not even died yet
    await served.close("killed by SIGKILL");
    await expect(call).rejects.toThrow(/MCP server killed by SIGKILL before answering/);
    child.kill("SIGKILL");
  });

  it("closed with no reason answers in-flight calls with 'bridge closed'", async () => {
    const child = spawnEverything();
    const served = await serve(child);
    const { client } = await connect(served.url);
    const call = client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 5, steps: 5 } });
    await until(() => served.bridge.pendingCount === 1, "the call in flight");
    await served.close();
    await expect(call).rejects.toThrow(/bridge closed/);
    child.kill("SIGKILL");
  });
});
