import type { Fleet } from "@mcpfleet/core";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMixedFleet } from "./mixed-fleet.js";
import { startModernServer } from "./modern-server.js";

// The aggregated endpoint's sessionful 2025 leg and the input rounds of both revisions, end to end:
// SDK 1.x (2025-11-25) and SDK 2.x (2026-07-28) clients, server-everything and a v2 server upstream.
const text = (r: unknown) => (r as { content: { text: string }[] }).content.map((c) => c.text).join("\n");
const until = async (ok: () => boolean, what: string) => {
  for (let i = 0; i < 800 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
};

let mixed: Awaited<ReturnType<typeof startMixedFleet>>;
let fleet: Fleet;
let url: URL;

beforeAll(async () => {
  mixed = await startMixedFleet("ev");
  ({ fleet } = mixed);
  url = new URL(`${mixed.base}/mcp`);
}, 40_000);

afterAll(async () => {
  await mixed?.close();
});

async function legacyClient() {
  const c = new LegacyClient({ name: "legacy", version: "1" }, { capabilities: { elicitation: {}, sampling: {} } });
  const transport = new LegacyTransport(url);
  await c.connect(transport);
  return { c, transport };
}

async function modernClient() {
  const c = new ModernClient(
    { name: "modern", version: "1" },
    { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: "auto" } },
  );
  await c.connect(new ModernTransport(url));
  return c;
}

describe("aggregated endpoint: 2025-era sessions", () => {
  it("a 2025 client gets a session; DELETE ends it and the id is refused afterwards", async () => {
    const { c, transport } = await legacyClient();
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await c.listTools()).tools.map((t) => t.name)).toContain("ev__echo");
    const sid = transport.sessionId!;
    await transport.terminateSession();
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": sid,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    expect(res.status).toBe(404);
    await c.close();
  });

  it("a request without a session that is not initialize is refused (400)", async () => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    expect(res.status).toBe(400);
  });

  it("server-everything's elicitation reaches the session that called the tool, and only that one", async () => {
    const { c } = await legacyClient();
    const other = await legacyClient();
    let asked = 0;
    let otherAsked = 0;
    c.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked++;
      expect(req.params.message).toContain("Please provide inputs");
      return { action: "accept", content: { name: "Ada Lovelace", check: true } };
    });
    other.c.setRequestHandler(ElicitRequestSchema, async () => {
      otherAsked++;
      return { action: "decline" };
    });
    const r = await c.callTool({ name: "ev__trigger-elicitation-request", arguments: {} });
    expect(asked).toBe(1);
    expect(otherAsked).toBe(0);
    expect(text(r)).toContain("Ada Lovelace");
    await c.close();
    await other.c.close();
  });

  it("server-everything's sampling request is answered by the calling client", async () => {
    const { c } = await legacyClient();
    c.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
      model: "test-model",
      role: "assistant",
      content: { type: "text", text: `sampled: ${JSON.stringify(req.params.messages[0]?.content)}`.slice(0, 80) },
    }));
    const r = await c.callTool({ name: "ev__trigger-sampling-request", arguments: { prompt: "hi", maxTokens: 10 } });
    expect(text(r)).toContain("test-model");
    await c.close();
  });

  it("a modern instance's input_required round is fulfilled over the 2025 session (the SDK's legacy shim)", async () => {
    const { c } = await legacyClient();
    c.setRequestHandler(ElicitRequestSchema, async (req) => {
      expect(req.params.message).toBe("Confirm deploy?");
      return { action: "accept", content: { yes: true } };
    });
    const r = await c.callTool({ name: "modern__confirm", arguments: { what: "deploy" } });
    expect(text(r)).toBe("deploy: accept yes=true state=asked:deploy");
    await c.close();
  });

  it("an elicitation refused when the caller lacks the capability", async () => {
    const c = new LegacyClient({ name: "plain", version: "1" });
    await c.connect(new LegacyTransport(url));
    const r = await c.callTool({ name: "ev__trigger-elicitation-request", arguments: {} });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain("does not support elicitation");
    await c.close();
  });

  it("the session's GET stream carries tools/list_changed when an instance joins and leaves", async () => {
    const { c } = await legacyClient();
    let changed = 0;
    c.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
    await c.listTools();
    const extra = await startModernServer();
    try {
      await fleet.instances.create({ name: "joiner", json_spec: { type: "url", endpoint: extra.url } });
      await fleet.instances.waitFor("joiner", "running", { timeoutMs: 20_000 });
      await until(() => changed > 0, "list_changed on join");
      expect((await c.listTools()).tools.map((t) => t.name)).toContain("joiner__add");
      const seen = changed;
      await fleet.instances.delete((await fleet.instances.get("joiner")).id);
      await until(() => changed > seen, "list_changed on leave");
      expect((await c.listTools()).tools.map((t) => t.name)).not.toContain("joiner__add");
    } finally {
      await c.close();
      await extra.close();
    }
  });

  it("log messages of a call reach its session, named after the instance", async () => {
    const { c } = await legacyClient();
    const logs: Array<{ logger?: string }> = [];
    c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(n.params);
    });
    await c.setLoggingLevel("debug");
    const on = await c.callTool({ name: "ev__toggle-simulated-logging", arguments: {} });
    try {
      expect(text(on)).toContain("Started simulated");
      await until(() => logs.length > 0, "a log message");
      expect(logs[0]!.logger ?? "").toMatch(/^ev(\/|$)/);
    } finally {
      await c.callTool({ name: "ev__toggle-simulated-logging", arguments: {} });
      await c.close();
    }
  });
});

