import { randomBytes } from "node:crypto";
import { createRequestStateCodec, type RequestStateCodec, type ServerContext } from "@modelcontextprotocol/server";
import { principalOfAuthInfo } from "../principal.js";

/**
 * What the gateway keeps in a `requestState` it hands a 2026-07-28 client: the instance the round
 * belongs to, the tool, prompt or URI it was for, and either the instance's own state (a modern
 * instance's round, passed through) or the id of a call the gateway holds open (a legacy instance's
 * server-to-client request).
 */
export interface GatewayState {
  instance: string;
  target: string;
  upstream?: string;
  held?: string;
}

export interface RequestStateOptions {
  /** HMAC key shared by every replica that may see a retried round (>= 32 bytes); random per process by default. */
  key?: string | Uint8Array;
  /** How long a minted state is accepted (default 600 s). */
  ttlSeconds?: number;
}

/**
 * The gateway's `requestState` codec: HMAC-SHA256 sealed, expiring, and bound to the principal and
 * the method it was minted for, so a state is useless to anyone else, for anything else, later.
 */
export function gatewayStateCodec(options: RequestStateOptions = {}): RequestStateCodec<GatewayState> {
  return createRequestStateCodec<GatewayState>({
    key: options.key ?? randomBytes(32),
    ttlSeconds: options.ttlSeconds ?? 600,
    bind: (ctx: ServerContext) => `${ctx.mcpReq.method}\0${principalOfAuthInfo(ctx.http?.authInfo)?.id ?? "anonymous"}`,
  });
}
