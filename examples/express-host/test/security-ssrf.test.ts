import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHost, type TestHost } from "./helpers.js";

/**
 * Finding 5 (SSRF) against the real listening host: an operator creates URL instances whose
 * endpoints reach metadata, link-local, loopback or private addresses in every spelling, and a URL
 * instance whose DNS name resolves to loopback only when the gateway connects.
 */
const BYPASSES = [
  "http://169.254.169.254/latest/meta-data",
  "http://2852039166/latest/meta-data",
  "http://0xa9fea9fe/",
  "http://[::ffff:169.254.169.254]/latest/meta-data",
  "http://[::ffff:a9fe:a9fe]/latest/meta-data",
  "http://[::169.254.169.254]/latest/meta-data",
  "http://[64:ff9b::a9fe:a9fe]/",
  "http://[fe80::1]/",
  "http://metadata.google.internal./computeMetadata/v1/",
  "http://METADATA.GOOGLE.INTERNAL/computeMetadata/v1/",
  "http://127.1:6379/",
  "http://2130706433:5432/",
  "http://0x7f000001:4222/",
  "http://[::ffff:127.0.0.1]:6379/",
  "http://[::1]:6379/",
  "http://localhost./",
  "http://0.0.0.0:6379/",
  "http://10.0.0.1/",
  "http://[fd00::1]/",
];

describe("SSRF: endpoint policy on the real host", () => {
  let host: TestHost;
  let internal: Server;
  let internalPort: number;
  const internalHits: string[] = [];

  beforeAll(async () => {
    // an internal service on loopback that no URL instance may reach
    internal = createServer((req, res) => {
      internalHits.push(`${req.method} ${req.url}`);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((r) => internal.listen(0, "127.0.0.1", r));
    internalPort = (internal.address() as AddressInfo).port;
    host = await startTestHost(
      { HEALTH_INTERVAL_MS: "50" },
      {
        // DNS rebinding: names under rebind.test resolve to loopback when something connects
        endpointResolver: async (name) => (name.endsWith(".rebind.test") ? [{ address: "127.0.0.1", family: 4 }] : []),
      },
    );
  });
  afterAll(async () => {
    await host?.close();
    await new Promise((r) => internal?.close(r));
  });

  it.each(BYPASSES)(
    "refuses to create a URL instance on %s (422 ENDPOINT_REFUSED at json_spec.endpoint)",
    async (endpoint) => {
      const res = await host.call("POST", "/v1/mcp-server-instances", {
        role: "operator",
        body: { name: `ssrf-${Math.random().toString(36).slice(2, 8)}`, json_spec: { type: "url", endpoint } },
      });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe("ENDPOINT_REFUSED");
      expect(res.body.issues[0].path).toBe("json_spec.endpoint");
    },
  );

  it("refuses an update that points an existing instance at the metadata service", async () => {
    const created = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "public-one", start: false, json_spec: { type: "url", endpoint: "https://mcp.example.com/mcp" } },
    });
    expect(created.status).toBe(201);
    const updated = await host.call("PATCH", `/v1/mcp-server-instances/${created.body.id}`, {
      role: "operator",
      body: { json_spec: { type: "url", endpoint: "http://[::ffff:a9fe:a9fe]/latest/meta-data" } },
    });
    expect(updated.status).toBe(422);
    expect(updated.body.code).toBe("ENDPOINT_REFUSED");
    const after = await host.call("GET", `/v1/mcp-server-instances/${created.body.id}`, { role: "operator" });
    expect(after.body.json_spec.endpoint).toBe("https://mcp.example.com/mcp");
  });

  it("a name that resolves to loopback at connect time is refused by the gateway and the probe", async () => {
    const created = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "rebind", json_spec: { type: "url", endpoint: `http://internal.rebind.test:${internalPort}/mcp` } },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await host.fleet.instances.waitFor(id, "starting", { timeoutMs: 10_000 });
    const res = await fetch(`${host.url}/mcp/rebind`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${"test-operator-key-0123456789abcd"}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { message: string; data: { code: string } } };
    expect(body.error.data.code).toBe("ENDPOINT_REFUSED");
    expect(body.error.message).toMatch(/resolves to 127\.0\.0\.1/);
    // the health probe went through the same check: the internal service never saw a request
    await new Promise((r) => setTimeout(r, 300));
    expect(internalHits).toEqual([]);
    expect((await host.fleet.instances.get(id)).status).not.toBe("running");
  });
});

describe("SSRF: the quick-start allowlist (ENDPOINT_ALLOW=loopback)", () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost({ ENDPOINT_ALLOW: "loopback" });
  });
  afterAll(async () => {
    await host?.close();
  });

  it("allows loopback but never the host's own API port, and never metadata", async () => {
    const create = (name: string, endpoint: string) =>
      host.call("POST", "/v1/mcp-server-instances", {
        role: "operator",
        body: { name, start: false, json_spec: { type: "url", endpoint } },
      });
    expect((await create("local-ok", "http://127.0.0.1:3333/mcp")).status).toBe(201);
    for (const [i, endpoint] of [
      `http://127.0.0.1:${host.port}/v1/mcp-server-instances`,
      `http://127.1:${host.port}/`,
      `http://localhost:${host.port}/metrics`,
      "http://[::ffff:a9fe:a9fe]/",
      "http://metadata.google.internal./",
    ].entries()) {
      const res = await create(`own-${i}`, endpoint);
      expect(res.status, endpoint).toBe(422);
      expect(res.body.code).toBe("ENDPOINT_REFUSED");
    }
  });
});
