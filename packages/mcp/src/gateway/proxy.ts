import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable, Transform } from "node:stream";
import type { EndpointPolicy, InstanceConnection, Logger } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import { sendJson } from "../bridge/http-util.js";
import { errorResponse, JSONRPC_INVALID_REQUEST } from "../jsonrpc.js";
import { rewriteMessages, sseMessageRewriter } from "../policy/list-filter.js";
import { sendFleetError } from "./http-errors.js";
import type { ListRewrite } from "./instance-policy.js";

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
  /** For user-supplied endpoints: every new connection resolves through the endpoint policy's lookup. */
  guarded: { http: HttpAgent; https: HttpsAgent };
}

export function createAgents(maxSockets: number, policy: EndpointPolicy): ProxyAgents {
  const base = { keepAlive: true, maxSockets, keepAliveMsecs: 10_000 };
  return {
    http: new HttpAgent(base),
    https: new HttpsAgent(base),
    guarded: {
      http: new HttpAgent({ ...base, lookup: policy.lookup }),
      https: new HttpsAgent({ ...base, lookup: policy.lookup }),
    },
  };
}

export function destroyAgents(agents: ProxyAgents): void {
  for (const a of [agents.http, agents.https, agents.guarded.http, agents.guarded.https]) a.destroy();
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

export interface ProxyLimits {
  /** Per-request timeout when the spec sets none (POST/DELETE; a GET stream may stay silent). */
  requestTimeoutMs: number;
  /** Largest request body forwarded upstream. */
  maxBodyBytes: number;
}

export interface ProxyTarget {
  url: URL;
  conn: InstanceConnection;
  /** Set for legacy SSE streams: the transforms an SSE answer passes (endpoint rewrite, list filter). */
  sseStream?: Transform[];
  /** The request body, already read and checked (POSTs); otherwise the request is streamed. */
  body?: Buffer;
  /** Set when list results must be filtered for the principal (JSON and SSE responses). */
  lists?: ListRewrite;
  /** Called with the session id the upstream answered with (if any) and the status. */
  onSession?: (sessionId: string | undefined, status: number) => void;
  /** Never pass an upstream `Mcp-Session-Id` on (2026-07-28 traffic has no sessions). */
  dropSessionHeader?: boolean;
  /** The `Mcp-Session-Id` the client gets for the upstream's (a replicated instance's copy prefix). */
  sessionIdOut?: (upstream: string) => string;
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
  limits: ProxyLimits,
  retried = false,
): void {
  const secure = target.url.protocol === "https:";
  const declared = Number(req.headers["content-length"]);
  if (declared > limits.maxBodyBytes) {
    req.resume();
    sendJson(res, 413, errorResponse(null, JSONRPC_INVALID_REQUEST, "request body too large"), { connection: "close" });
    return;
  }
  const timeoutMs = target.conn.timeoutMs ?? (req.method === "GET" ? undefined : limits.requestTimeoutMs);
  const upstream = (secure ? httpsRequest : httpRequest)(target.url, {
    method: req.method,
    headers: {
      ...requestHeaders(req.headers, target.conn.headers),
      // a filtered response is parsed here: ask for it uncompressed
      ...(target.lists ? { "accept-encoding": "identity" } : {}),
      ...(target.body ? { "content-length": String(target.body.length) } : {}),
    },
    agent: target.conn.external
      ? secure
        ? agents.guarded.https
        : agents.guarded.http
      : secure
        ? agents.https
        : agents.http,
    timeout: timeoutMs,
  });
  // headers and body go out as separate writes: without TCP_NODELAY, Nagle + delayed ACK stall them
  upstream.on("socket", (socket) => socket.setNoDelay(true));
  let done = false;
  res.on("close", () => {
    if (!done && !res.writableFinished) upstream.destroy();
  });
  upstream.on("timeout", () =>
    upstream.destroy(
      new FleetError("TIMEOUT", `instance ${target.conn.instance.name} did not answer within ${timeoutMs} ms`),
    ),
  );
  upstream.on("error", (err: NodeJS.ErrnoException) => {
    if (done || res.destroyed) return;
    done = true;
    // a reused keep-alive connection the instance closed as the request went out (reset before any
    // answer: never read there): once more on a fresh connection, when the body is at hand
    if (!retried && target.body && upstream.reusedSocket && err.code === "ECONNRESET" && !res.headersSent) {
      proxyRequest(req, res, target, agents, logger, onUpstreamError, limits, true);
      return;
    }
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
    if (target.dropSessionHeader) delete headers["mcp-session-id"];
    const isSse = String(ures.headers["content-type"] ?? "").startsWith("text/event-stream");
    const opened = ures.headers["mcp-session-id"];
    if (target.sessionIdOut && typeof opened === "string") headers["mcp-session-id"] = target.sessionIdOut(opened);
    target.onSession?.(typeof opened === "string" ? opened : undefined, ures.statusCode ?? 502);
    if (target.lists && !isSse && String(ures.headers["content-type"] ?? "").includes("json")) {
      done = true;
      filterJson(ures, res, ures.statusCode ?? 502, headers, target.lists);
      return;
    }
    res.writeHead(ures.statusCode ?? 502, headers);
    // a standalone GET stream may stay silent: send its headers now; a POST's headers leave with its first event
    if (isSse && req.method === "GET") res.flushHeaders();
    ures.on("end", () => {
      done = true;
    });
    ures.on("error", () => res.destroy());
    if (isSse && target.lists) ures.pipe(sseMessageRewriter(target.lists.pending, target.lists.rewrite)).pipe(res);
    else if (isSse && target.sseStream) target.sseStream.reduce<Readable>((from, t) => from.pipe(t), ures).pipe(res);
    else relay(ures, res);
  });
  if (target.body) {
    upstream.end(target.body);
    return;
  }
  const length = declared;
  if (length >= 0 && length <= SMALL_BODY) {
    // small bodies (every JSON-RPC POST) go out with the headers in one write
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => upstream.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
  } else {
    // a body without a (truthful) length is counted as it streams
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= limits.maxBodyBytes) return;
      req.unpipe(upstream);
      req.resume();
      done = true;
      upstream.destroy();
      if (!res.headersSent)
        sendJson(res, 413, errorResponse(null, JSONRPC_INVALID_REQUEST, "request body too large"), {
          connection: "close",
        });
    });
    req.pipe(upstream);
  }
}

const SMALL_BODY = 64 * 1024;
const MAX_FILTERED = 16 * 1024 * 1024;

/** Buffers a JSON response, filters its list results, and sends it with its new length. */
function filterJson(
  from: IncomingMessage,
  to: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  lists: ListRewrite,
): void {
  const encoding = String(headers["content-encoding"] ?? "identity");
  if (encoding !== "identity") {
    // a compressed answer cannot be filtered: refuse it rather than pass unfiltered lists
    from.resume();
    sendFleetError(to, new FleetError("RUNTIME_UNAVAILABLE", "upstream answered compressed; cannot apply the policy"));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  from.on("data", (c: Buffer) => {
    size += c.length;
    if (size > MAX_FILTERED) from.destroy();
    else chunks.push(c);
  });
  from.on("error", () => to.destroy());
  from.on("end", () => {
    const text = Buffer.concat(chunks).toString("utf8");
    let out = text;
    try {
      out = JSON.stringify(rewriteMessages(JSON.parse(text), lists.pending, lists.rewrite));
    } catch {
      // not JSON: nothing to filter (an error page)
    }
    const h = { ...headers, "content-length": String(Buffer.byteLength(out)) };
    delete h["content-encoding"];
    to.writeHead(status, h);
    to.end(out);
  });
}

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