describe("aggregated endpoint: input rounds for 2026-07-28 clients", () => {
  it("a modern instance's round passes through; its own requestState comes back byte-exact", async () => {
    const c = await modernClient();
    c.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { yes: false } }));
    const r = await c.callTool({ name: "modern__confirm", arguments: { what: "rollout" } });
    expect(text(r)).toBe("rollout: accept yes=false state=asked:rollout");
    await c.close();
  });

  it("a legacy instance's elicitation becomes an input_required round of a held call", async () => {
    const c = await modernClient();
    let asked = 0;
    c.setRequestHandler("elicitation/create", async (req) => {
      asked++;
      expect((req.params as { message: string }).message).toContain("Please provide inputs");
      return { action: "accept", content: { name: "Grace Hopper", check: true } };
    });
    const r = await c.callTool({ name: "ev__trigger-elicitation-request", arguments: {} });
    expect(asked).toBe(1);
    expect(text(r)).toContain("Grace Hopper");
    await c.close();
  });

  it("a forged, foreign or mismatched requestState is refused", async () => {
    const c = await modernClient();
    const first = (await c.request(
      { method: "tools/call", params: { name: "modern__confirm", arguments: { what: "x" } } } as never,
      { allowInputRequired: true } as never,
    )) as { resultType?: string; requestState?: string };
    expect(first.resultType).toBe("input_required");
    const state = first.requestState!;
    expect(state).not.toContain("asked:x"); // the instance's state is sealed, not shown as is
    const retry = (name: string, requestState: string) =>
      c.request(
        {
          method: "tools/call",
          params: {
            name,
            arguments: { what: "x" },
            inputResponses: { ok: { action: "accept", content: { yes: true } } },
            requestState,
          },
        } as never,
        { allowInputRequired: true } as never,
      );
    const flipped = `${state.slice(0, -2)}${state.endsWith("A") ? "B" : "A"}${state.slice(-1)}`;
    await expect(retry("modern__confirm", flipped)).rejects.toThrow(/requestState/i);
    await expect(retry("modern__confirm", "not-a-state")).rejects.toThrow(/requestState/i);
    await expect(retry("ev__echo", state)).rejects.toThrow(/another call/);
    const ok = await retry("modern__confirm", state);
    expect(text(ok)).toBe("x: accept yes=true state=asked:x");
    await c.close();
  });
});
