import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createFleet, type Fleet } from "@mcpfleet/core";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type GatewayHandler, mcpProbe } from "../src/index.js";
import { startEverythingHttp } from "./everything.js";
import { recordingProxy } from "./recording-proxy.js";

// The relay fast path of tools/call on /mcp (2025-era sessions to a streamable HTTP instance), against
// real server-everything behind a recording proxy, next to a gateway with the relay off (the SDK pair).
const text = (r: unknown) => (r as { content: { text: string }[] }).content.map((c) => c.text).join("\n");
const until = async (ok: () => boolean, what: string) => {
  for (let i = 0; i < 800 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
};

let everything: Awaited<ReturnType<typeof startEverythingHttp>>;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let fleet: Fleet;
const hosts: Array<{ gateway: GatewayHandler; server: Server; url: URL }> = [];

async function host(aggregateRelay: boolean) {
  const gateway = createGateway(fleet, { aggregateRelay });
  const server = createServer(gateway);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const h = { gateway, server, url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`) };
  hosts.push(h);
  return h;
}

beforeAll(async () => {
  everything = await startEverythingHttp("streamableHttp");
  proxy = await recordingProxy(everything.port);
  fleet = createFleet({ probes: [mcpProbe()], health: { defaultIntervalMs: 60_000 }, allowUnsafeEndpoints: true });
  await fleet.start();
  await fleet.instances.create({
    name: "ev",
    json_spec: { type: "url", endpoint: `http://127.0.0.1:${proxy.port}/mcp` },
  });
  await fleet.instances.waitFor("ev", "running", { timeoutMs: 20_000 });
  await host(true);
  await host(false);
}, 40_000);

afterAll(async () => {
  for (const h of hosts) {
    h.server.closeAllConnections();
    await new Promise((r) => h.server.close(r));
    await h.gateway.close();
  }
  await fleet?.close();
  await proxy?.close();
  everything?.stop();
});

async function session(url: URL, capabilities: Record<string, unknown> = {}) {
  const c = new Client({ name: "relay-test", version: "1" }, { capabilities });
  const transport = new StreamableHTTPClientTransport(url);
  await c.connect(transport);
  return { c, transport };
}

const relayed = () => proxy.bodies.filter((b) => b.includes('"id":"mcpfleet-'));

