import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

/**
 * A small real MCP server (SDK, stateless Streamable HTTP) listing exactly the given tool names,
 * duplicates included (what a buggy server may do).
 */
export async function toolServer(tools: string[]) {
  const http = createServer(async (req, res) => {
    const mcp = new Server({ name: "tools", version: "1" }, { capabilities: { tools: {} } });
    mcp.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: tools.map((name) => ({ name, description: name, inputSchema: { type: "object" as const } })),
    }));
    mcp.setRequestHandler(CallToolRequestSchema, async (r) => ({
      content: [{ type: "text", text: `called ${r.params.name}` }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => void mcp.close());
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  });
  return listenMcp(http);
}

/** Listens on 127.0.0.1 (any port): the server's `/mcp` URL and a close that drops open connections. */
export async function listenMcp(http: HttpServer): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: () =>
      new Promise<void>((r) => {
        http.closeAllConnections();
        http.close(() => r());
      }),
  };
}
