import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerStart, collapseSingleAnswers } from "../src/aggregate/single-answer.js";

// The upstream fetch wrapper of the aggregated endpoint, against a real HTTP server that answers
// each path with fixed SSE writes (as MCP servers send them), over keep-alive connections.
const RESPONSE = '{"result":{"content":[{"type":"text","text":"Echo: x"}]},"jsonrpc":"2.0","id":5}';
const PRIMING = "id: 1f7a\ndata: \n\n";
const EVENT = `event: message\nid: 2b8c\ndata: ${RESPONSE}\n\n`;
const PROGRESS =
  'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n';
const ANSWERS: Record<string, string[]> = {
  "/single": [EVENT],
  "/primed": [PRIMING, EVENT],
  "/progress": [PROGRESS, EVENT],
  "/split": [EVENT.slice(0, 30), EVENT.slice(30)],
  "/request": ['event: message\ndata: {"jsonrpc":"2.0","id":0,"method":"elicitation/create","params":{}}\n\n'],
};

let server: Server;
let base: string;
const sockets: number[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    sockets.push(req.socket.remotePort ?? 0);
    req.resume();
    const parts = ANSWERS[req.url ?? ""] ?? [EVENT];
    res.writeHead(200, { "content-type": "text/event-stream", "mcp-session-id": "s-1" });
    res.flushHeaders();
    void (async () => {
      for (const p of parts) {
        res.write(p);
        await new Promise((r) => setTimeout(r, 15));
      }
      res.end();
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const post = { method: "POST", body: "{}", headers: { "content-type": "application/json" } };
const f = collapseSingleAnswers(fetch);

describe("collapseSingleAnswers", () => {
  it("hands a lone response (after priming events) to the client as JSON, headers kept", async () => {
    for (const path of ["/single", "/primed"]) {
      const r = await f(`${base}${path}`, post);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/json");
      expect(r.headers.get("mcp-session-id")).toBe("s-1");
      expect(await r.json()).toEqual(JSON.parse(RESPONSE));
    }
  });

  it("passes every other answer on byte for byte as SSE", async () => {
    for (const path of ["/progress", "/split", "/request"]) {
      const r = await f(`${base}${path}`, post);
      expect(r.headers.get("content-type")).toBe("text/event-stream");
      expect(await r.text()).toBe(ANSWERS[path]!.join(""));
    }
    const get = await f(`${base}/single`, { method: "GET" });
    expect(get.headers.get("content-type")).toBe("text/event-stream");
    expect(await get.text()).toBe(EVENT);
  });

  it("reads a collapsed stream to its end: the next request reuses the connection", async () => {
    sockets.length = 0;
    await (await f(`${base}/primed`, post)).json();
    await new Promise((r) => setTimeout(r, 60)); // the server ends the stream after its last write
    await (await f(`${base}/single`, post)).json();
    expect(sockets).toHaveLength(2);
    expect(sockets[1]).toBe(sockets[0]);
  });

  it("classifies answer starts", () => {
    expect(answerStart(PRIMING)).toEqual({ kind: "priming" });
    expect(answerStart(PRIMING + EVENT)).toEqual({ kind: "response", data: RESPONSE });
    expect(answerStart(EVENT.replaceAll("\n", "\r\n")).kind).toBe("other");
    expect(answerStart(`data: ${RESPONSE}\ndata: x\n\n`).kind).toBe("other");
    expect(answerStart(`retry: 10\ndata: ${RESPONSE}\n\n`).kind).toBe("other");
    expect(answerStart(EVENT + PRIMING).kind).toBe("other");
    expect(answerStart(`data: {"jsonrpc":"2.0","id":1}\n\n`).kind).toBe("other");
    expect(answerStart("data: not json\n\n").kind).toBe("other");
  });
});
