import type { ServerResponse } from "node:http";
import { FleetError } from "@mcpfleet/core";
import { sendJson } from "../bridge/http-util.js";
import { JSONRPC_INTERNAL_ERROR, JSONRPC_SERVER_GONE } from "../jsonrpc.js";

const STATUS: Partial<Record<FleetError["code"], number>> = {
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  ENDPOINT_REFUSED: 403,
  RATE_LIMITED: 429,
  SPEC_INVALID: 400,
  TIMEOUT: 504,
};

/** Sends a FleetError (or anything thrown) as an HTTP status with a JSON-RPC error body. */
export function sendFleetError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (FleetError.isInstance(err)) {
    const status = STATUS[err.code] ?? 503;
    sendJson(res, status, {
      jsonrpc: "2.0",
      id: null,
      error: { code: JSONRPC_SERVER_GONE, message: err.message, data: { code: err.code } },
    });
    return;
  }
  sendJson(res, 502, { jsonrpc: "2.0", id: null, error: { code: JSONRPC_INTERNAL_ERROR, message: "bad gateway" } });
}
