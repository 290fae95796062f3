import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMixedFleet } from "./mixed-fleet.js";
import type { startModernServer } from "./modern-server.js";

// The per-instance route between both revisions: {2025 client, 2026 client} x {legacy upstream, modern upstream}.
const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;
const MODERN = "2026-07-28";

let mixed: Awaited<ReturnType<typeof startMixedFleet>>;
let base: string;
let modern: Awaited<ReturnType<typeof startModernServer>>;

beforeAll(async () => {
  mixed = await startMixedFleet("legacy");
  ({ modern } = mixed);
  base = mixed.base;
}, 40_000);

afterAll(async () => {
  await mixed?.close();
});

const TOOL = { legacy: ["echo", { message: "hi" }, "Echo: hi"], modern: ["add", { a: 1, b: 2 }, "3"] } as const;

describe("per-instance route, both revisions", () => {
  for (const upstream of ["legacy", "modern"] as const) {
    it(`a 2025 client against the ${upstream} upstream`, async () => {
      const c = new LegacyClient({ name: "legacy-client", version: "1" });
      await c.connect(new LegacyTransport(new URL(`${base}/mcp/${upstream}`)));
      const [tool, args, expected] = TOOL[upstream];
      expect((await c.listTools()).tools.map((t) => t.name)).toContain(tool);
      expect(text(await c.callTool({ name: tool, arguments: args }))).toBe(expected);
      await c.close();
    });

    it(`a 2026 client against the ${upstream} upstream`, async () => {
      const c = new ModernClient(
        { name: "modern-client", version: "1" },
        { capabilities: {}, versionNegotiation: { mode: "auto" } },
      );
      await c.connect(new ModernTransport(new URL(`${base}/mcp/${upstream}`)));
      expect(c.getProtocolEra()).toBe(upstream === "modern" ? "modern" : "legacy");
      const [tool, args, expected] = TOOL[upstream];
      expect((await c.listTools()).tools.map((t) => t.name)).toContain(tool);
      expect(text(await c.callTool({ name: tool, arguments: args }))).toBe(expected);
      await c.close();
    });
  }
});

function modernRequest(method: string, params: Record<string, unknown> = {}, version = MODERN) {
  return {
    jsonrpc: "2.0",
    id: 1,
    method,
    params: {
      ...params,
      _meta: {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
      },
    },
  };
}

async function post(path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(body),
  });
  const t = await res.text();
  const json = t.startsWith("{")
    ? JSON.parse(t)
    : JSON.parse(
        t
          .split("\n")
          .find((l) => l.startsWith("data:"))!
          .slice(5),
      );
  return { status: res.status, headers: res.headers, json };
}

describe("per-instance route: version headers checked as an intermediary", () => {
  it("a well-formed modern request is forwarded and gets no session id", async () => {
    const r = await post("/mcp/modern", modernRequest("tools/list"), {
      "mcp-protocol-version": MODERN,
      "mcp-method": "tools/list",
    });
    expect(r.status).toBe(200);
    expect(r.json.result.tools.map((t: { name: string }) => t.name)).toContain("add");
    expect(r.headers.get("mcp-session-id")).toBeNull();
  });

  it("a header that disagrees with _meta is refused (-32020) without reaching the instance", async () => {
    const before = modern.seen.length;
    const r = await post("/mcp/modern", modernRequest("tools/list"), {
      "mcp-protocol-version": "2025-11-25",
      "mcp-method": "tools/list",
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe(-32020);
    const m = await post("/mcp/modern", modernRequest("tools/list"), {
      "mcp-protocol-version": MODERN,
      "mcp-method": "prompts/list",
    });
    expect(m.status).toBe(400);
    expect(m.json.error.code).toBe(-32020);
    // neither refused request reached the instance (only health probes did meanwhile)
    const reached = modern.seen.slice(before);
    expect(reached.some((r) => r.mcpMethod === "prompts/list")).toBe(false);
    expect(reached.some((r) => r.body.includes(MODERN) && r.body.includes('"tools/list"'))).toBe(false);
  });

  it("an unsupported revision is refused (-32022)", async () => {
    const r = await post("/mcp/modern", modernRequest("tools/list", {}, "2099-01-01"), {
      "mcp-protocol-version": "2099-01-01",
      "mcp-method": "tools/list",
    });
    expect(r.json.error.code).toBe(-32022);
  });
});

describe("aggregated endpoint: the 2026-07-28 error table", () => {
  const h = (method: string, version = MODERN) => ({ "mcp-protocol-version": version, "mcp-method": method });
  it("mismatched headers -32020, unsupported revision -32022, missing _meta -32602", async () => {
    const mismatch = await post("/mcp", modernRequest("tools/list"), h("prompts/list"));
    expect([mismatch.status, mismatch.json.error.code]).toEqual([400, -32020]);
    const unsupported = await post(
      "/mcp",
      modernRequest("tools/list", {}, "2099-01-01"),
      h("tools/list", "2099-01-01"),
    );
    expect(unsupported.json.error.code).toBe(-32022);
    const bare = await post("/mcp", { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }, h("tools/list"));
    expect([bare.status, bare.json.error.code]).toEqual([400, -32602]);
  });

  it("methods the revision removed (ping, logging/setLevel) are not found for modern requests", async () => {
    for (const [method, params] of [
      ["ping", {}],
      ["logging/setLevel", { level: "debug" }],
    ] as const) {
      const r = await post("/mcp", modernRequest(method, params), h(method));
      expect(r.json.error?.code).toBe(-32601);
    }
    // and no session is minted for modern traffic
    const ok = await post("/mcp", modernRequest("tools/list"), h("tools/list"));
    expect(ok.headers.get("mcp-session-id")).toBeNull();
    expect(ok.json.result.tools.map((t: { name: string }) => t.name)).toContain("modern__add");
  });
});
