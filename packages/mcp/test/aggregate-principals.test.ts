import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type GatewayHandler, setPrincipal } from "../src/index.js";
import { startMixedFleet } from "./mixed-fleet.js";

// What the aggregated endpoint hands a principal is usable by that principal only: a 2025 session id
// and a 2026-07-28 requestState, against a real listening gateway whose host authenticates by API key.
let mixed: Awaited<ReturnType<typeof startMixedFleet>>;
let gateway: GatewayHandler;
let server: Server;
let url: URL;

beforeAll(async () => {
  mixed = await startMixedFleet("ev");
  gateway = createGateway(mixed.fleet, {
    auth: (req) => {
      const key = req.headers["x-api-key"];
      if (key !== "alice-key" && key !== "bob-key") return false;
      setPrincipal(req, { id: key === "alice-key" ? "alice" : "bob", role: "operator" });
      return true;
    },
  });
  server = createServer(gateway);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
}, 40_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await gateway?.close();
  await mixed?.close();
});

const as = (key: string) => ({ requestInit: { headers: { "x-api-key": key } } });
const post = (key: string, body: unknown, extra: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "x-api-key": key,
      ...extra,
    },
    body: JSON.stringify(body),
  });

describe("aggregated endpoint: per-principal state", () => {
  it("a 2025 session opened by one principal is not found for another", async () => {
    const alice = new LegacyClient({ name: "alice", version: "1" });
    const transport = new LegacyTransport(url, as("alice-key"));
    await alice.connect(transport);
    const list = { jsonrpc: "2.0", id: 7, method: "tools/list", params: {} };
    const sid = { "mcp-session-id": transport.sessionId!, "mcp-protocol-version": "2025-11-25" };
    expect((await post("bob-key", list, sid)).status).toBe(404);
    const mine = await post("alice-key", list, sid);
    expect(mine.status).toBe(200);
    expect(await mine.text()).toContain("ev__echo");
    await alice.close();
  });

  it("a requestState minted for one principal is refused for another", async () => {
    const client = async (key: string) => {
      const c = new ModernClient(
        { name: key, version: "1" },
        { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: "auto" } },
      );
      await c.connect(new ModernTransport(url, as(key)));
      return c;
    };
    const alice = await client("alice-key");
    const bob = await client("bob-key");
    const call = (c: ModernClient, extra: Record<string, unknown> = {}) =>
      c.request(
        { method: "tools/call", params: { name: "modern__confirm", arguments: { what: "x" }, ...extra } } as never,
        { allowInputRequired: true } as never,
      ) as Promise<{ resultType?: string; requestState?: string; content?: Array<{ text: string }> }>;
    const first = await call(alice);
    expect(first.resultType).toBe("input_required");
    const answer = {
      inputResponses: { ok: { action: "accept", content: { yes: true } } },
      requestState: first.requestState,
    };
    await expect(call(bob, answer)).rejects.toThrow(/requestState/i);
    expect((await call(alice, answer)).content?.[0]?.text).toBe("x: accept yes=true state=asked:x");
    await alice.close();
    await bob.close();
  });

  it("with one requestStateKey, a round started on one replica continues on another; not on a replica with another key", async () => {
    const key = "k".repeat(16) + "shared-replica-key";
    const replicas = [key, key, "o".repeat(40)].map((k) => createGateway(mixed.fleet, { requestStateKey: k }));
    const servers = replicas.map((g) => createServer(g));
    try {
      const urls: URL[] = [];
      for (const srv of servers) {
        await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
        urls.push(new URL(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/mcp`));
      }
      const connect = async (u: URL) => {
        const c = new ModernClient(
          { name: "r", version: "1" },
          { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: "auto" } },
        );
        await c.connect(new ModernTransport(u));
        return c;
      };
      const [a, b, other] = [await connect(urls[0]!), await connect(urls[1]!), await connect(urls[2]!)];
      const call = (c: ModernClient, extra: Record<string, unknown> = {}) =>
        c.request(
          { method: "tools/call", params: { name: "modern__confirm", arguments: { what: "r" }, ...extra } } as never,
          { allowInputRequired: true } as never,
        ) as Promise<{ requestState?: string; content?: Array<{ text: string }> }>;
      const first = await call(a);
      const answer = {
        inputResponses: { ok: { action: "accept", content: { yes: true } } },
        requestState: first.requestState,
      };
      expect((await call(b, answer)).content?.[0]?.text).toBe("r: accept yes=true state=asked:r");
      await expect(call(other, answer)).rejects.toThrow(/requestState/i);
      for (const c of [a, b, other]) await c.close();
    } finally {
      for (const srv of servers) {
        srv.closeAllConnections();
        await new Promise((r) => srv.close(r));
      }
      for (const g of replicas) await g.close();
    }
  });
});
