import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ProbeTarget } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listTools, mcpProbe, serveStdioBridge } from "../src/index.js";
import { freePort, spawnEverything, startEverythingHttp } from "./everything.js";
import { startModernServer } from "./modern-server.js";

const target = (
  endpoint: string,
  transport: ProbeTarget["transport"] = "streamable-http",
  healthPath?: string,
): ProbeTarget =>
  ({
    instance: { id: "i1", name: "i1" },
    spec: {
      type: "url",
      endpoint,
      transport,
      headers: {},
      ...(healthPath ? { healthCheck: { path: healthPath, intervalMs: 1, timeoutMs: 1, retries: 1 } } : {}),
    },
    endpoint,
    transport,
    headers: {},
  }) as unknown as ProbeTarget;

const check = (t: ProbeTarget, timeoutMs = 3000) =>
  mcpProbe().check(t, { signal: new AbortController().signal, timeoutMs });

describe("mcpProbe against server-everything", () => {
  let http: Awaited<ReturnType<typeof startEverythingHttp>>;
  let sse: Awaited<ReturnType<typeof startEverythingHttp>>;
  beforeAll(async () => {
    [http, sse] = await Promise.all([startEverythingHttp("streamableHttp"), startEverythingHttp("sse")]);
  });
  afterAll(() => {
    http?.stop();
    sse?.stop();
  });

  it("is healthy over Streamable HTTP and over SSE", async () => {
    const a = await check(target(http.url));
    expect(a.ok).toBe(true);
    expect(a.latencyMs).toBeGreaterThan(0);
    expect((await check(target(sse.url, "sse"))).ok).toBe(true);
  });

  it("is healthy on a 2026-07-28-only server by server/discover alone (no initialize, no ping)", async () => {
    const modern = await startModernServer({ legacy: "reject" });
    try {
      const res = await check(target(modern.url));
      expect(res.ok).toBe(true);
      expect(modern.seen.map((r) => r.mcpMethod)).toEqual(["server/discover"]);
      expect(modern.seen.some((r) => r.body.includes('"initialize"') || r.body.includes('"ping"'))).toBe(false);
    } finally {
      await modern.close();
    }
  });

  it("is healthy through the stdio bridge", async () => {
    const child = spawnEverything();
    const served = await serveStdioBridge(child);
    // the probe carries the bridge's token (the engine adds ObservedInstance.endpointHeaders)
    expect((await check({ ...target(served.url), headers: served.headers })).ok).toBe(true);
    expect((await check(target(served.url))).reason).toMatch(/401|nauthorized/);
    // the probe ends its session (DELETE) instead of leaking one per check
    expect(served.bridge.sessionCount).toBe(0);
    await served.close();
    child.kill("SIGKILL");
  });

  it("fails with a reason on a closed port and times out on a mute server", async () => {
    const port = await freePort();
    const closed = await check(target(`http://127.0.0.1:${port}/mcp`));
    expect(closed.ok).toBe(false);
    expect(closed.reason).toMatch(/^MCP server\/discover failed/);
    const mute = createServer(() => {});
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
    const res = await check(target(`http://127.0.0.1:${(mute.address() as AddressInfo).port}/mcp`), 300);
    expect(res).toMatchObject({ ok: false, reason: "MCP server/discover timed out after 300 ms" });
    mute.closeAllConnections();
    mute.close();
  });

  it("applies only to http(s) endpoints without an HTTP health path", () => {
    const p = mcpProbe();
    expect(p.name).toBe("mcp");
    expect(p.appliesTo(target("http://127.0.0.1:1/mcp"))).toBe(true);
    expect(p.appliesTo(target("http://127.0.0.1:1/mcp", "streamable-http", "/health"))).toBe(false);
    expect(p.appliesTo(target("memory://x"))).toBe(false);
    expect(() => mcpProbe({ name: "" })).toThrow(/\[mcpfleet\/mcp probe\] option "name"/);
  });

  it("lists tools on demand and wraps failures in FleetErrors", async () => {
    const tools = await listTools({ endpoint: http.url });
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["echo", "get-sum"]));
    const err = await listTools({ endpoint: `http://127.0.0.1:${await freePort()}/mcp` }).catch((e) => e);
    expect(FleetError.isInstance(err) && err.code).toBe("RUNTIME_UNAVAILABLE");
  });
});
