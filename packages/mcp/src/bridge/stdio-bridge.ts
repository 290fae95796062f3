import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { Logger } from "@mcpfleet/core";
import { FleetError, silentLogger } from "@mcpfleet/core";
import type { ClientCapabilities, Implementation, InitializeResult } from "@modelcontextprotocol/sdk/types.js";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import type { JsonRpcMessage } from "../jsonrpc.js";
import {
  errorResponse,
  isNotification,
  isRequest,
  isResponse,
  JSONRPC_INTERNAL_ERROR,
  JSONRPC_SERVER_GONE,
} from "../jsonrpc.js";
import { parseOptions } from "../options.js";
import { BridgeHttp } from "./bridge-http.js";
import type { ParsedOptions, StdioBridge, StdioBridgeOptions } from "./bridge-types.js";
import { optionsSchema } from "./bridge-types.js";
import type { PostStream } from "./post-stream.js";
import type { BridgeSession, PendingCall, RoutedServerRequest } from "./session.js";
import type { OversizedLine, StdioStreams, UpstreamExit } from "./upstream.js";

export type { StdioBridge, StdioBridgeOptions } from "./bridge-types.js";

import { StdioUpstream } from "./upstream.js";

/**
 * Exposes one stdio MCP server to many Streamable HTTP client sessions. The bridge performs one
 * `initialize` upstream and answers every client's `initialize` from it; request ids and progress
 * tokens are remapped per call so sessions never collide; responses go back to the POST that asked;
 * progress goes to the caller; other notifications fan out to every session's GET stream; a
 * server-to-client request goes to the one session with work in flight, or is refused with a
 * JSON-RPC error when that is ambiguous.
 */
export function createStdioBridge(source: StdioStreams | ChildProcess, options: StdioBridgeOptions = {}): StdioBridge {
  const opts = parseOptions("mcpfleet/mcp bridge", optionsSchema, options);
  return new BridgeCore(source, opts).api;
}

export class BridgeCore {
  readonly logger: Logger;
  readonly sessions = new Map<string, BridgeSession>();
  readonly pending = new Map<number, PendingCall>();
  private readonly progress = new Map<string, number>();
  private readonly serverRequests = new Map<string, RoutedServerRequest>();
  private readonly exitListeners = new Set<(e: UpstreamExit) => void>();
  readonly upstream: StdioUpstream;
  private readonly http: BridgeHttp;
  private nextId = 1;
  private initId = 0;
  private initResult: Promise<InitializeResult>;
  private resolveInit!: (r: InitializeResult) => void;
  private rejectInit!: (e: Error) => void;
  private sweeper: ReturnType<typeof setInterval>;
  exit: UpstreamExit | undefined;
  closed = false;
  droppedMessages = 0;
  readonly api: StdioBridge;

  constructor(
    source: StdioStreams | ChildProcess,
    readonly opts: ParsedOptions,
  ) {
    this.logger = (opts.logger ?? silentLogger()).child({ component: "stdio-bridge" });
    this.initResult = new Promise((resolve, reject) => {
      this.resolveInit = resolve;
      this.rejectInit = reject;
    });
    this.initResult.catch(() => {});
    this.upstream = new StdioUpstream(
      source,
      (m) => this.fromServer(m),
      (line) => {
        // the server's own output may hold anything: hand it over, log only that it happened
        this.logger.debug({ length: line.length }, "non JSON-RPC output on stdout");
        opts.onOutput?.(line);
      },
      (e) => this.onServerEnd(e),
      opts.maxMessageBytes ?? 16 * 1024 * 1024,
      (line) => this.onOversized(line),
    );
    this.http = new BridgeHttp(this, opts.maxBodyBytes ?? 4 * 1024 * 1024);
    this.handshake();
    const idle = opts.sessionIdleMs ?? 30 * 60_000;
    this.sweeper = setInterval(() => this.sweep(idle), Math.min(idle, 60_000));
    this.sweeper.unref();
    const core = this;
    this.api = {
      handle: (req, res) => this.http.handle(req, res),
      initialized: () => this.initResult,
      get sessionCount() {
        return core.sessions.size;
      },
      get pendingCount() {
        return core.pending.size;
      },
      get bufferedBytes() {
        return core.upstream.bufferedBytes;
      },
      get droppedMessages() {
        return core.droppedMessages;
      },
      get exit() {
        return core.exit;
      },
      onExit(listener) {
        if (core.exit) {
          const e = core.exit;
          queueMicrotask(() => listener(e));
          return () => {};
        }
        core.exitListeners.add(listener);
        return () => core.exitListeners.delete(listener);
      },
      close: (serverGone?: string) => this.close(serverGone),
      [Symbol.asyncDispose]: () => this.close(),
    };
  }

