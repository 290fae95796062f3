import type { IncomingMessage, ServerResponse } from "node:http";
import type { Fleet, Logger } from "@mcpfleet/core";
import { FleetError, silentLogger } from "@mcpfleet/core";
import { z } from "zod";
import { sendJson } from "../bridge/http-util.js";
import { JSONRPC_INVALID_REQUEST } from "../jsonrpc.js";
import { loggerSchema, parseOptions } from "../options.js";
import { aggregateHandler } from "./aggregate.js";
import { ConnectionCache } from "./connections.js";
import { sendFleetError } from "./http-errors.js";
import { createAgents, proxyRequest } from "./proxy.js";
import { ToolCatalog } from "./tool-catalog.js";

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
  /** How long a resolved connection is reused (default 2000 ms; fleet events clear it). */
  connectionTtlMs: z.number().int().nonnegative().optional(),
  /** Upstream keep-alive sockets per origin (default 256). */
  maxSockets: z.number().int().positive().optional(),
  /** Timeout of the aggregated endpoint's upstream listing calls (default 10000 ms). */
  upstreamTimeoutMs: z.number().int().positive().optional(),
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
  const agents = createAgents(opts.maxSockets ?? 256);
  const catalog =
    opts.aggregate === false ? undefined : new ToolCatalog(fleet, logger, opts.upstreamTimeoutMs ?? 10_000);
  const aggregate = catalog ? aggregateHandler(catalog, logger) : undefined;
  const auth = opts.auth as GatewayOptions["auth"];

  const forward = async (req: IncomingMessage, res: ServerResponse, idOrName: string, rest: string, query: string) => {
    const conn = await connections.get(idOrName);
    if (conn.url.protocol !== "http:" && conn.url.protocol !== "https:") {
      throw new FleetError("UNSUPPORTED", `instance ${conn.instance.name} has no HTTP endpoint`);
    }
    let url: URL;
    let ssePrefix: string | undefined;
    if (rest) {
      if (conn.transport !== "sse" || !rest.startsWith(`/${SSE_PASSTHROUGH}/`)) {
        throw new FleetError("NOT_FOUND", "no such path on this instance route");
      }
      url = new URL(rest.slice(SSE_PASSTHROUGH.length + 1) + query, conn.endpoint);
    } else {
      url = conn.url;
      if (query) {
        url = new URL(conn.url);
        url.search = query;
      }
      if (conn.transport === "sse") {
        const original = (req as IncomingMessage & { originalUrl?: string }).originalUrl;
        const mount =
          original && req.url && original.endsWith(req.url) ? original.slice(0, original.length - req.url.length) : "";
        ssePrefix = `${mount}${basePath}/${encodeURIComponent(idOrName)}/${SSE_PASSTHROUGH}`;
      }
    }
    proxyRequest(req, res, { url, conn, ssePrefix }, agents, logger, () => connections.forget(idOrName));
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
      if (isAggregate) {
        if (!aggregate) throw new FleetError("NOT_FOUND", "the aggregated endpoint is disabled");
        await aggregate(req, res);
        return;
      }
      const tail = pathname.slice(basePath.length + 1);
      const slash = tail.indexOf("/");
      const id = decodeURIComponent(slash >= 0 ? tail.slice(0, slash) : tail);
      await forward(req, res, id, slash >= 0 ? tail.slice(slash) : "", query);
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
      await catalog?.close();
      agents.http.destroy();
      agents.https.destroy();
    })();
    return closing;
  };
  handler[Symbol.asyncDispose] = handler.close;
  return handler;
}
