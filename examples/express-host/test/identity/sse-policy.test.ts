import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, startTestHost, type TestHost } from "../helpers.js";
import { policySseServer } from "./policy-tools.js";

// A legacy HTTP+SSE instance through the real listening host: its answers (list results, refusals)
// travel on the GET stream, not on the POST that asked, so the key's per-tool policy must hold there.

let host: TestHost;
let upstream: Awaited<ReturnType<typeof policySseServer>>;
let limited: string;
let other: string;

const POLICY = {
  name: "no-secrets",
  tools: { deny: ["delete_*"] },
  prompts: { deny: ["secret-*"] },
  resources: { deny: ["secret:*"] },
};

beforeAll(async () => {
  upstream = await policySseServer();
  host = await startTestHost({ ALLOW_UNSAFE_ENDPOINTS: "true" });
  const r = await host.call("POST", "/v1/mcp-server-instances", {
    body: { name: "legacy", json_spec: { type: "url", endpoint: upstream.url, transport: "sse" } },
  });
  expect(r.status).toBe(201);
  await host.fleet.instances.waitFor("legacy", "running", { timeoutMs: 20_000 });
  const key = async (name: string) => {
    const k = await host.call("POST", "/v1/api-keys", { body: { name, role: "operator", policy: POLICY } });
    expect(k.status).toBe(201);
    return k.body.key as string;
  };
  limited = await key("sse-agent");
  other = await key("sse-other");
}, 60_000);

afterAll(async () => {
  await host?.close();
  await upstream?.close();
});

async function sseClient(key: string) {
  const client = new Client({ name: "sse-attacker", version: "1" });
  await client.connect(
    new SSEClientTransport(new URL(`${host.url}/mcp/legacy`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

// answers that never arrive fail the test in seconds, not at the SDK's 60 s default
const quick = { timeout: 5000 };

describe("a key's per-tool policy on a legacy SSE instance's stream", () => {
  it("tools/list, prompts/list, resources/list and resources/templates/list answers are filtered", async () => {
    const client = await sseClient(limited);
    try {
      expect((await client.listTools(undefined, quick)).tools.map((t) => t.name)).toEqual([
        "list_repos",
        "create_issue",
      ]);
      expect((await client.listPrompts(undefined, quick)).prompts.map((p) => p.name)).toEqual(["triage"]);
      expect((await client.listResources(undefined, quick)).resources.map((r) => r.uri)).toEqual(["repo:readme"]);
      expect(
        (await client.listResourceTemplates(undefined, quick)).resourceTemplates.map((t) => t.uriTemplate),
      ).toEqual(["repo:{file}"]);
    } finally {
      await client.close();
    }
    // the admin key (no policy) sees everything: the filter is the policy's
    const admin = await sseClient(KEYS.admin);
    try {
      expect((await admin.listTools(undefined, quick)).tools.map((t) => t.name)).toContain("delete_repo");
      expect((await admin.listPrompts(undefined, quick)).prompts.map((p) => p.name)).toContain("secret-plan");
    } finally {
      await admin.close();
    }
  });

  it("a refused call, prompt or read reaches the client as a -32003 error on its stream, and not the server", async () => {
    const client = await sseClient(limited);
    const before = upstream.calls.length;
    try {
      const refused = [
        client.callTool({ name: "delete_repo", arguments: {} }, undefined, quick),
        client.getPrompt({ name: "secret-plan" }, quick),
        client.readResource({ uri: "secret:deploy-key" }, quick),
      ];
      const settled = await Promise.allSettled(refused);
      expect(settled.map((s) => (s.status === "rejected" ? (s.reason as { code?: number }).code : "answered"))).toEqual(
        [-32003, -32003, -32003],
      );
      expect(upstream.calls.length).toBe(before);
      const ok = await client.callTool({ name: "list_repos", arguments: {} }, undefined, quick);
      expect(ok.content).toEqual([{ type: "text", text: "called list_repos" }]);
    } finally {
      await client.close();
    }
  });

  it("another key cannot post into the session (its messages URL is the opener's only)", async () => {
    const ctrl = new AbortController();
    const stream = await fetch(`${host.url}/mcp/legacy`, {
      headers: { authorization: `Bearer ${limited}`, accept: "text/event-stream" },
      signal: ctrl.signal,
    });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let text = "";
    while (!/event: endpoint\r?\ndata: (\S+)/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const path = /event: endpoint\r?\ndata: (\S+)/.exec(text)![1]!;
    expect(path).toMatch(/^\/mcp\/legacy\/~\/messages\?sessionId=/);
    const before = upstream.calls.length;
    const injected = await fetch(`${host.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${other}`, "content-type": "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "list_repos", arguments: {} },
      }),
    });
    expect(injected.status).toBe(404);
    expect(upstream.calls.length).toBe(before);
    ctrl.abort();
    await reader.cancel().catch(() => {});
  });
});
