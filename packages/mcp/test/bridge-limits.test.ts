import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type ServedBridge, serveStdioBridge } from "../src/index.js";

/** Finding 8: a server's stdout is bounded (line and message size), and a gone client cancels. */
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "fixture-stdio-server.mjs");
const LIMIT = 1024 * 1024;

async function until(fn: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let served: ServedBridge | undefined;
let child: ReturnType<typeof spawn> | undefined;
afterEach(async () => {
  await served?.close();
  child?.kill("SIGKILL");
});

async function start(mb: number) {
  child = spawn(process.execPath, [FIXTURE, "normal"], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { PATH: process.env.PATH ?? "", FLOOD_MB: String(mb) },
  });
  served = await serveStdioBridge(child, { maxMessageBytes: LIMIT });
  const post = async (body: unknown, session?: string, signal?: AbortSignal) => {
    const res = await fetch(served!.url, {
      method: "POST",
      ...(signal ? { signal } : {}),
      headers: {
        ...served!.headers,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...(session ? { "mcp-session-id": session } : {}),
      },
      body: JSON.stringify(body),
    });
    return { res, json: (await res.json().catch(() => undefined)) as any };
  };
  const init = await post({
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
  });
  const session = init.res.headers.get("mcp-session-id")!;
  const call = (id: number, name: string, signal?: AbortSignal) =>
    post({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } }, session, signal);
  return { call };
}

describe("stdio bridge limits", () => {
  it("an answer over the message limit becomes a clear JSON-RPC error, and the server keeps working", async () => {
    const { call } = await start(8);
    const big = await call(1, "flood");
    expect(big.json).toMatchObject({ jsonrpc: "2.0", id: 1, error: { code: -32603 } });
    expect(big.json.error.message).toMatch(/larger than the bridge's 1048576-byte message limit/);
    expect(served!.bridge.droppedMessages).toBe(1);
    expect(served!.bridge.pendingCount).toBe(0);
    expect((await call(2, "echo")).json.result.content[0].text).toBe("echo: {}");
  });

  it("a line with no newline is never held whole: the buffer stays under the limit, and is freed on close", async () => {
    const { call } = await start(30);
    const pending = call(1, "flood-raw").catch(() => undefined);
    // the server writes 30 MiB with no newline; wait until the bridge has seen well past the limit
    await until(() => served!.bridge.pendingCount === 1, "the call in flight");
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, served!.bridge.bufferedBytes);
    }, 1);
    await new Promise<void>((resolve) => {
      let seen = 0;
      child!.stdout!.on("data", (c: Buffer | string) => {
        seen += c.length;
        if (seen > 4 * LIMIT) resolve();
      });
    });
    clearInterval(sampler);
    expect(peak).toBeLessThanOrEqual(LIMIT);
    expect(served!.bridge.bufferedBytes).toBe(0); // dropping, nothing held
    await served!.close();
    await pending;
    expect(served!.bridge.bufferedBytes).toBe(0);
    expect(served!.bridge.pendingCount).toBe(0);
  });

  it("a client that goes away cancels its call upstream (nothing left pending)", async () => {
    const { call } = await start(1);
    const ctrl = new AbortController();
    const hung = call(1, "hang", ctrl.signal).catch(() => undefined);
    await until(() => served!.bridge.pendingCount === 1, "the call in flight");
    ctrl.abort(); // as the gateway's timeout destroys its upstream request
    await hung;
    await until(() => served!.bridge.pendingCount === 0, "the call cancelled");
  });
});
