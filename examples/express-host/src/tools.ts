import type { InstanceConnection } from "@mcpfleet/core";
import { tryLoadExport } from "@mcpfleet/example-host-kit/adapters";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export interface ToolInfo {
  name: string;
  description?: string;
  inputSchema?: unknown;
  [key: string]: unknown;
}

type McpListTools = (
  target: { endpoint: string; transport?: string; headers?: Record<string, string> },
  options: { signal?: AbortSignal; timeoutMs?: number },
) => Promise<ToolInfo[]>;
let layer: Promise<McpListTools | undefined> | undefined;

/** `tools/list` through @mcpfleet/mcp's `listTools` when that package provides it, else the SDK client below. */
export async function listTools(
  conn: InstanceConnection,
  signal: AbortSignal,
  timeoutMs = 15_000,
): Promise<ToolInfo[]> {
  layer ??= tryLoadExport<McpListTools>("@mcpfleet/mcp", "listTools");
  const viaMcp = await layer;
  if (viaMcp) {
    return viaMcp(
      { endpoint: conn.endpoint, transport: conn.transport, headers: conn.headers },
      { signal, timeoutMs: conn.timeoutMs ?? timeoutMs },
    );
  }
  return listToolsWithSdk(conn, signal, timeoutMs);
}

/**
 * Lists an instance's tools with the MCP SDK client (initialize, then tools/list, following
 * pagination), sending the instance's resolved upstream headers. Bounded by the signal.
 */
export async function listToolsWithSdk(
  conn: InstanceConnection,
  signal: AbortSignal,
  timeoutMs = 15_000,
): Promise<ToolInfo[]> {
  const url = new URL(conn.endpoint);
  const requestInit = { headers: conn.headers };
  const transport =
    conn.transport === "sse"
      ? new SSEClientTransport(url, { requestInit })
      : new StreamableHTTPClientTransport(url, { requestInit });
  const client = new Client({ name: "mcpfleet-host", version: "0.1.0" });
  const timeout = AbortSignal.timeout(conn.timeoutMs ?? timeoutMs);
  const both = AbortSignal.any([signal, timeout]);
  try {
    await client.connect(transport, { signal: both });
    const tools: ToolInfo[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const r = await client.listTools(cursor ? { cursor } : {}, { signal: both });
      tools.push(...(r.tools as ToolInfo[]));
      cursor = r.nextCursor;
      if (!cursor) break;
    }
    return tools;
  } finally {
    await client.close().catch(() => {});
  }
}
