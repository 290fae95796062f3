import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { InstanceConnection, Logger } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import { sendFleetError } from "./http-errors.js";
import { sseEndpointRewriter } from "./sse-rewrite.js";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

export interface ProxyAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

export function createAgents(maxSockets: number): ProxyAgents {
  return {
    http: new HttpAgent({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000 }),
  };
}

function requestHeaders(incoming: IncomingHttpHeaders, upstream: Record<string, string>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(incoming)) {
    // the client's own credentials are for the gateway, never forwarded upstream
    if (v === undefined || HOP_BY_HOP.has(k) || k === "authorization" || k === "cookie") continue;
    out[k] = v;
  }
  for (const [k, v] of Object.entries(upstream)) out[k.toLowerCase()] = v;
  return out;
}

function responseHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(incoming)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

export interface ProxyTarget {
  url: URL;
  conn: InstanceConnection;
  /** Set for legacy SSE streams: rewrite the `endpoint` event to this gateway prefix. */
  ssePrefix?: string;
}

/**
 * Streams one request to the upstream and its response back, without buffering. A client that goes
 * away aborts the upstream request; an upstream failure before the response becomes a 502/503.
 */
export function proxyRequest(
  req: IncomingMessage,
  res: ServerResponse,
  target: ProxyTarget,
  agents: ProxyAgents,
  logger: Logger,
  onUpstreamError: () => void,
): void {
  const secure = target.url.protocol === "https:";
  const upstream = (secure ? httpsRequest : httpRequest)(target.url, {
    method: req.method,
    headers: requestHeaders(req.headers, target.conn.headers),
    agent: secure ? agents.https : agents.http,
    timeout: target.conn.timeoutMs,
  });
  // headers and body go out as separate writes: without TCP_NODELAY, Nagle + delayed ACK stall them
  upstream.on("socket", (socket) => socket.setNoDelay(true));
  let done = false;
  res.on("close", () => {
    if (!done && !res.writableFinished) upstream.destroy();
  });
  upstream.on("timeout", () => upstream.destroy(new FleetError("TIMEOUT", "upstream timed out")));
  upstream.on("error", (err) => {
    if (done || res.destroyed) return;
    done = true;
    logger.debug({ instanceId: target.conn.instance.id, err: (err as Error).message }, "upstream request failed");
    onUpstreamError();
    if (res.headersSent) res.destroy();
    else if (FleetError.isInstance(err)) sendFleetError(res, err);
    else
      sendFleetError(
        res,
        new FleetError("RUNTIME_UNAVAILABLE", `instance ${target.conn.instance.name} is unreachable`),
      );
  });
  upstream.on("response", (ures) => {
    const headers = responseHeaders(ures.headers);
    const isSse = String(ures.headers["content-type"] ?? "").startsWith("text/event-stream");
    res.writeHead(ures.statusCode ?? 502, headers);
    // a standalone GET stream may stay silent: send its headers now; a POST's headers leave with its first event
    if (isSse && req.method === "GET") res.flushHeaders();
    ures.on("end", () => {
      done = true;
    });
    ures.on("error", () => res.destroy());
    if (isSse && target.ssePrefix) ures.pipe(sseEndpointRewriter(target.ssePrefix)).pipe(res);
    else relay(ures, res);
  });
  const length = Number(req.headers["content-length"]);
  if (length >= 0 && length <= SMALL_BODY) {
    // small bodies (every JSON-RPC POST) go out with the headers in one write
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => upstream.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
  } else req.pipe(upstream);
}

const SMALL_BODY = 64 * 1024;

/**
 * Like `pipe`, with writes corked until the end of the current tick: a chunk and the end of the
 * response that arrive together leave in one write (one syscall instead of two), while a stream that
 * pauses still flushes every chunk at once.
 */
function relay(from: IncomingMessage, to: ServerResponse): void {
  let corked = false;
  const uncork = () => {
    corked = false;
    to.uncork();
  };
  from.on("data", (chunk: Buffer) => {
    if (!corked) {
      corked = true;
      to.cork();
      process.nextTick(uncork);
    }
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => from.resume());
    }
  });
  from.on("end", () => to.end());
}
