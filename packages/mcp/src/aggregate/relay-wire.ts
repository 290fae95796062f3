import type { IncomingMessage, ServerResponse } from "node:http";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createParser } from "eventsource-parser";
import type { ProxyAgents } from "../gateway/proxy.js";

/** Where an upstream's calls can be relayed to: its streamable HTTP endpoint and the client's session. */
export interface RelayTarget {
  endpoint: URL;
  /** The instance's own credentials (never the downstream client's). */
  headers: Record<string, string>;
  /** A user-supplied endpoint: connections resolve through the endpoint policy. */
  external: boolean;
  /** The upstream client's transport: its session id and protocol version, and how answers are posted. */
  transport: StreamableHTTPClientTransport;
}

export type Message = Record<string, unknown> & { id?: string | number; method?: string };

/**
 * POSTs one JSON-RPC message to the upstream in the pool client's session (its `Mcp-Session-Id` and
 * `MCP-Protocol-Version`), over the gateway's keep-alive agents, headers and body in one write. A
 * reused keep-alive connection that the upstream closed as the request went out (reset before any
 * answer: the upstream never read it) is retried once on a fresh connection, as Node's docs advise.
 */
export function postUpstream(
  target: RelayTarget,
  agents: ProxyAgents,
  body: string,
  timeoutMs: number,
): { response: Promise<IncomingMessage>; abort: () => void } {
  const secure = target.endpoint.protocol === "https:";
  const pool = target.external ? agents.guarded : agents;
  const sessionId = target.transport.sessionId;
  const version = target.transport.protocolVersion;
  const payload = Buffer.from(body);
  let current: ReturnType<typeof httpRequest> | undefined;
  let aborted = false;
  const send = (retry: boolean): Promise<IncomingMessage> =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(target.endpoint, {
        method: "POST",
        agent: secure ? pool.https : pool.http,
        timeout: timeoutMs,
        headers: {
          ...lower(target.headers),
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "content-length": String(payload.length),
          ...(sessionId ? { "mcp-session-id": sessionId } : {}),
          ...(version ? { "mcp-protocol-version": version } : {}),
        },
      });
      current = req;
      req.on("socket", (s) => s.setNoDelay(true));
      req.once("response", resolve);
      req.once("error", (err: NodeJS.ErrnoException) => {
        if (retry && !aborted && req.reusedSocket && err.code === "ECONNRESET") resolve(send(false));
        else reject(err);
      });
      req.once("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.end(payload);
    });
  const response = send(true);
  return {
    response,
    abort: () => {
      aborted = true;
      current?.destroy();
    },
  };
}

function lower(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

/**
 * Reads an upstream answer (a JSON body or an SSE stream) message by message. Resolves when the
 * answer ends; rejects when it breaks.
 */
export function readMessages(res: IncomingMessage, onMessage: (m: Message) => void): Promise<void> {
  const type = String(res.headers["content-type"] ?? "");
  res.setEncoding("utf8");
  const deliver = (text: string) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return; // not JSON-RPC: nothing to relay
    }
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      if (m && typeof m === "object") onMessage(m as Message);
    }
  };
  return new Promise<void>((resolve, reject) => {
    if (type.startsWith("text/event-stream")) {
      const parser = createParser({
        onEvent: (e) => (e.event === undefined || e.event === "message") && deliver(e.data),
      });
      res.on("data", (chunk: string) => parser.feed(chunk));
    } else {
      let text = "";
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => text && deliver(text));
    }
    res.once("end", resolve);
    res.once("error", reject);
    res.once("aborted", () => reject(new Error("the answer stream broke")));
  });
}

/**
 * The downstream half of a relayed call: a lone answer leaves as one `application/json` body; once a
 * notification or a request comes first, the answer becomes an SSE stream and everything after it
 * an event on it (an event and the end that come together leave in one write).
 */
export class DownstreamAnswer {
  private streaming = false;
  private ended = false;

  constructor(private readonly res: ServerResponse) {}

  get gone(): boolean {
    return this.ended || this.res.destroyed;
  }

  /** A message before the answer (progress, a log message, a server-to-client request). */
  event(m: Message): void {
    if (this.gone) return;
    if (!this.streaming) {
      this.streaming = true;
      this.res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    }
    this.res.write(`event: message\ndata: ${JSON.stringify(m)}\n\n`);
  }

  /** The answer: the end of the exchange. */
  final(m: Message): void {
    if (this.gone) return;
    this.ended = true;
    const text = JSON.stringify(m);
    if (this.streaming) {
      this.res.end(`event: message\ndata: ${text}\n\n`);
      return;
    }
    const body = Buffer.from(text);
    this.res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) });
    this.res.end(body);
  }

  /** Ends the exchange without an answer (a cancelled call). */
  close(): void {
    if (this.gone) return;
    this.ended = true;
    if (this.streaming) this.res.end();
    else {
      this.res.writeHead(202);
      this.res.end();
    }
  }
}
