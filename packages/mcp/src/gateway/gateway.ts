import type { IncomingMessage, ServerResponse } from "node:http";
import type { Fleet, Logger } from "@mcpfleet/core";
import { FleetError, silentLogger } from "@mcpfleet/core";
import { z } from "zod";
import { aggregateEndpoint } from "../aggregate/aggregate-endpoint.js";
import { SESSION_HEADER, sendJson, sendRpcError } from "../bridge/http-util.js";
import { JSONRPC_INVALID_REQUEST, type JsonRpcMessage } from "../jsonrpc.js";
import { loggerSchema, parseOptions } from "../options.js";
import { principalOf } from "../principal.js";
import { DEFAULT_RPC_BODY_LIMIT, readRpcBody } from "../rpc-body.js";
import { ConnectionCache } from "./connections.js";
import { classifyEra } from "./era.js";
import { sendFleetError } from "./http-errors.js";
import { InstancePolicy } from "./instance-policy.js";
import { LegacySseStreams } from "./legacy-sse.js";
import { createAgents, destroyAgents, proxyRequest } from "./proxy.js";
import { parseReplicaSession, type ReplicaRoute, ReplicaRouter, replicaSessionId } from "./replica-routing.js";
import { SessionOwners } from "./session-owners.js";
import { sseEndpointRewriter } from "./sse-rewrite.js";

/** Which legacy SSE stream a session id belongs to: the instance's, or its copy's (each copy mints its own ids). */
const sseStreamOf = (instanceId: string, route: { replica?: number | undefined }) =>
  route.replica === undefined ? instanceId : `${instanceId}#${route.replica}`;

/** Marker segment for the legacy SSE transport's message path: `/mcp/<instance>/~/messages?...`. */
const SSE_PASSTHROUGH = "~";

const optionsSchema = z.object({
  /** Mount path (default `/mcp`): `<basePath>` is the aggregated endpoint, `<basePath>/<instance>` the per-instance route. */
  basePath: z.string().startsWith("/").optional(),
  logger: loggerSchema.optional(),
  /** Host authorisation: return false (401) or throw a FleetError (`UNAUTHORIZED`/`FORBIDDEN`) to refuse. */
  auth: z
    .custom<(req: IncomingMessage) => boolean | Promise<boolean>>((v) => typeof v === "function", {
      message: "must be a function",
    })
    .optional(),
  /** Serve the aggregated endpoint at `<basePath>` (default true). */
  aggregate: z.boolean().optional(),
  /**
   * Relay a 2025-era session's `tools/call` on the aggregated endpoint to a streamable HTTP instance
   * as JSON-RPC, without the SDK's server and client in between (default true; same answers,
   * progress, log messages, elicitation, sampling, roots and cancellation, a fraction of the cost).
   */
  aggregateRelay: z.boolean().optional(),
  /** How long a resolved connection is reused (default 2000 ms; fleet events clear it). */
  connectionTtlMs: z.number().int().nonnegative().optional(),
  /** Upstream keep-alive sockets per origin (default 256). */
  maxSockets: z.number().int().positive().optional(),
  /**
   * Per-request timeout of proxied POST/DELETE requests when the instance's spec sets no `timeout`
   * (default 120000 ms); the client gets a 504 with a JSON-RPC error.
   */
  requestTimeoutMs: z.number().int().positive().optional(),
  /** Timeout of the aggregated endpoint's upstream listing calls (default 10000 ms). */
  upstreamTimeoutMs: z.number().int().positive().optional(),
  /** Separator of aggregated tool and prompt names, `<instance><separator><name>` (default `__`). */
  separator: z.string().min(1).max(8).optional(),
  /** How long the aggregated endpoint reuses an instance's lists without a change notice (default 30000 ms). */
  listTtlMs: z.number().int().nonnegative().optional(),
  /** Largest MCP POST body accepted (default 4 MiB): larger ones get 413 with a JSON-RPC error. */
  bodyLimit: z.number().int().positive().optional(),
  /** HMAC key of the aggregated endpoint's `requestState` (>= 32 chars; random per process by default). Never logged. */
  requestStateKey: z.string().min(32).optional(),
  /** A 2025-era session of the aggregated endpoint unused this long is closed (default 1800000 ms). */
  sessionIdleMs: z.number().int().positive().optional(),
});

export type GatewayOptions = Omit<z.input<typeof optionsSchema>, "logger" | "auth"> & {
  logger?: Logger;
  auth?: (req: IncomingMessage) => boolean | Promise<boolean>;
};