  initialized(): Promise<InitializeResult> {
    return this.initResult;
  }

  get maxSessions(): number {
    return this.opts.maxSessions ?? 10_000;
  }

  newSessionId(): string {
    return randomUUID();
  }

  private handshake(): void {
    this.initId = this.nextId++;
    const timeoutMs = this.opts.initializeTimeoutMs ?? 30_000;
    const timer = setTimeout(
      () => this.rejectInit(new FleetError("TIMEOUT", `MCP server did not answer initialize within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    this.initResult.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    this.upstream.send({
      jsonrpc: "2.0",
      id: this.initId,
      method: "initialize",
      params: {
        protocolVersion: LATEST_PROTOCOL_VERSION,
        capabilities: (this.opts.clientCapabilities ?? {}) as ClientCapabilities,
        clientInfo: (this.opts.clientInfo ?? { name: "mcpfleet-bridge", version: "0.1.0" }) satisfies Implementation,
      },
    });
  }

  /** Forwards one client request upstream under a fresh bridge id. */
  forward(session: BridgeSession, msg: JsonRpcMessage, stream: PostStream): void {
    if (this.exit) {
      stream.respond(errorResponse(msg.id, JSONRPC_SERVER_GONE, `MCP server is not running (${this.exit.reason})`));
      return;
    }
    const id = this.nextId++;
    const call: PendingCall = { session, clientId: msg.id as string | number, stream, method: msg.method as string };
    let params = msg.params;
    const meta = params?._meta as Record<string, unknown> | undefined;
    if (meta && meta.progressToken !== undefined) {
      const token = `b${id}`;
      call.progressToken = token;
      this.progress.set(token, id);
      call.originalToken = meta.progressToken;
      params = { ...params, _meta: { ...meta, progressToken: token } };
    }
    this.pending.set(id, call);
    session.pending.add(id);
    session.byClientId.set(call.clientId, id);
    this.upstream.send({ jsonrpc: "2.0", id, method: msg.method, ...(params ? { params } : {}) });
  }

  /** A client notification or a response to a routed server request. */
  fromClient(session: BridgeSession, msg: JsonRpcMessage): void {
    if (isResponse(msg)) {
      const key = String(msg.id);
      const routed = this.serverRequests.get(key);
      if (!routed || routed.session !== session) return;
      this.serverRequests.delete(key);
      session.serverRequests.delete(key);
      this.upstream.send({ ...msg, id: routed.serverId });
      return;
    }
    if (!isNotification(msg)) return;
    if (msg.method === "notifications/initialized") return; // the bridge already sent its own
    if (msg.method === "notifications/cancelled") {
      const clientId = msg.params?.requestId as string | number | undefined;
      const id = clientId === undefined ? undefined : session.byClientId.get(clientId);
      if (id === undefined) return;
      this.settle(id);
      this.upstream.send({ ...msg, params: { ...msg.params, requestId: id } });
      return;
    }
    this.upstream.send(msg);
  }

  private settle(id: number): PendingCall | undefined {
    const call = this.pending.get(id);
    if (!call) return undefined;
    this.pending.delete(id);
    call.session.pending.delete(id);
    call.session.byClientId.delete(call.clientId);
    if (call.progressToken) this.progress.delete(call.progressToken);
    return call;
  }

  private fromServer(msg: JsonRpcMessage): void {
    if (isResponse(msg)) {
      if (msg.id === this.initId) {
        if (msg.error)
          this.rejectInit(new FleetError("DEPLOY_FAILED", `MCP server refused initialize: ${msg.error.message}`));
        else {
          this.resolveInit(msg.result as InitializeResult);
          this.upstream.send({ jsonrpc: "2.0", method: "notifications/initialized" });
        }
        return;
      }
      const call = this.settle(msg.id as number);
      if (call) call.stream.respond({ ...msg, id: call.clientId });
      return;
    }
    if (isRequest(msg)) {
      this.routeServerRequest(msg);
      return;
    }
    if (msg.method === "notifications/progress") {
      const token = String(msg.params?.progressToken);
      const id = this.progress.get(token);
      const call = id === undefined ? undefined : this.pending.get(id);
      if (!call) return;
      const out = { ...msg, params: { ...msg.params, progressToken: call.originalToken } };
      if (!call.stream.relay(out)) call.session.push(out);
      return;
    }
    if (msg.method === "notifications/cancelled") {
      for (const [bridgeId, routed] of this.serverRequests) {
        if (String(routed.serverId) === String(msg.params?.requestId)) {
          this.serverRequests.delete(bridgeId);
          routed.session.serverRequests.delete(bridgeId);
          routed.session.deliver({ ...msg, params: { ...msg.params, requestId: bridgeId } });
          return;
        }
      }
      this.logger.debug({}, "cancellation for an unknown server request");
      return;
    }
    for (const s of this.sessions.values()) s.push(msg);
  }

  private onOversized(line: OversizedLine): void {
    this.droppedMessages += 1;
    const limit = this.opts.maxMessageBytes ?? 16 * 1024 * 1024;
    this.logger.warn({ bytes: line.bytes, limit }, "MCP server message over the size limit dropped");
    const call = typeof line.id === "number" ? this.settle(line.id) : undefined;
    if (!call) return;
    call.stream.respond(
      errorResponse(
        call.clientId,
        JSONRPC_INTERNAL_ERROR,
        `MCP server's answer (${line.bytes} bytes) is larger than the bridge's ${limit}-byte message limit`,
      ),
    );
  }

  private routeServerRequest(msg: JsonRpcMessage): void {
    const busy = new Set<BridgeSession>();
    for (const call of this.pending.values()) busy.add(call.session);
    let target: BridgeSession | undefined;
    if (busy.size === 1) target = [...busy][0];
    else if (busy.size === 0 && this.sessions.size === 1) target = [...this.sessions.values()][0];
    if (target) {
      const bridgeId = `s${this.nextId++}`;
      const routed: RoutedServerRequest = { serverId: msg.id as string | number, session: target };
      const out = { ...msg, id: bridgeId };
      this.serverRequests.set(bridgeId, routed);
      target.serverRequests.add(bridgeId);
      if (target.deliver(out)) return;
      this.serverRequests.delete(bridgeId);
      target.serverRequests.delete(bridgeId);
    }
    const why =
      busy.size > 1
        ? `${busy.size} client sessions have requests in flight, so the request cannot be attributed`
        : "no client session can receive it";
    this.logger.debug({ method: msg.method }, "server-to-client request not routable");
    this.upstream.send(
      errorResponse(msg.id, JSONRPC_INTERNAL_ERROR, `mcpfleet bridge cannot route "${msg.method}": ${why}`),
    );
  }

  /** Drops a session: its in-flight calls are cancelled upstream and answered with an error. */
  dropSession(session: BridgeSession): void {
    this.sessions.delete(session.id);
    for (const id of [...session.pending]) {
      const call = this.settle(id);
      if (!call) continue;
      this.upstream.send({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: id, reason: "client session ended" },
      });
      call.stream.respond(errorResponse(call.clientId, JSONRPC_SERVER_GONE, "client session ended"));
    }
    for (const key of session.serverRequests) {
      const routed = this.serverRequests.get(key);
      this.serverRequests.delete(key);
      if (routed) this.upstream.send(errorResponse(routed.serverId, JSONRPC_INTERNAL_ERROR, "client session ended"));
    }
    session.endGet();
  }

  private sweep(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    for (const s of [...this.sessions.values()]) {
      if (s.lastSeen < cutoff && s.pending.size === 0 && !s.getStream) this.dropSession(s);
    }
  }

  private onServerEnd(exit: UpstreamExit): void {
    this.exit = exit;
    this.logger.warn({ code: exit.code, signal: exit.signal }, "MCP server ended");
    this.rejectInit(new FleetError("RUNTIME_UNAVAILABLE", `MCP server ${exit.reason} before initialize completed`));
    for (const [id, call] of [...this.pending]) {
      this.settle(id);
      call.stream.respond(
        errorResponse(call.clientId, JSONRPC_SERVER_GONE, `MCP server ${exit.reason} before answering`),
      );
    }
    for (const s of [...this.sessions.values()]) this.dropSession(s);
    for (const l of this.exitListeners) {
      try {
        l(exit);
      } catch (err) {
        this.logger.error({ err }, "exit listener threw");
      }
    }
    this.exitListeners.clear();
  }

  async close(serverGone?: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    const message = serverGone ? `MCP server ${serverGone} before answering` : "bridge closed";
    for (const [id, call] of [...this.pending]) {
      this.settle(id);
      call.stream.respond(errorResponse(call.clientId, JSONRPC_SERVER_GONE, message));
    }
    for (const s of [...this.sessions.values()]) this.dropSession(s);
  }
}
