/** Minimal JSON-RPC 2.0 shapes used on the wire (kept loose: the bridge forwards what it does not understand). */
export type JsonRpcId = string | number;

export interface JsonRpcMessage {
  jsonrpc: "2.0";
  id?: JsonRpcId | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export const JSONRPC_PARSE_ERROR = -32700;
export const JSONRPC_INVALID_REQUEST = -32600;
export const JSONRPC_INTERNAL_ERROR = -32603;
/** Implementation-defined server error: the upstream MCP server is gone or unreachable. */
export const JSONRPC_SERVER_GONE = -32000;
/** Implementation-defined server error: the principal's authorization policy refuses the request. */
export const JSONRPC_POLICY_DENIED = -32003;

export const isRequest = (m: JsonRpcMessage): boolean =>
  typeof m.method === "string" && m.id !== undefined && m.id !== null;
export const isNotification = (m: JsonRpcMessage): boolean =>
  typeof m.method === "string" && (m.id === undefined || m.id === null);
export const isResponse = (m: JsonRpcMessage): boolean => m.method === undefined && ("result" in m || "error" in m);

export function errorResponse(id: JsonRpcId | null | undefined, code: number, message: string): JsonRpcMessage {
  return { jsonrpc: "2.0", id: id ?? null, error: { code, message } };
}

export function isJsonRpcMessage(v: unknown): v is JsonRpcMessage {
  return typeof v === "object" && v !== null && !Array.isArray(v) && (v as { jsonrpc?: unknown }).jsonrpc === "2.0";
}
