import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { KEYS, startTestHost, type TestHost } from "./helpers.js";

interface Frame {
  id?: string;
  event?: string;
  data?: string;
}

interface Stream {
  status: number;
  contentType: string | null;
  frames: Frame[];
  comments: string[];
  text: () => string;
  ended: () => boolean;
  close(): void;
}

/** Opens `GET /v1/events` on the listening host and parses frames as they arrive. */
async function open(host: TestHost, query = "", headers: Record<string, string> = {}): Promise<Stream> {
  const ac = new AbortController();
  const res = await fetch(`${host.url}/v1/events${query}`, {
    headers: { authorization: `Bearer ${KEYS.viewer}`, ...headers },
    signal: ac.signal,
  });
  const frames: Frame[] = [];
  const comments: string[] = [];
  let raw = "";
  let buffer = "";
  let ended = false;
  const decoder = new TextDecoder();
  void (async () => {
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = decoder.decode(value, { stream: true });
      raw += chunk;
      buffer += chunk;
      let at = buffer.indexOf("\n\n");
      while (at >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const frame: Frame = {};
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) comments.push(line.slice(1).trim());
          else {
            const i = line.indexOf(":");
            const key = line.slice(0, i) as keyof Frame;
            frame[key] = (frame[key] ? `${frame[key]}\n` : "") + line.slice(i + 1).replace(/^ /, "");
          }
        }
        if (frame.event || frame.data) frames.push(frame);
        at = buffer.indexOf("\n\n");
      }
    }
    ended = true;
  })().catch(() => {
    ended = true;
  });
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    frames,
    comments,
    text: () => raw,
    ended: () => ended,
    close: () => ac.abort(),
  };
}

const data = (f: Frame) => JSON.parse(f.data ?? "null");
const WAIT = { timeout: 15_000, interval: 20 };

async function createInstance(host: TestHost, name: string, secrets?: Record<string, string>) {
  const r = await host.call("POST", "/v1/mcp-server-instances", {
    role: "operator",
    body: { name, json_spec: { type: "docker", image: "mcp/echo:1", port: 8000 }, ...(secrets ? { secrets } : {}) },
  });
  expect(r.status).toBe(201);
  await host.fleet.instances.waitFor(r.body.id, "running", { timeoutMs: 15_000 });
  return r.body.id as string;
}

async function streams(host: TestHost): Promise<number> {
  const m = await host.call("GET", "/metrics", { role: "viewer" });
  const line = m.text.split("\n").find((l) => l.startsWith("mcpfleet_event_streams "));
  return Number(line?.split(" ")[1]);
}

let host: TestHost;
beforeAll(async () => {
  host = await startTestHost();
});
afterAll(async () => {
  await host?.close();
});

