import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, REPO_ROOT, startTestHost, type TestHost } from "./helpers.js";

/**
 * Finding 8 against the real host (process runtime, a fixture stdio server): a server that never
 * answers, a server that floods stdout without a newline, and a deploy stuck on `initialize`.
 */
// the stdio test server of @mcpfleet/mcp's own tests (one copy in the repo)
const FIXTURE = join(REPO_ROOT, "packages/mcp/test/fixture-stdio-server.mjs");
const processSpec = (mode: string, extra: Record<string, unknown> = {}) => ({
  type: "process",
  command: [process.execPath, FIXTURE, mode],
  transport: "stdio",
  ...extra,
});

async function rpc(host: TestHost, name: string, body: unknown, session?: string) {
  const res = await fetch(`${host.url}/mcp/${name}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${KEYS.operator}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(session ? { "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, session: res.headers.get("mcp-session-id"), body: text ? JSON.parse(text) : undefined };
}

async function session(host: TestHost, name: string): Promise<string> {
  const init = await rpc(host, name, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
  });
  expect(init.status).toBe(200);
  return init.session!;
}

describe("hangs and unbounded memory (process runtime, real host)", () => {
  let host: TestHost;
  const create = async (name: string, spec: unknown) => {
    const res = await host.call("POST", "/v1/mcp-server-instances", { role: "admin", body: { name, json_spec: spec } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  beforeAll(async () => {
    host = await startTestHost({ FLEET_RUNTIME: "process" });
  });
  afterAll(async () => {
    await host?.close();
  });

  it("a deploy stuck on initialize does not hold another instance's deploy", async () => {
    const stuck = await create("stuck", processSpec("no-init"));
    const fine = await create("fine", processSpec("normal"));
    await host.fleet.instances.waitFor(fine, "running", { timeoutMs: 60_000 });
    // the stuck deploy has not returned yet (provisioning -> starting happens when it does)
    expect((await host.fleet.instances.get(stuck)).status).toBe("provisioning");
    await host.call("DELETE", `/v1/mcp-server-instances/${stuck}`, { role: "admin" });
  }, 90_000);

  it("a call the server never answers gets a JSON-RPC error after the spec's timeout", async () => {
    const id = await create("mute", processSpec("normal", { timeout: 1 }));
    await host.fleet.instances.waitFor(id, "running", { timeoutMs: 30_000 });
    const s = await session(host, "mute");
    const res = await rpc(host, "mute", { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "hang" } }, s);
    expect(res.status).toBe(504);
    expect(res.body.error.data.code).toBe("TIMEOUT");
    // the instance still answers afterwards
    const ok = await rpc(host, "mute", { jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "echo" } }, s);
    expect(ok.body.result.content[0].text).toBe("echo: {}");
  }, 60_000);

  it("a 30 MB answer (over the 16 MiB message limit) becomes a JSON-RPC error; the bridge holds no line", async () => {
    const id = await create("flood", processSpec("normal"));
    await host.fleet.instances.waitFor(id, "running", { timeoutMs: 30_000 });
    const s = await session(host, "flood");
    const big = await rpc(host, "flood", { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "flood" } }, s);
    expect(big.status).toBe(200);
    expect(big.body).toMatchObject({ jsonrpc: "2.0", id: 3, error: { code: -32603 } });
    expect(big.body.error.message).toMatch(/larger than the bridge's 16777216-byte message limit/);
    const ok = await rpc(host, "flood", { jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "echo" } }, s);
    expect(ok.body.result.content[0].text).toBe("echo: {}");
  }, 60_000);
});
