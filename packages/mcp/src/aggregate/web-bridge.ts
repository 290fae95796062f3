import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * A web `Request` for a Node request whose body was already read (the gateway reads and checks MCP
 * bodies itself and hands the parsed body on), aborted when the client goes away. `raw` is left out
 * when the SDK gets the parsed body and never reads the request's own (no copy, no body stream).
 */
export function toWebRequest(req: IncomingMessage, res: ServerResponse, raw?: Buffer): Request {
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k === "content-length") continue;
    if (Array.isArray(v)) for (const one of v) headers.append(k, one);
    else headers.set(k, v);
  }
  const url = `http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
  const method = req.method ?? "GET";
  const withBody = raw !== undefined && method !== "GET" && method !== "HEAD";
  return new Request(url, {
    method,
    headers,
    signal: controller.signal,
    ...(withBody ? { body: new Uint8Array(raw) } : {}),
  });
}

/**
 * Writes a web `Response` to a Node response: a JSON (or other complete) body in one write with its
 * length; an SSE stream chunk by chunk, its writes corked to the end of the tick, so an event and
 * the end of the stream that come together leave in one write (as the per-instance route relays).
 * A standalone GET stream may stay silent, so its headers go at once; a POST's leave with its first
 * event, or after `HEADERS_AFTER_MS` without one (a long call, a `subscriptions/listen` stream).
 */
export async function sendWebResponse(res: ServerResponse, response: Response, method = "GET"): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => {
    headers[k] = v;
  });
  if (!response.body) {
    res.writeHead(response.status, headers);
    res.end();
    return;
  }
  if (!String(headers["content-type"] ?? "").startsWith("text/event-stream")) {
    const body = Buffer.from(await response.arrayBuffer());
    headers["content-length"] = String(body.length);
    res.writeHead(response.status, headers);
    res.end(body);
    return;
  }
  res.writeHead(response.status, headers);
  if (method === "GET") res.flushHeaders();
  const early = setTimeout(() => {
    if (!res.headersSent && !res.destroyed) res.flushHeaders();
  }, HEADERS_AFTER_MS);
  try {
    await relayStream(response.body, res);
  } finally {
    clearTimeout(early);
  }
}

const HEADERS_AFTER_MS = 25;

/** Copies a web byte stream to a Node response (backpressure, cancelled when the client goes away). */
async function relayStream(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  let gone = false;
  const onClose = () => {
    gone = true;
    reader.cancel().catch(() => {});
  };
  res.on("close", onClose);
  let corked = false;
  const uncork = () => {
    corked = false;
    res.uncork();
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || gone) break;
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(uncork);
      }
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            res.off("drain", go);
            res.off("close", go);
            resolve();
          };
          res.on("drain", go);
          res.on("close", go);
        });
      }
    }
    if (!gone) res.end();
  } catch {
    res.destroy();
  } finally {
    res.off("close", onClose);
  }
}
