import type { ServerResponse } from "node:http";
import type { JsonRpcId, JsonRpcMessage } from "../jsonrpc.js";
import { writeSse } from "./http-util.js";
import type { PostStream } from "./post-stream.js";

/** One in-flight client request forwarded upstream under a bridge id. */
export interface PendingCall {
  session: BridgeSession;
  clientId: JsonRpcId;
  stream: PostStream;
  method: string;
  progressToken?: string;
  originalToken?: unknown;
}

/** A server-to-client request routed to a session under a bridge id. */
export interface RoutedServerRequest {
  serverId: JsonRpcId;
  session: BridgeSession;
}

/** One HTTP client session (`Mcp-Session-Id`). */
export class BridgeSession {
  /** Bridge ids of this session's in-flight requests. */
  readonly pending = new Set<number>();
  /** client id -> bridge id, for cancellation. */
  readonly byClientId = new Map<JsonRpcId, number>();
  /** Bridge ids of server requests sent to this session. */
  readonly serverRequests = new Set<string>();
  getStream: ServerResponse | undefined;
  lastSeen = Date.now();
  /** Most recent POST stream, for routing unsolicited-but-related messages. */
  lastStream: PostStream | undefined;

  constructor(readonly id: string) {}

  /** Delivers a message outside any POST (standalone GET stream). */
  push(msg: JsonRpcMessage): boolean {
    const s = this.getStream;
    if (!s || s.writableEnded || s.destroyed) return false;
    return writeSse(s, msg);
  }

  /** Best channel for a message related to the session's current work. */
  deliver(msg: JsonRpcMessage): boolean {
    if (this.lastStream?.canStream && this.lastStream.relay(msg)) return true;
    return this.push(msg);
  }

  endGet(): void {
    const s = this.getStream;
    this.getStream = undefined;
    if (s && !s.writableEnded) s.end();
  }
}
