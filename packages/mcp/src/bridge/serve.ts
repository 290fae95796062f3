import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { FleetError } from "@mcpfleet/core";
import { JSONRPC_INVALID_REQUEST } from "../jsonrpc.js";
import { sendRpcError } from "./http-util.js";
import type { StdioBridge, StdioBridgeOptions } from "./stdio-bridge.js";
import { createStdioBridge } from "./stdio-bridge.js";
import type { StdioStreams } from "./upstream.js";

export interface ServeStdioBridgeOptions extends StdioBridgeOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** Path of the MCP endpoint (default `/mcp`). */
  path?: string;
  /**
   * The secret every request must carry in the `x-mcpfleet-bridge-token` header (default: 32 random
   * bytes per bridge). `false` serves without authentication: only for a socket nothing else can reach.
   */
  token?: string | false;
}

/** Header that carries a served bridge's token. */
export const BRIDGE_TOKEN_HEADER = "x-mcpfleet-bridge-token";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** Constant-time check of a request's bridge token. */
function authorised(header: string | string[] | undefined, expected: Buffer): boolean {
  const got = Array.isArray(header) ? header[0] : header;
  if (typeof got !== "string" || got.length === 0) return false;
  return timingSafeEqual(digest(got), expected);
}

export interface ServedBridge {
  /** `http://127.0.0.1:<port>/mcp` */
  url: string;
  /**
   * Headers every request to `url` must carry (the bridge token). A secret: hand it only to the
   * gateway and probes (runtimes report it as `ObservedInstance.endpointHeaders`); never log or show it.
   */
  headers: Record<string, string>;
  bridge: StdioBridge;
  /** Closes the bridge (see `StdioBridge.close`) and the HTTP server. */
  close(serverGone?: string): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Serves a stdio MCP server as Streamable HTTP on loopback. */
export async function serveStdioBridge(
  source: StdioStreams | ChildProcess,
  options: ServeStdioBridgeOptions = {},
): Promise<ServedBridge> {
  const { port = 0, host = "127.0.0.1", path = "/mcp", token: tokenOption, ...bridgeOptions } = options;
  const token = tokenOption === false ? undefined : (tokenOption ?? randomBytes(32).toString("base64url"));
  const expected = token === undefined ? undefined : digest(token);
  const bridge = createStdioBridge(source, bridgeOptions);
  const server = createServer((req, res) => {
    if (expected && !authorised(req.headers[BRIDGE_TOKEN_HEADER], expected)) {
      req.resume();
      sendRpcError(res, 401, null, JSONRPC_INVALID_REQUEST, "Unauthorized: bridge token missing or wrong");
      return;
    }
    const q = req.url?.indexOf("?") ?? -1;
    const pathname = q >= 0 ? req.url!.slice(0, q) : req.url;
    if (pathname !== path) {
      sendRpcError(res, 404, null, JSONRPC_INVALID_REQUEST, "Not Found");
      return;
    }
    bridge.handle(req, res);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new FleetError("RUNTIME_UNAVAILABLE", `bridge cannot listen on ${host}:${port}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const close = (serverGone?: string) => {
    closing ??= (async () => {
      await bridge.close(serverGone);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    })();
    return closing;
  };
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}${path}`,
    headers: token === undefined ? {} : { [BRIDGE_TOKEN_HEADER]: token },
    bridge,
    close,
    [Symbol.asyncDispose]: () => close(),
  };
}
