import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHost, type TestHost } from "../helpers.js";

// Issue 14: thousands of generated REST bodies and JSON-RPC messages against the listening host. Every
// answer is a 4xx problem (or a success for a valid document) or a JSON-RPC error, never a 5xx, and the
// host keeps answering afterwards.
let host: TestHost;
let instanceId: string;
beforeAll(async () => {
  host = await startTestHost({ FLEET_STORE: "file" });
  const created = await host.call("POST", "/v1/mcp-server-instances", {
    body: { name: "fuzz-target", start: false, json_spec: { type: "docker", image: "a/b:1", port: 80 } },
  });
  expect(created.status).toBe(201);
  instanceId = created.body.id;
});
afterAll(async () => {
  await host?.close();
});

const specish = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      type: fc.oneof(fc.constantFrom("docker", "container", "url", "process", "custom"), fc.string()),
      image: fc.oneof(fc.string(), fc.jsonValue()),
      endpoint: fc.oneof(fc.webUrl(), fc.string(), fc.jsonValue()),
      port: fc.oneof(fc.integer(), fc.jsonValue()),
      command: fc.oneof(fc.array(fc.string()), fc.string(), fc.jsonValue()),
      environment: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue())), fc.jsonValue()),
      headers: fc.dictionary(fc.string(), fc.jsonValue()),
      volumes: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
);
const instanceBody = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      name: fc.oneof(fc.string(), fc.jsonValue()),
      json_spec: specish,
      secrets: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
      server_spec_id: fc.oneof(fc.string(), fc.jsonValue()),
      start: fc.constant(false),
    },
    { requiredKeys: [] },
  ),
);

function expectNo5xx(r: { status: number; text: string }, what: string) {
  expect(r.status, `${what}: ${r.text.slice(0, 300)}`).toBeLessThan(500);
}

describe("fuzzing the listening host", () => {
  it("REST bodies: instance create/update, server register, raw text", async () => {
    await fc.assert(
      fc.asyncProperty(instanceBody, async (body) => {
        const r = await host.call("POST", "/v1/mcp-server-instances", { body });
        expectNo5xx(r, "create");
        if (r.status >= 400) expect(typeof r.body.code).toBe("string");
      }),
      { numRuns: 800 },
    );
    await fc.assert(
      fc.asyncProperty(instanceBody, async (body) => {
        const r = await host.call("PATCH", `/v1/mcp-server-instances/${instanceId}`, { body });
        expectNo5xx(r, "update");
      }),
      { numRuns: 500 },
    );
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (body) => {
        const r = await host.call("POST", "/v1/mcp-servers", { body });
        expectNo5xx(r, "register");
      }),
      { numRuns: 400 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 200 }), fc.string({ maxLength: 40 }), async (raw, id) => {
        const r = await host.call("POST", "/v1/mcp-server-instances", { raw });
        expectNo5xx(r, "raw");
        const g = await host.call("GET", `/v1/mcp-server-instances/${encodeURIComponent(id)}`);
        expectNo5xx(g, "get");
      }),
      { numRuns: 400 },
    );
  }, 240_000);

  it("JSON-RPC messages on /mcp and /control/mcp", async () => {
    const message = fc.record(
      {
        jsonrpc: fc.oneof(fc.constant("2.0"), fc.jsonValue()),
        id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.jsonValue()),
        method: fc.oneof(
          fc.constantFrom(
            "initialize",
            "ping",
            "tools/list",
            "tools/call",
            "resources/list",
            "resources/read",
            "prompts/list",
            "prompts/get",
            "completion/complete",
            "logging/setLevel",
            "notifications/initialized",
          ),
          fc.string(),
          fc.jsonValue(),
        ),
        params: fc.oneof(
          fc.jsonValue(),
          fc.record({
            name: fc.oneof(fc.constantFrom("list_instances", "get_instance"), fc.string()),
            arguments: fc.jsonValue(),
          }),
        ),
        result: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      { weight: 4, arbitrary: message },
      { weight: 1, arbitrary: fc.array(message, { maxLength: 3 }) },
    );
    for (const path of ["/mcp", "/control/mcp"]) {
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          const r = await host.call("POST", path, {
            body: b,
            headers: { accept: "application/json, text/event-stream" },
          });
          expectNo5xx(r, path);
          if (r.status >= 400) expect(r.body?.error ?? r.body?.code, r.text).toBeDefined();
        }),
        { numRuns: 700 },
      );
    }
  }, 240_000);

  it("the host still answers afterwards", async () => {
    expect((await host.call("GET", "/ready", { role: "none" })).status).toBe(200);
    expect((await host.call("GET", "/v1/mcp-server-instances")).status).toBe(200);
    const c = await host.call("POST", "/v1/mcp-server-instances", {
      body: { name: "after-fuzz", start: false, json_spec: { type: "docker", image: "a/b:1", port: 80 } },
    });
    expect(c.status).toBe(201);
  });
});
