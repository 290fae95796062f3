import type { ChildProcess } from "node:child_process";
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
}

export interface ServedBridge {
  /** `http://127.0.0.1:<port>/mcp` */
  url: string;
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
  const { port = 0, host = "127.0.0.1", path = "/mcp", ...bridgeOptions } = options;
  const bridge = createStdioBridge(source, bridgeOptions);
  const server = createServer((req, res) => {
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
  return { url: `http://${host}:${addr.port}${path}`, bridge, close, [Symbol.asyncDispose]: () => close() };
}
