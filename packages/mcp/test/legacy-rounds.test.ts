import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEverythingHttp } from "./everything.js";
import { startMixedFleet } from "./mixed-fleet.js";

// A 2026-07-28 (sessionless) client on /mcp calls tools of legacy server-everything instances, one
// sessionful (streamable HTTP) and one on the old HTTP+SSE transport, that ask the client back
// (sampling/createMessage, roots/list) in the middle of the call: the gateway holds the call open
// and hands each request to the client as an `input_required` result, which the client answers by
// retrying with `inputResponses` and the gateway's `requestState`. The wire is recorded so the test
// sees the rounds themselves, not only the final answer.
//
// On the SSE instance nothing on the wire relates a server request to a call: the gateway gives it
// to the only call in flight. server-everything asks roots/list right after `initialize`, before any
// call: the pool is warmed up first, so that request has been refused before the tests call.

const text = (r: unknown) => (r as { content: { text: string }[] }).content.map((c) => c.text).join("\n");

let mixed: Awaited<ReturnType<typeof startMixedFleet>>;
let sse: Awaited<ReturnType<typeof startEverythingHttp>>;

beforeAll(async () => {
  [mixed, sse] = await Promise.all([startMixedFleet("ev"), startEverythingHttp("sse")]);
  await mixed.fleet.instances.create({ name: "old", json_spec: { type: "url", endpoint: sse.url, transport: "sse" } });
  await mixed.fleet.instances.waitFor("old", "running", { timeoutMs: 20_000 });
  let stderr = "";
  sse.child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const { client } = await recordedClient();
  expect((await client.listTools()).tools.map((t) => t.name)).toContain("old__echo");
  await client.close();
  for (let i = 0; i < 400 && !stderr.includes("Failed to request roots"); i++)
    await new Promise((r) => setTimeout(r, 25));
  expect(stderr).toContain("relates to no single call");
}, 60_000);

afterAll(async () => {
  await mixed?.close();
  sse?.stop();
});

interface Exchange {
  method: string;
  inputResponses?: Record<string, unknown>;
  requestState?: string;
  /** The result's kind: "input_required" for a round, "complete"/absent for the final answer. */
  resultType?: string;
  inputRequests?: Record<string, { method: string; params: Record<string, unknown> }>;
}

/** A 2026-07-28 client on /mcp whose every POST and its JSON-RPC answer are recorded. */
async function recordedClient() {
  const wire: Exchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const sent = typeof init?.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
    if (!sent || typeof sent.method !== "string" || !("id" in sent)) return res;
    const body = await res.clone().text();
    const data = body.startsWith("{")
      ? body
      : (body
          .match(/^data: (.*)$/gm)
          ?.at(-1)
          ?.slice(6) ?? "{}");
    const answer = JSON.parse(data) as { result?: Record<string, unknown> };
    const params = (sent.params ?? {}) as Record<string, unknown>;
    wire.push({
      method: sent.method,
      ...(params.inputResponses ? { inputResponses: params.inputResponses as Record<string, unknown> } : {}),
      ...(typeof params.requestState === "string" ? { requestState: params.requestState } : {}),
      ...(typeof answer.result?.resultType === "string" ? { resultType: answer.result.resultType } : {}),
      ...(answer.result?.inputRequests ? { inputRequests: answer.result.inputRequests as never } : {}),
    });
    return res;
  };
  const client = new ModernClient(
    { name: "modern", version: "1" },
    { capabilities: { sampling: {}, roots: {} }, versionNegotiation: { mode: "auto" } },
  );
  await client.connect(new ModernTransport(new URL(`${mixed.base}/mcp`), { fetch: recording }));
  return { client, wire };
}

/** The tools/call exchanges of one call: rounds first, then the answer. */
const calls = (wire: Exchange[]) => wire.filter((e) => e.method === "tools/call");