describe("GET /v1/events (listening host)", () => {
  it("needs a key (401 problem without one), serves viewers text/event-stream, and is in the OpenAPI document", async () => {
    const none = await host.call("GET", "/v1/events", { role: "none" });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe("UNAUTHORIZED");
    const s = await open(host);
    expect(s.status).toBe(200);
    expect(s.contentType).toMatch(/^text\/event-stream/);
    s.close();
    const doc = await host.call("GET", "/openapi.json", { role: "none" });
    expect(doc.body.paths["/v1/events"].get.operationId).toBe("streamEvents");
  });

  it("streams each fleet event with a monotonic id, its type as event and its JSON as data; ?instance= filters", async () => {
    const a = await createInstance(host, "ev-a");
    const b = await createInstance(host, "ev-b");
    const onlyA = await open(host, `?instance=${a}`);
    const all = await open(host);
    expect((await host.call("POST", `/v1/mcp-server-instances/${b}/stop`, { role: "operator" })).status).toBe(202);
    expect((await host.call("POST", `/v1/mcp-server-instances/${a}/stop`, { role: "operator" })).status).toBe(202);
    const stoppedOf = (id: string) => (f: Frame) =>
      f.event === "MCPServerInstanceStatusChanged" && data(f).subject === id && data(f).data.status === "stopped";
    await vi.waitFor(() => expect(onlyA.frames.some(stoppedOf(a))).toBe(true), WAIT);
    await vi.waitFor(() => expect(all.frames.some(stoppedOf(a)) && all.frames.some(stoppedOf(b))).toBe(true), WAIT);
    expect(onlyA.frames.length).toBeGreaterThan(0);
    for (const f of onlyA.frames) expect(data(f).subject).toBe(a);
    const ids = all.frames.map((f) => Number(f.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    for (const f of all.frames) {
      expect(data(f).type).toBe(f.event);
      expect(data(f).specversion).toBe("1.0");
    }
    // repeated ?instance= takes several
    const both = await open(host, `?instance=${a}&instance=${b}&follow=false&lastEventId=0`);
    await vi.waitFor(() => expect(both.ended()).toBe(true), WAIT);
    const subjects = new Set(both.frames.map((f) => data(f).subject));
    expect([...subjects].sort()).toEqual([a, b].sort());
    onlyA.close();
    all.close();
  });

  it("resumes after Last-Event-ID (header or ?lastEventId=) with the events missed meanwhile", async () => {
    const first = await open(host);
    const c = await createInstance(host, "ev-c");
    await vi.waitFor(() => expect(first.frames.some((f) => data(f).subject === c)).toBe(true), WAIT);
    const last = first.frames.at(-1)!.id!;
    first.close();
    expect((await host.call("POST", `/v1/mcp-server-instances/${c}/stop`, { role: "operator" })).status).toBe(202);
    await host.fleet.instances.waitFor(c, "stopped", { timeoutMs: 15_000 });
    for (const resumed of [await open(host, "", { "last-event-id": last }), await open(host, `?lastEventId=${last}`)]) {
      await vi.waitFor(
        () => expect(resumed.frames.some((f) => data(f).subject === c && data(f).data.status === "stopped")).toBe(true),
        WAIT,
      );
      expect(resumed.frames.some((f) => f.event === "reset")).toBe(false);
      expect(Number(resumed.frames[0]!.id)).toBe(Number(last) + 1);
      resumed.close();
    }
  });

  it("never carries a secret value (canary), only its ref", async () => {
    const canary = "CANARY-events-9d2b-never-stream-me";
    const s = await open(host);
    const id = await createInstance(host, "ev-secret", { API_KEY: canary });
    await vi.waitFor(
      () => expect(s.frames.some((f) => data(f).subject === id && data(f).data.status === "running")).toBe(true),
      WAIT,
    );
    const created = s.frames.find((f) => f.event === "MCPServerInstanceCreated" && data(f).subject === id)!;
    expect(data(created).data.json_spec.environment.API_KEY).toMatch(/^secret_ref:/);
    expect(s.text()).not.toContain(canary);
    s.close();
  });

  it("drops the client's subscription when it disconnects", async () => {
    // the earlier tests' streams are closed; wait until the host has seen every one go
    await vi.waitFor(async () => expect(await streams(host)).toBe(0), WAIT);
    const before = 0;
    const one = await open(host);
    const two = await open(host, "?instance=whatever");
    await vi.waitFor(async () => expect(await streams(host)).toBe(before + 2), WAIT);
    one.close();
    await vi.waitFor(async () => expect(await streams(host)).toBe(before + 1), WAIT);
    two.close();
    await vi.waitFor(async () => expect(await streams(host)).toBe(before), WAIT);
  });
});

describe("GET /v1/events with a small buffer", () => {
  let small: TestHost;
  beforeAll(async () => {
    small = await startTestHost({}, { events: { bufferSize: 3, heartbeatMs: 50 } });
  });
  afterAll(async () => {
    await small?.close();
  });

  it("sends event: reset first when the cursor is older than the buffer (or unreadable), then what it holds", async () => {
    await createInstance(small, "ev-r1");
    await createInstance(small, "ev-r2");
    for (const cursor of ["1", "not-a-cursor", "999999"]) {
      const s = await open(small, "?follow=false", { "last-event-id": cursor });
      await vi.waitFor(() => expect(s.ended()).toBe(true), WAIT);
      expect(s.frames[0]!.event).toBe("reset");
      expect(data(s.frames[0]!)).toMatchObject({ oldest: expect.any(Number), latest: expect.any(Number) });
      expect(s.frames.slice(1)).toHaveLength(3);
    }
  });

  it("writes a heartbeat comment while idle", async () => {
    const s = await open(small);
    await vi.waitFor(() => expect(s.comments.filter((c) => c === "ping").length).toBeGreaterThanOrEqual(2), WAIT);
    s.close();
  });
});
