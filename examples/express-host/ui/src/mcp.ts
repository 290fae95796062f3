import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { authHeaders } from "./api.js";

export interface ToolResult {
  content?: Array<{ type: string; text?: string; [k: string]: unknown }>;
  structuredContent?: unknown;
  isError?: boolean;
}

/**
 * Calls one tool through the host's MCP gateway (`/mcp/<instance>`, operator role) with the MCP SDK client:
 * initialize, tools/call, then the session is ended.
 */
export async function callTool(
  instance: string,
  tool: string,
  args: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<ToolResult> {
  const url = new URL(`/mcp/${encodeURIComponent(instance)}`, location.origin);
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: authHeaders() } });
  // output schemas are checked without code generation: the dashboard's CSP has no 'unsafe-eval' (Ajv needs it)
  const client = new Client(
    { name: "mcpfleet-dashboard", version: "0.1.0" },
    { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
  );
  await client.connect(transport, signal ? { signal } : {});
  try {
    return (await client.callTool({ name: tool, arguments: args }, undefined, signal ? { signal } : {})) as ToolResult;
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close().catch(() => {});
  }
}
