import { describe, expect, it } from "vitest";
import type { Instance } from "../../ui/src/api.js";
import { applyEvent, type FleetEvent } from "../../ui/src/events.js";
import { toArguments } from "../../ui/src/schema-args.js";
import { secretRefs } from "../../ui/src/secret-refs.js";
import { readSse } from "../../ui/src/sse.js";

/** The dashboard's pure parts, beside the browser suite: SSE parsing, tool arguments, events, secret refs. */

function chunked(...parts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

async function all(body: ReadableStream<Uint8Array>) {
  const out = [];
  for await (const m of readSse(body)) out.push(m);
  return out;
}

describe("readSse", () => {
  it("parses messages split anywhere, with CRLF, comments, ids and multi-line data", async () => {
    const text =
      ': connected\r\n\r\nid: 7\r\nevent: MCPServerInstanceStatusChanged\r\ndata: {"a":\r\ndata: 1}\r\n\r\n' +
      "event: reset\ndata: {}\n\ndata:no-space\n\n";
    // every split point, including inside "\r\n" and inside a multi-byte character
    const withEuro = `${text}data: 5 €\n\n`;
    const bytes = new TextEncoder().encode(withEuro);
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes.slice(0, cut));
          c.enqueue(bytes.slice(cut));
          c.close();
        },
      });
      expect(await all(stream)).toEqual([
        { id: "7", event: "MCPServerInstanceStatusChanged", data: '{"a":\n1}' },
        { event: "reset", data: "{}" },
        { event: "message", data: "no-space" },
        { event: "message", data: "5 €" },
      ]);
    }
  });

  it("drops an unterminated last message", async () => {
    expect(await all(chunked("data: done\n\n", "data: half"))).toEqual([{ event: "message", data: "done" }]);
  });
});

describe("toArguments", () => {
  const schema = {
    type: "object",
    properties: {
      message: { type: "string" },
      count: { type: "integer" },
      ratio: { type: "number" },
      loud: { type: "boolean" },
      level: { enum: [1, 2, 3] },
      extra: { type: "object" },
      skipped: { type: "string" },
    },
  };
  it("turns form text into typed arguments and leaves empty fields out", () => {
    expect(
      toArguments(schema, {
        message: "hi",
        count: "3",
        ratio: "0.5",
        loud: true,
        level: "2",
        extra: '{"k":[1]}',
        skipped: "",
      }),
    ).toEqual({ message: "hi", count: 3, ratio: 0.5, loud: true, level: 2, extra: { k: [1] } });
  });
  it("names the field that is wrong", () => {
    expect(() => toArguments(schema, { count: "1.5" })).toThrow("count: must be an integer");
    expect(() => toArguments(schema, { ratio: "x" })).toThrow("ratio: must be a number");
    expect(() => toArguments(schema, { extra: "{" })).toThrow("extra: must be JSON");
  });
});

describe("applyEvent", () => {
  const inst = (id: string, status: string): Instance =>
    ({ id, name: id, status, restart_count: 0, json_spec: { type: "process" } }) as unknown as Instance;
  const ev = (type: string, id: string, status?: string): FleetEvent => ({
    id: "1",
    type,
    subject: id,
    time: "2026-01-01T00:00:00.000Z",
    data: { instance_id: id, ...(status ? { status } : {}) },
  });
  it("updates the status live and asks to re-read the instance", () => {
    const r = applyEvent(
      [inst("a", "starting"), inst("b", "running")],
      ev("MCPServerInstanceStatusChanged", "a", "running"),
    );
    expect(r.list.map((i) => i.status)).toEqual(["running", "running"]);
    expect(r.reload).toBe("a");
  });
  it("keeps an instance whose delete was only requested, drops it once deleted", () => {
    const list = [inst("a", "running")];
    expect(applyEvent(list, ev("MCPServerInstanceDeleted", "a")).list).toHaveLength(1);
    expect(applyEvent(list, ev("MCPServerInstanceStatusChanged", "a", "deleting")).list[0]!.status).toBe("deleting");
    const gone = applyEvent(list, ev("MCPServerInstanceStatusChanged", "a", "deleted"));
    expect(gone.list).toEqual([]);
    expect(gone.reload).toBeUndefined();
  });
  it("ignores server events", () => {
    const list = [inst("a", "running")];
    expect(applyEvent(list, ev("MCPServerRegistered", "s1"))).toEqual({ list });
  });
});

describe("secretRefs", () => {
  it("finds every reference with its path and nothing else", () => {
    expect(
      secretRefs({
        environment: { A: "secret_ref:instance_x:A", B: "plain" },
        authentication: { token: "secret_ref:shared:tok" },
        args: ["secret_ref:instance_x:ARG", "secret_ref:bad scope:x"],
      }),
    ).toEqual([
      { path: "environment.A", ref: "secret_ref:instance_x:A" },
      { path: "authentication.token", ref: "secret_ref:shared:tok" },
      { path: "args[0]", ref: "secret_ref:instance_x:ARG" },
    ]);
  });
});
