import type { Fleet } from "@mcpfleet/core";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMixedFleet } from "./mixed-fleet.js";
import { startModernServer } from "./modern-server.js";

// The aggregated endpoint over a legacy upstream (server-everything, 2025-11-25) and a modern one
// (SDK v2, 2026-07-28), used by a 2025 client (SDK 1.x) and a 2026 client (SDK 2.x).
const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

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

async function clients() {
  const legacy = new LegacyClient({ name: "legacy-client", version: "1" });
  await legacy.connect(new LegacyTransport(url));
  const current = new ModernClient(
    { name: "modern-client", version: "1" },
    { capabilities: {}, versionNegotiation: { mode: "auto" } },
  );
  await current.connect(new ModernTransport(url));
  return { legacy, current };
}

describe("aggregated endpoint, both revisions", () => {
  it("the modern client negotiates 2026-07-28 with the gateway; the legacy client 2025", async () => {
    const { legacy, current } = await clients();
    expect(current.getProtocolEra()).toBe("modern");
    expect(legacy.getServerCapabilities()).toMatchObject({ tools: {}, resources: {}, prompts: {}, completions: {} });
    await legacy.close();
    await current.close();
  });

  for (const era of ["legacy", "current"] as const) {
    it(`${era} client: tools of both upstreams, namespaced, callable`, async () => {
      const c = (await clients())[era];
      const names = (await c.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["ev__echo", "modern__add"]));
      expect(text(await c.callTool({ name: "ev__echo", arguments: { message: era } }))).toBe(`Echo: ${era}`);
      expect(text(await c.callTool({ name: "modern__add", arguments: { a: 2, b: 3 } }))).toBe("5");
      await c.close();
    });

    it(`${era} client: resources (namespaced URIs) and templates of both upstreams`, async () => {
      const c = (await clients())[era];
      const resources = (await c.listResources()).resources;
      const motd = resources.find((r) => r.uri === "mcpfleet:modern/modern://motd");
      expect(motd).toBeDefined();
      const read = await c.readResource({ uri: motd!.uri });
      expect(read.contents[0]).toMatchObject({ uri: "mcpfleet:modern/modern://motd", text: "message of the day" });
      const evResource = resources.find((r) => r.uri.startsWith("mcpfleet:ev/"));
      expect(evResource).toBeDefined();
      const evRead = await c.readResource({ uri: evResource!.uri });
      expect(evRead.contents[0]!.uri).toBe(evResource!.uri);
      const templates = (await c.listResourceTemplates()).resourceTemplates;
      expect(templates.some((t) => t.uriTemplate.startsWith("mcpfleet:ev/"))).toBe(true);
      await expect(c.readResource({ uri: "mcpfleet:nope/x://y" })).rejects.toThrow();
      await c.close();
    });

    it(`${era} client: prompts, completion and logging/setLevel`, async () => {
      const c = (await clients())[era];
      const prompts = (await c.listPrompts()).prompts.map((p) => p.name);
      expect(prompts).toEqual(expect.arrayContaining(["modern__greet", "ev__simple-prompt"]));
      const got = await c.getPrompt({ name: "modern__greet", arguments: { who: era } });
      expect(JSON.stringify(got.messages)).toContain(`Hello, ${era}`);
      const evPrompt = (await c.listPrompts()).prompts.find((p) => p.name.startsWith("ev__") && p.arguments?.length);
      if (evPrompt) {
        const done = await c.complete({
          ref: { type: "ref/prompt", name: evPrompt.name },
          argument: { name: evPrompt.arguments![0]!.name, value: "" },
        });
        expect(Array.isArray(done.completion.values)).toBe(true);
      }
      if (era === "legacy") await expect(c.setLoggingLevel("debug")).resolves.toBeDefined();
      await c.close();
    });
  }

  it("an unknown tool is a tool error result for both clients (as the instances' own SDK servers answer)", async () => {
    const { legacy, current } = await clients();
    for (const [c, name] of [
      [legacy, "ev__nope"],
      [current, "nope"],
    ] as const) {
      const r = await c.callTool({ name, arguments: {} });
      expect(r.isError).toBe(true);
      expect(text(r)).toContain(`unknown tool "${name}"`);
    }
    await legacy.close();
    await current.close();
  });

  it("a modern client's subscriptions/listen on /mcp gets tools/list_changed when an instance joins", async () => {
    const { legacy, current } = await clients();
    await legacy.close();
    let changed = 0;
    current.setNotificationHandler("notifications/tools/list_changed", () => {
      changed++;
    });
    const sub = await current.listen({ toolsListChanged: true });
    expect(sub.honoredFilter.toolsListChanged).toBe(true);
    const extra = await startModernServer();
    try {
      await fleet.instances.create({ name: "late", json_spec: { type: "url", endpoint: extra.url } });
      await fleet.instances.waitFor("late", "running", { timeoutMs: 20_000 });
      for (let i = 0; i < 200 && changed === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(changed).toBeGreaterThan(0);
      expect((await current.listTools()).tools.map((t) => t.name)).toContain("late__add");
    } finally {
      await sub.close();
      await current.close();
      await fleet.instances.delete((await fleet.instances.get("late")).id);
      await extra.close();
    }
  });
});