describe("a 2026-07-28 client answers a legacy instance's server-to-client requests in input_required rounds", () => {
  for (const instance of ["ev", "old"]) {
    const kind = instance === "ev" ? "sessionful streamable HTTP" : "HTTP+SSE";
    it(`sampling/createMessage from ${kind} server-everything`, async () => {
      const { client, wire } = await recordedClient();
      const asked: Array<Record<string, unknown>> = [];
      client.setRequestHandler("sampling/createMessage", async (req) => {
        asked.push(req.params as Record<string, unknown>);
        return { model: "test-model", role: "assistant", content: { type: "text", text: "sampled by the client" } };
      });
      try {
        const r = await client.callTool({
          name: `${instance}__trigger-sampling-request`,
          arguments: { prompt: "haiku about gateways", maxTokens: 20 },
        });
        expect(text(r)).toContain("sampled by the client");
        expect(text(r)).toContain("test-model");
        expect(asked).toHaveLength(1);
        expect(JSON.stringify(asked[0]!.messages)).toContain("haiku about gateways");
        const exchanges = calls(wire);
        expect(exchanges).toHaveLength(2);
        const [round, final] = exchanges as [Exchange, Exchange];
        expect(round.resultType).toBe("input_required");
        expect(Object.values(round.inputRequests ?? {}).map((q) => q.method)).toEqual(["sampling/createMessage"]);
        expect(final.requestState).toEqual(expect.any(String));
        expect(Object.keys(final.inputResponses ?? {})).toEqual(Object.keys(round.inputRequests ?? {}));
        expect(final.resultType ?? "complete").toBe("complete");
      } finally {
        await client.close();
      }
    });

    it(`roots/list from ${kind} server-everything`, async () => {
      const { client, wire } = await recordedClient();
      let asked = 0;
      client.setRequestHandler("roots/list", async () => {
        asked++;
        return { roots: [{ uri: "file:///work/project", name: "project" }] };
      });
      try {
        const r = await client.callTool({ name: `${instance}__get-roots-list`, arguments: {} });
        const rounds = calls(wire).filter((e) => e.resultType === "input_required");
        const asks = rounds.flatMap((e) => Object.values(e.inputRequests ?? {}).map((q) => q.method));
        if (instance === "old") {
          expect(text(r)).toContain("file:///work/project");
          expect(asked).toBe(1);
          expect(asks).toEqual(["roots/list"]);
        } else {
          // server-everything sends this roots/list unrelated to the call (on its GET stream): on a
          // sessionful instance that is a request of no call, refused, and the tool reports no roots
          expect(text(r)).toContain("no roots are currently configured");
          expect(asked).toBe(0);
          expect(asks).toEqual([]);
        }
      } finally {
        await client.close();
      }
    });
  }

  it("a retry answering the wrong key is asked again (not left waiting); the right answer completes the call", async () => {
    const { client, wire } = await recordedClient();
    client.setRequestHandler("sampling/createMessage", async () => ({
      model: "m",
      role: "assistant",
      content: { type: "text", text: "late but right" },
    }));
    try {
      // the first round by hand, to answer it wrongly once
      const first = (await client.request(
        {
          method: "tools/call",
          params: { name: "ev__trigger-sampling-request", arguments: { prompt: "p", maxTokens: 5 } },
        },
        { allowInputRequired: true } as never,
      )) as { resultType?: string; requestState?: string; inputRequests?: Record<string, unknown> };
      expect(first.resultType).toBe("input_required");
      const key = Object.keys(first.inputRequests ?? {})[0]!;
      const retry = (inputResponses: Record<string, unknown>) =>
        client.request(
          {
            method: "tools/call",
            params: {
              name: "ev__trigger-sampling-request",
              arguments: { prompt: "p", maxTokens: 5 },
              inputResponses,
              requestState: first.requestState,
            },
          },
          { allowInputRequired: true } as never,
        ) as Promise<{ resultType?: string; content?: Array<{ text: string }> }>;
      const wrong = await retry({
        [`${key}-not`]: { model: "m", role: "assistant", content: { type: "text", text: "x" } },
      });
      expect(wrong.resultType).toBe("input_required");
      const done = await retry({
        [key]: { model: "m", role: "assistant", content: { type: "text", text: "late but right" } },
      });
      expect(text(done)).toContain("late but right");
      expect(calls(wire).length).toBe(3);
    } finally {
      await client.close();
    }
  });
});
