import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "@mcpfleet/core";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { sendRpcError } from "../bridge/http-util.js";
import { JSONRPC_INTERNAL_ERROR } from "../jsonrpc.js";
import type { ToolCatalog } from "./tool-catalog.js";

/**
 * The aggregated endpoint: a stateless MCP server (one SDK server + transport per HTTP request)
 * whose tools are the catalog's.
 */
export function aggregateHandler(catalog: ToolCatalog, logger: Logger) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const server = new Server({ name: "mcpfleet-gateway", version: "0.1.0" }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: await catalog.tools() }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) =>
      catalog.call(request.params.name, request.params.arguments, extra.signal),
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res);
    } catch (err) {
      logger.error({ err: (err as Error).message }, "aggregated endpoint failed");
      if (!res.headersSent) sendRpcError(res, 500, null, JSONRPC_INTERNAL_ERROR, "internal gateway error");
    }
  };
}