/** A Node request handler (works with `http.createServer` and as Express middleware). */
export interface GatewayHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The MCP gateway: `<basePath>/<instance id or name>` proxies Streamable HTTP (or legacy SSE) to the
 * instance with its resolved credentials, streaming both ways and keeping `Mcp-Session-Id` affinity;
 * `<basePath>` is an aggregated MCP endpoint over the tools of all running instances.
 */
export function createGateway(fleet: Fleet, options: GatewayOptions = {}): GatewayHandler {
  const opts = parseOptions("mcpfleet/mcp gateway", optionsSchema, options);
  const basePath = (opts.basePath ?? "/mcp").replace(/\/+$/, "") || "/mcp";
  const logger = (opts.logger ?? fleet.logger ?? silentLogger()).child({ component: "gateway" });
  const connections = new ConnectionCache(fleet, opts.connectionTtlMs ?? 2000);
  const agents = createAgents(opts.maxSockets ?? 256, fleet.endpointPolicy);
  const auth = opts.auth as GatewayOptions["auth"];
  const bodyLimit = opts.bodyLimit ?? DEFAULT_RPC_BODY_LIMIT;
  const aggregate =
    opts.aggregate === false
      ? undefined
      : aggregateEndpoint(fleet, logger, {
          timeoutMs: opts.upstreamTimeoutMs ?? 10_000,
          bodyLimit,
          ...(opts.aggregateRelay !== false ? { agents } : {}),
          ...(opts.separator ? { separator: opts.separator } : {}),
          ...(opts.listTtlMs !== undefined ? { listTtlMs: opts.listTtlMs } : {}),
          ...(opts.requestStateKey ? { requestState: { key: opts.requestStateKey } } : {}),
          ...(opts.sessionIdleMs ? { sessions: { idleMs: opts.sessionIdleMs } } : {}),
        });
  const sessions = new SessionOwners();
  const replicas = new ReplicaRouter();
  const legacySse = new LegacySseStreams(sessions);
  const limits = { requestTimeoutMs: opts.requestTimeoutMs ?? 120_000, maxBodyBytes: bodyLimit };
  const policy = new InstancePolicy();

  const forward = async (
    req: IncomingMessage,
    res: ServerResponse,
    idOrName: string,
    rest: string,
    query: string,
    body: { raw: Buffer; parsed: unknown; messages: JsonRpcMessage[] } | undefined,
  ) => {
    const conn = await connections.get(idOrName);
    const era = body ? classifyEra(req, body.parsed) : { era: "legacy" as const };
    if (era.era === "reject") {
      sendJson(res, era.status, {
        jsonrpc: "2.0",
        id: null,
        error: { code: era.code, message: era.message, ...(era.data !== undefined ? { data: era.data } : {}) },
      });
      return;
    }
    // 2026-07-28 traffic carries no session: none is forwarded, minted or echoed (any replica serves it)
    const modern = era.era === "modern";
    if (modern) delete req.headers[SESSION_HEADER];
    // a session id is usable only by the principal that opened it (keyed by copy + upstream id,
    // however the client spells it)
    const owner = principalOf(req)?.id ?? "";
    const sid = req.headers[SESSION_HEADER];
    const session = typeof sid === "string" ? sid : undefined;
    const instanceId = conn.instance.id;
    const ownerKey = (s: string) => {
      if (!conn.replicas) return s;
      const { replica, upstream } = parseReplicaSession(s);
      return replicaSessionId(replica, upstream);
    };
    if (session !== undefined && !sessions.allows(instanceId, ownerKey(session), owner)) {
      throw new FleetError("NOT_FOUND", "Session not found");
    }
    if (conn.url.protocol !== "http:" && conn.url.protocol !== "https:") {
      throw new FleetError("UNSUPPORTED", `instance ${conn.instance.name} has no HTTP endpoint`);
    }
    let route: ReplicaRoute;
    let url: URL;
    let ssePrefix: string | undefined;
    /** A legacy SSE session's message POST names its session in the query, not a header. */
    let sseSession: string | undefined;
    if (rest) {
      // legacy SSE message posts: `/~/...` (copy 0 or the one endpoint) or `/~<copy>/...`
      const marker = new RegExp(`^/${SSE_PASSTHROUGH}(\\d{0,4})/`).exec(rest);
      const copy = marker && conn.transport === "sse" ? replicas.copy(conn, Number(marker[1] || 0)) : undefined;
      if (!marker || !copy) throw new FleetError("NOT_FOUND", "no such path on this instance route");
      route = copy;
      url = new URL(rest.slice(marker[0].length - 1) + query, route.endpoint);
      if (url.origin !== route.url.origin) throw new FleetError("NOT_FOUND", "no such path on this instance route");
      sseSession = url.searchParams.get("sessionId") ?? undefined;
      if (sseSession !== undefined && !sessions.allows(sseStreamOf(instanceId, route), sseSession, owner)) {
        throw new FleetError("NOT_FOUND", "Session not found");
      }
    } else {
      route = replicas.route(conn, session);
      url = route.url;
      if (query) {
        url = new URL(route.url);
        url.search = query;
      }
      if (conn.transport === "sse") {
        const original = (req as IncomingMessage & { originalUrl?: string }).originalUrl;
        const mount =
          original && req.url && original.endsWith(req.url) ? original.slice(0, original.length - req.url.length) : "";
        const copy = route.prefixSessions ? String(route.replica) : "";
        ssePrefix = `${mount}${basePath}/${encodeURIComponent(idOrName)}/${SSE_PASSTHROUGH}${copy}`;
      }
    }
    if (session !== undefined && conn.replicas) req.headers[SESSION_HEADER] = parseReplicaSession(session).upstream;
    const stream = sseStreamOf(instanceId, route);
    const deliver = sseSession ? (m: unknown) => legacySse.deliver(stream, sseSession, m) : undefined;
    const lists = policy.check(req, res, conn.instance, body, deliver);
    if (lists === "refused") return;
    const handedOut = (upstream: string) =>
      route.prefixSessions ? replicaSessionId(route.replica ?? 0, upstream) : upstream;
    const sseStream = !ssePrefix
      ? undefined
      : req.method === "GET"
        ? legacySse.open(stream, owner, ssePrefix, res, policy.streamRewrite(req, conn.instance))
        : [sseEndpointRewriter(ssePrefix)];
    const onSession = (opened: string | undefined, status: number) => {
      if (modern) return;
      if (opened) sessions.record(instanceId, ownerKey(handedOut(opened)), owner);
      if (req.method === "DELETE" && session !== undefined && status < 300) {
        sessions.forget(instanceId, ownerKey(session));
      }
    };
    // a user-supplied endpoint is checked again as it is now (an IP literal never reaches the lookup)
    if (conn.external) fleet.endpointPolicy.checkUrl(url.href, "endpoint");
    proxyRequest(
      req,
      res,
      {
        url,
        conn,
        ...(sseStream ? { sseStream } : {}),
        ...(body ? { body: body.raw } : {}),
        ...(lists ? { lists } : {}),
        onSession,
        ...(modern ? { dropSessionHeader: true } : {}),
        ...(route.prefixSessions && !modern ? { sessionIdOut: handedOut } : {}),
      },
      agents,
      logger,
      () => connections.forget(idOrName),
      limits,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => {
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    const pathname = q >= 0 ? raw.slice(0, q) : raw;
    const query = q >= 0 ? raw.slice(q) : "";
    const isAggregate = pathname === basePath || pathname === `${basePath}/`;
    if (!isAggregate && !pathname.startsWith(`${basePath}/`)) {
      if (next) return next();
      sendJson(res, 404, { jsonrpc: "2.0", id: null, error: { code: JSONRPC_INVALID_REQUEST, message: "Not Found" } });
      return;
    }
    try {
      if (auth && !(await auth(req))) throw new FleetError("UNAUTHORIZED", "unauthorized");
      let body: { raw: Buffer; parsed: unknown; messages: JsonRpcMessage[] } | undefined;
      if (req.method === "POST") {
        const read = await readRpcBody(req, bodyLimit);
        if (!read.ok) {
          sendRpcError(res, read.status, null, read.code, read.message);
          return;
        }
        body = read;
      }
      if (isAggregate) {
        if (!aggregate) throw new FleetError("NOT_FOUND", "the aggregated endpoint is disabled");
        await aggregate.handle(req, res, body);
        return;
      }
      const tail = pathname.slice(basePath.length + 1);
      const slash = tail.indexOf("/");
      let id: string;
      try {
        id = decodeURIComponent(slash >= 0 ? tail.slice(0, slash) : tail);
      } catch {
        throw new FleetError("SPEC_INVALID", "the instance segment of the path is not valid percent-encoding", {
          path: "instance",
        });
      }
      await forward(req, res, id, slash >= 0 ? tail.slice(slash) : "", query, body);
    } catch (err) {
      req.resume();
      sendFleetError(res, err);
    }
  };

  const handler = ((req, res, next) => {
    void handle(req, res, next);
  }) as GatewayHandler;
  let closing: Promise<void> | undefined;
  handler.close = () => {
    closing ??= (async () => {
      connections.close();
      sessions.clear();
      replicas.clear();
      legacySse.clear();
      policy.clear();
      await aggregate?.close();
      destroyAgents(agents);
    })();
    return closing;
  };
  handler[Symbol.asyncDispose] = handler.close;
  return handler;
}