describe("aggregated endpoint: the tools/call relay", () => {
  it("relays a call with its own id and answers exactly as the SDK path does", async () => {
    const [relay, sdk] = [await session(hosts[0]!.url), await session(hosts[1]!.url)];
    const calls = [
      { name: "ev__echo", arguments: { message: "hello relay" } },
      { name: "ev__get-sum", arguments: { a: 2, b: 40 } },
      { name: "ev__get-structured-content", arguments: { location: "New York" } },
      { name: "ev__get-tiny-image", arguments: {} },
    ];
    for (const call of calls) {
      const before = relayed().length;
      const viaRelay = await relay.c.callTool(call);
      expect(relayed().length).toBe(before + 1);
      expect(relayed().at(-1)).toContain(`"name":"${call.name.slice(4)}"`);
      const viaSdk = await sdk.c.callTool(call);
      expect(relayed().length).toBe(before + 1); // the SDK pair uses its own numeric ids
      expect(viaRelay).toEqual(viaSdk);
    }
    await relay.c.close();
    await sdk.c.close();
  });

  it("an unknown tool and a malformed call are left to the SDK path (same answers as without the relay)", async () => {
    const [relay, sdk] = [await session(hosts[0]!.url), await session(hosts[1]!.url)];
    const before = relayed().length;
    const unknown = { name: "ev__no-such-tool", arguments: {} };
    expect(await relay.c.callTool(unknown)).toEqual(await sdk.c.callTool(unknown));
    const bad = { name: "ev__echo", arguments: "not an object" } as never;
    const err = async (c: Client) => (await c.callTool(bad).catch((e: Error) => e)) as Error;
    expect(String(await err(relay.c))).toBe(String(await err(sdk.c)));
    expect(relayed().length).toBe(before);
    await relay.c.close();
    await sdk.c.close();
  });

  it("progress reaches the caller with its own token; the instance sees the relay's", async () => {
    const { c } = await session(hosts[0]!.url);
    const progress: number[] = [];
    const r = await c.callTool(
      { name: "ev__trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
      undefined,
      {
        onprogress: (p) => progress.push(p.progress),
      },
    );
    expect(text(r)).toContain("Long running operation completed");
    expect(progress).toEqual([1, 2, 3]);
    expect(relayed().at(-1)).toMatch(/"progressToken":"mcpfleet-\d+"/);
    await c.close();
  });

  it("a cancelled call is cancelled at the instance (notifications/cancelled with the relay's id)", async () => {
    const { c } = await session(hosts[0]!.url);
    const abort = new AbortController();
    const call = c.callTool(
      { name: "ev__trigger-long-running-operation", arguments: { duration: 20, steps: 20 } },
      undefined,
      { signal: abort.signal, onprogress: () => abort.abort("enough") },
    );
    await expect(call).rejects.toThrow();
    const id = /"id":"(mcpfleet-\d+)"/.exec(relayed().at(-1)!)![1];
    await until(
      () => proxy.bodies.some((b) => b.includes('"notifications/cancelled"') && b.includes(`"requestId":"${id}"`)),
      "the cancellation at the instance",
    );
    await c.close();
  });

  it("an elicitation goes to the calling session; another session cannot answer it", async () => {
    const a = await session(hosts[0]!.url, { elicitation: {} });
    const b = await session(hosts[0]!.url, { elicitation: {} });
    let askId: string | number | undefined;
    let forged: Response | undefined;
    a.c.setRequestHandler(ElicitRequestSchema, async (_req, extra) => {
      askId = extra.requestId;
      // session b posts an answer to a's request, with b's own session id
      forged = await fetch(hosts[0]!.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-session-id": b.transport.sessionId!,
          "mcp-protocol-version": "2025-11-25",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: askId,
          result: { action: "accept", content: { name: "Mallory", check: true } },
        }),
      });
      return { action: "accept", content: { name: "Ada Lovelace", check: true } };
    });
    const r = await a.c.callTool({ name: "ev__trigger-elicitation-request", arguments: {} });
    expect(String(askId)).toMatch(/^mcpfleet-ask-\d+$/);
    expect(forged).toBeDefined();
    expect(text(r)).toContain("Ada Lovelace");
    expect(text(r)).not.toContain("Mallory");
    await a.c.close();
    await b.c.close();
  });

  it("a reused keep-alive connection the instance closed is retried once on a fresh one (relay and proxy)", async () => {
    // in front of server-everything: a tools/call after the first request on a connection finds it closed
    const { request } = await import("node:http");
    let killed = 0;
    const seen = new WeakMap<object, number>();
    const killer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        const n = (seen.get(req.socket) ?? 0) + 1;
        seen.set(req.socket, n);
        if (n > 1 && body.includes('"method":"tools/call"')) {
          killed++;
          req.socket.destroy();
          return;
        }
        const up = request(
          { host: "127.0.0.1", port: everything.port, path: req.url, method: req.method, headers: req.headers },
          (ures) => {
            res.writeHead(ures.statusCode ?? 502, ures.headers);
            ures.pipe(res);
          },
        );
        up.on("error", () => res.destroy());
        up.end(body);
      });
    });
    await new Promise<void>((r) => killer.listen(0, "127.0.0.1", r));
    const port = (killer.address() as AddressInfo).port;
    await fleet.instances.create({ name: "ka", json_spec: { type: "url", endpoint: `http://127.0.0.1:${port}/mcp` } });
    try {
      await fleet.instances.waitFor("ka", "running", { timeoutMs: 20_000 });
      const { c } = await session(hosts[0]!.url);
      for (let i = 0; i < 3; i++) {
        expect(text(await c.callTool({ name: "ka__echo", arguments: { message: `again ${i}` } }))).toBe(
          `Echo: again ${i}`,
        );
      }
      expect(killed).toBeGreaterThan(0);
      await c.close();
      // the per-instance route's proxy retries the same way
      const before = killed;
      const direct = await session(new URL(`${hosts[0]!.url.href}/ka`));
      for (let i = 0; i < 3; i++) {
        expect(text(await direct.c.callTool({ name: "echo", arguments: { message: `direct ${i}` } }))).toBe(
          `Echo: direct ${i}`,
        );
      }
      expect(killed).toBeGreaterThan(before);
      await direct.c.close();
    } finally {
      await fleet.instances.delete((await fleet.instances.get("ka")).id);
      killer.closeAllConnections();
      await new Promise((r) => killer.close(r));
    }
  });

  it("an instance that fails mid-way is a JSON-RPC error naming it, never a hang", async () => {
    const { c } = await session(hosts[0]!.url);
    const call = c.callTool(
      { name: "ev__trigger-long-running-operation", arguments: { duration: 20, steps: 20 } },
      undefined,
      {
        onprogress: () => proxy.dropConnections(),
      },
    );
    await expect(call).rejects.toThrow(/instance "ev" failed/);
    await c.close();
  });

  describe("2026-07-28 requests (no session)", () => {
    const modern = async (url: URL, capabilities: Record<string, unknown> = {}) => {
      const c = new ModernClient(
        { name: "relay-test", version: "1" },
        { capabilities, versionNegotiation: { mode: "auto" } },
      );
      await c.connect(new ModernTransport(url));
      return c;
    };
    /** The raw answer of one 2026-07-28 tools/call POST (what a client receives before its SDK decodes it). */
    const raw = async (url: URL, name: string, args: Record<string, unknown>, headerName = name) => {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2026-07-28",
          "mcp-method": "tools/call",
          "mcp-name": headerName,
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 7,
          method: "tools/call",
          params: {
            name,
            arguments: args,
            _meta: {
              "io.modelcontextprotocol/protocolVersion": "2026-07-28",
              "io.modelcontextprotocol/clientCapabilities": {},
            },
          },
        }),
      });
      const text = await res.text();
      const data = text.startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? text);
      return { status: res.status, body: JSON.parse(data) };
    };

    it("relays the call; the wire answer is what the SDK path encodes (resultType, serverInfo)", async () => {
      for (const [name, args] of [
        ["ev__echo", { message: "modern relay" }],
        ["ev__get-structured-content", { location: "New York" }],
      ] as const) {
        const before = relayed().length;
        const viaRelay = await raw(hosts[0]!.url, name, args);
        expect(relayed().length).toBe(before + 1);
        const viaSdk = await raw(hosts[1]!.url, name, args);
        expect(relayed().length).toBe(before + 1);
        expect(viaRelay).toEqual(viaSdk);
        expect(viaRelay.body.result.resultType).toBe("complete");
      }
      // an Mcp-Name that is not the tool's: refused as the SDK path refuses it, nothing relayed
      const before = relayed().length;
      const mismatch = await raw(hosts[0]!.url, "ev__echo", { message: "x" }, "ev__get-sum");
      expect(mismatch).toEqual(await raw(hosts[1]!.url, "ev__echo", { message: "x" }, "ev__get-sum"));
      expect(mismatch.status).toBe(400);
      expect(mismatch.body.error.code).toBe(-32020);
      expect(relayed().length).toBe(before);
      const c = await modern(hosts[0]!.url);
      expect(text(await c.callTool({ name: "ev__echo", arguments: { message: "sdk client" } }))).toBe(
        "Echo: sdk client",
      );
      await c.close();
    });

    it("progress reaches a 2026-07-28 caller; an elicitation becomes an input_required round of a held call", async () => {
      const c = await modern(hosts[0]!.url, { elicitation: { form: {} } });
      const progress: number[] = [];
      await c.callTool(
        { name: "ev__trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
        {
          onprogress: (p) => progress.push(p.progress),
        },
      );
      expect(progress).toEqual([1, 2, 3]);
      let asked = 0;
      c.setRequestHandler("elicitation/create", async () => {
        asked++;
        return { action: "accept", content: { name: "Grace Hopper", check: true } };
      });
      const before = relayed().length;
      const r = await c.callTool({ name: "ev__trigger-elicitation-request", arguments: {} });
      expect(relayed().length).toBe(before + 1);
      expect(asked).toBe(1);
      expect(text(r)).toContain("Grace Hopper");
      await c.close();
    });

    it("a 2026-07-28 caller going away cancels the call at the instance", async () => {
      const abort = new AbortController();
      const call = fetch(hosts[0]!.url, {
        method: "POST",
        signal: abort.signal,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2026-07-28",
          "mcp-method": "tools/call",
          "mcp-name": "ev__trigger-long-running-operation",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 9,
          method: "tools/call",
          params: {
            name: "ev__trigger-long-running-operation",
            arguments: { duration: 20, steps: 20 },
            _meta: {
              "io.modelcontextprotocol/protocolVersion": "2026-07-28",
              "io.modelcontextprotocol/clientCapabilities": {},
            },
          },
        }),
      }).catch((e: Error) => e);
      const before = relayed().length;
      await until(() => relayed().length > before, "the relayed call");
      const id = /"id":"(mcpfleet-\d+)"/.exec(relayed().at(-1)!)![1];
      abort.abort();
      await call;
      await until(
        () => proxy.bodies.some((b) => b.includes('"notifications/cancelled"') && b.includes(`"requestId":"${id}"`)),
        "the cancellation at the instance",
      );
    });
  });
});
