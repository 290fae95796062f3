import type { IncomingMessage, ServerResponse } from "node:http";
import type { JsonRpcMessage } from "../jsonrpc.js";
import {
  errorResponse,
  isJsonRpcMessage,
  isRequest,
  JSONRPC_INTERNAL_ERROR,
  JSONRPC_INVALID_REQUEST,
  JSONRPC_PARSE_ERROR,
  JSONRPC_SERVER_GONE,
} from "../jsonrpc.js";
import { accepts, readBody, SESSION_HEADER, sendJson, sendRpcError, startSse } from "./http-util.js";
import { PostStream } from "./post-stream.js";
import { BridgeSession } from "./session.js";
import type { BridgeCore } from "./stdio-bridge.js";

/** The Streamable HTTP side of the bridge (POST messages, GET standalone SSE, DELETE session). */
export class BridgeHttp {
  constructor(
    private readonly core: BridgeCore,
    private readonly maxBody: number,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === "POST") {
      this.post(req, res).catch((err: unknown) => {
        this.core.logger.error({ err }, "bridge POST failed");
        sendRpcError(res, 500, null, JSONRPC_INTERNAL_ERROR, "internal bridge error");
      });
      return;
    }
    if (req.method === "GET") {
      this.get(req, res);
      return;
    }
    if (req.method === "DELETE") {
      this.delete(req, res);
      return;
    }
    sendJson(res, 405, errorResponse(null, JSONRPC_INVALID_REQUEST, "method not allowed"), {
      allow: "GET, POST, DELETE",
    });
  }

  private session(req: IncomingMessage, res: ServerResponse): BridgeSession | undefined {
    const raw = req.headers[SESSION_HEADER];
    const id = Array.isArray(raw) ? raw[0] : raw;
    if (!id) {
      sendRpcError(res, 400, null, JSONRPC_INVALID_REQUEST, "Bad Request: Mcp-Session-Id header is required");
      return undefined;
    }
    const session = this.core.sessions.get(id);
    if (!session) {
      sendRpcError(res, 404, null, JSONRPC_SERVER_GONE, "Session not found");
      return undefined;
    }
    session.lastSeen = Date.now();
    return session;
  }

  private async post(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text: string;
    try {
      text = await readBody(req, this.maxBody);
    } catch (err) {
      if ((err as Error).message === "too-large")
        sendRpcError(res, 413, null, JSONRPC_INVALID_REQUEST, "request body too large");
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      sendRpcError(res, 400, null, JSONRPC_PARSE_ERROR, "Parse error: body is not JSON");
      return;
    }
    const batch = Array.isArray(body);
    const messages = (batch ? body : [body]) as unknown[];
    if (messages.length === 0 || !messages.every(isJsonRpcMessage)) {
      sendRpcError(res, 400, null, JSONRPC_INVALID_REQUEST, "Invalid Request: expected JSON-RPC 2.0 message(s)");
      return;
    }
    const msgs = messages as JsonRpcMessage[];
    const init = msgs.find((m) => m.method === "initialize");
    if (init) {
      await this.initialize(init, msgs.length, res);
      return;
    }
    if (this.core.exit) {
      const first = msgs.find(isRequest);
      sendRpcError(res, 503, first?.id, JSONRPC_SERVER_GONE, `MCP server is not running (${this.core.exit.reason})`);
      return;
    }
    const session = this.session(req, res);
    if (!session) return;
    const requests = msgs.filter(isRequest);
    for (const m of msgs) if (!isRequest(m)) this.core.fromClient(session, m);
    if (requests.length === 0) {
      res.writeHead(202).end();
      return;
    }
    const stream = new PostStream(res, requests.length, accepts(req, "text/event-stream"), batch, {
      [SESSION_HEADER]: session.id,
    });
    session.lastStream = stream;
    for (const m of requests) this.core.forward(session, m, stream);
    // a client (or the gateway's timeout) that goes away cancels what it still waits for upstream
    res.on("close", () => {
      if (res.writableFinished) return;
      for (const m of requests) {
        this.core.fromClient(session, {
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId: m.id, reason: "client went away" },
        });
      }
    });
  }

  private async initialize(msg: JsonRpcMessage, count: number, res: ServerResponse): Promise<void> {
    if (count > 1) {
      sendRpcError(res, 400, msg.id, JSONRPC_INVALID_REQUEST, "Invalid Request: initialize must be sent alone");
      return;
    }
    if (this.core.sessions.size >= this.core.maxSessions) {
      sendRpcError(res, 503, msg.id, JSONRPC_INTERNAL_ERROR, "too many sessions");
      return;
    }
    let result: unknown;
    try {
      result = await this.core.initialized();
    } catch (err) {
      sendRpcError(res, 503, msg.id, JSONRPC_SERVER_GONE, (err as Error).message);
      return;
    }
    if (this.core.exit || this.core.closed) {
      sendRpcError(res, 503, msg.id, JSONRPC_SERVER_GONE, "MCP server is not running");
      return;
    }
    const session = new BridgeSession(this.core.newSessionId());
    this.core.sessions.set(session.id, session);
    sendJson(res, 200, { jsonrpc: "2.0", id: msg.id, result }, { [SESSION_HEADER]: session.id });
  }

  private get(req: IncomingMessage, res: ServerResponse): void {
    if (!accepts(req, "text/event-stream")) {
      sendRpcError(res, 406, null, JSONRPC_INVALID_REQUEST, "Not Acceptable: client must accept text/event-stream");
      return;
    }
    const session = this.session(req, res);
    if (!session) return;
    if (session.getStream && !session.getStream.writableEnded) {
      sendRpcError(res, 409, null, JSONRPC_INVALID_REQUEST, "Conflict: only one SSE stream is allowed per session");
      return;
    }
    session.getStream = res;
    startSse(res, { [SESSION_HEADER]: session.id }, true);
    res.on("close", () => {
      if (session.getStream === res) session.getStream = undefined;
    });
  }

  private delete(req: IncomingMessage, res: ServerResponse): void {
    const session = this.session(req, res);
    if (!session) return;
    this.core.dropSession(session);
    res.writeHead(200).end();
  }
}
