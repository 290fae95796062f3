import { randomUUID } from "node:crypto";
import type { Logger } from "@mcpfleet/core";
import { type AuthInfo, type Server, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import { principalOfAuthInfo } from "../principal.js";

/** A resource a session subscribed to, by the form it used: which instance's which own URI it is. */
export interface ResourceSubscription {
  instance: string;
  own: string;
}

interface Session {
  id: string;
  owner: string;
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  subscribed: Map<string, ResourceSubscription>;
  logging: boolean;
  lastUsed: number;
}

export interface LegacySessionsOptions {
  /** A session unused this long is closed (default 30 min). */
  idleMs?: number;
  /** At most this many open sessions (default 10000); `initialize` beyond it is answered 503. */
  maxSessions?: number;
}

const rpcError = (status: number, code: number, message: string) =>
  new Response(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } }), {
    status,
    headers: { "content-type": "application/json" },
  });

/**
 * The sessionful 2025-11-25 leg of the aggregated endpoint: one aggregated server per `Mcp-Session-Id`
 * (over the SDK's streamable HTTP transport: POST, the GET stream, DELETE), so a session gets
 * `list_changed` when the fleet's lists change, the log messages it opted in to, the updates of the
 * resources it subscribed to, and the server-to-client requests of its own calls. A session is
 * usable only by the principal that opened it.
 */
export class LegacySessions {
  private readonly sessions = new Map<string, Session>();
  private readonly sweep: NodeJS.Timeout;
  private readonly idleMs: number;

  constructor(
    private readonly factory: (session: {
      subscribed: Map<string, ResourceSubscription>;
      id: () => string | undefined;
      authInfo: AuthInfo | undefined;
    }) => Server,
    private readonly logger: Logger,
    private readonly options: LegacySessionsOptions & { bodyLimit: number },
  ) {
    this.idleMs = options.idleMs ?? 30 * 60_000;
    this.sweep = setInterval(() => this.closeIdle(), Math.min(this.idleMs, 60_000));
    this.sweep.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The open session `id` if it belongs to `owner` (and is thereby used now); undefined otherwise. */
  lookup(id: string, owner: string): { id: string; server: Server } | undefined {
    const s = this.sessions.get(id);
    if (!s || s.owner !== owner) return undefined;
    s.lastUsed = Date.now();
    return s;
  }

  async handle(request: Request, parsedBody: unknown, authInfo: AuthInfo | undefined): Promise<Response> {
    const owner = principalOfAuthInfo(authInfo)?.id ?? "";
    const id = request.headers.get("mcp-session-id");
    const opts = { ...(parsedBody !== undefined ? { parsedBody } : {}), ...(authInfo ? { authInfo } : {}) };
    if (id) {
      const s = this.sessions.get(id);
      // an unknown, closed or someone else's session: the spec's answer to a stale id (the client re-initializes)
      if (!s || s.owner !== owner) return rpcError(404, -32001, "Session not found");
      s.lastUsed = Date.now();
      return s.transport.handleRequest(request, opts);
    }
    if (request.method !== "POST" || !isInitialize(parsedBody)) {
      return rpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    }
    if (this.sessions.size >= (this.options.maxSessions ?? 10_000)) {
      return rpcError(503, -32000, "too many open sessions on the aggregated endpoint");
    }
    return this.open(owner, authInfo).handleRequest(request, opts);
  }

  private open(owner: string, authInfo: AuthInfo | undefined): WebStandardStreamableHTTPServerTransport {
    const subscribed = new Map<string, ResourceSubscription>();
    let sessionId: string | undefined;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        sessionId = sid;
        this.sessions.set(sid, {
          id: sid,
          owner,
          transport,
          server,
          subscribed,
          logging: false,
          lastUsed: Date.now(),
        });
        this.logger.debug({ sessionId: sid }, "aggregated endpoint: session opened");
      },
      onsessionclosed: (sid) => {
        void this.close(sid);
      },
    });
    const server = this.factory({ subscribed, id: () => sessionId, authInfo });
    server.onclose = () => {
      if (sessionId) this.sessions.delete(sessionId);
    };
    void server.connect(transport);
    return transport;
  }

  /** Marks a session as one that asked for log messages (`logging/setLevel`). */
  wantsLogs(sessionId: string | undefined): void {
    const s = sessionId ? this.sessions.get(sessionId) : undefined;
    if (s) s.logging = true;
  }

  /** Every open session's server (to announce list changes), with its subscriptions and log wish. */
  each(fn: (server: Server, s: { subscribed: Map<string, ResourceSubscription>; logging: boolean }) => void): void {
    for (const s of this.sessions.values()) fn(s.server, s);
  }

  private async close(id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    await s.server.close().catch(() => {});
    this.logger.debug({ sessionId: id }, "aggregated endpoint: session closed");
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const s of this.sessions.values()) if (now - s.lastUsed > this.idleMs) void this.close(s.id);
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweep);
    await Promise.all([...this.sessions.keys()].map((id) => this.close(id)));
  }
}

function isInitialize(body: unknown): boolean {
  const one = Array.isArray(body) ? body[0] : body;
  return typeof one === "object" && one !== null && (one as { method?: unknown }).method === "initialize";
}
