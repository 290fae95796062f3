import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHost, type TestHost } from "../helpers.js";

// `notifications/resources/updated` on the real listening host's aggregated endpoint: an update of
// one instance's resource goes to the sessions (and 2026-07-28 listen streams) that subscribed to
// that very resource of that instance and whose key may see the instance, to nobody else.

const require = createRequire(import.meta.url);
const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);
/** One of server-everything's resources (both instances list it under the same URI). */
const OWN = "demo://resource/static/document/architecture.md";
const AGG_A = `mcpfleet:ev-a/${OWN}`;

let host: TestHost;
const keys: Record<"a" | "b", string> = { a: "", b: "" };
const opened: Array<{ close(): Promise<void> }> = [];

async function everything(name: string) {
  const r = await host.call("POST", "/v1/mcp-server-instances", {
    body: {
      name,
      json_spec: { type: "process", command: [process.execPath, EVERYTHING, "stdio"], transport: "stdio" },
    },
  });
  expect(r.status).toBe(201);
  await host.fleet.instances.waitFor(name, "running", { timeoutMs: 30_000 });
}

/** A 2025-era SDK client session on /mcp with the key; `updates` collects the resource updates it receives. */
async function session(key: string) {
  const client = new Client({ name: "subscriber", version: "1" });
  const updates: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updates.push(n.params.uri);
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${host.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  opened.push(client);
  return { client, updates };
}

/** A 2026-07-28 `subscriptions/listen` stream on /mcp; `text` is what arrived on it so far. */
async function listen(key: string, uris: string[]) {
  const ctrl = new AbortController();
  const r = await fetch(`${host.url}/mcp`, {
    method: "POST",
    signal: ctrl.signal,
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "subscriptions/listen",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 9,
      method: "subscriptions/listen",
      params: {
        notifications: { resourceSubscriptions: uris },
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    }),
  });
  expect(r.status).toBe(200);
  const stream = { text: "", close: async () => ctrl.abort() };
  const reader = r.body!.getReader();
  void (async () => {
    for (let c = await reader.read(); !c.done; c = await reader.read())
      stream.text += new TextDecoder().decode(c.value);
  })().catch(() => {});
  for (let i = 0; i < 100 && !stream.text.includes("acknowledged"); i++)
    await new Promise((res) => setTimeout(res, 20));
  opened.push(stream);
  return stream;
}

beforeAll(async () => {
  host = await startTestHost({ FLEET_RUNTIME: "process" });
  for (const [k, instance] of [
    ["a", "ev-a"],
    ["b", "ev-b"],
  ] as const) {
    const r = await host.call("POST", "/v1/api-keys", {
      body: { name: `only-${k}`, role: "operator", policy: { name: `only-${k}`, instances: { names: [instance] } } },
    });
    expect(r.status).toBe(201);
    keys[k] = r.body.key;
  }
  await everything("ev-b");
}, 90_000);

afterAll(async () => {
  for (const c of opened) await c.close().catch(() => {});
  await host?.close();
});

describe("resource updates on the aggregated endpoint", () => {
  it("reach only the sessions subscribed to that resource of that instance, and only if their key sees it", async () => {
    // while ev-b is the only instance, its resource answers to its own URI: key b subscribes to it so
    const otherKey = await session(keys.b);
    await otherKey.client.subscribeResource({ uri: OWN });
    await everything("ev-a");
    const subscribed = await session(keys.a);
    const idle = await session(keys.a);
    expect((await subscribed.client.listResources()).resources.map((r) => r.uri)).toContain(AGG_A);
    await subscribed.client.subscribeResource({ uri: AGG_A });
    const modernA = await listen(keys.a, [AGG_A]);
    const modernB = await listen(keys.b, [AGG_A]);
    expect(modernB.text).toContain("acknowledged");
    expect(modernB.text).not.toContain(AGG_A);

    // server-everything sends an update of every subscribed resource now and every 5 s after
    await subscribed.client.callTool({ name: "ev-a__toggle-subscriber-updates", arguments: {} });
    for (let i = 0; i < 400 && subscribed.updates.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    await subscribed.client.callTool({ name: "ev-a__toggle-subscriber-updates", arguments: {} });

    expect(subscribed.updates.length).toBeGreaterThanOrEqual(2);
    expect(new Set(subscribed.updates)).toEqual(new Set([AGG_A]));
    expect(idle.updates).toEqual([]);
    expect(otherKey.updates).toEqual([]);
    expect(modernA.text).toContain(`"method":"notifications/resources/updated","params":{"uri":"${AGG_A}"`);
    expect(modernB.text).not.toContain("notifications/resources/updated");
  }, 60_000);
});
