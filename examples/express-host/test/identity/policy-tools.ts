import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

const TOOLS = [
  { name: "list_repos", annotations: { readOnlyHint: true } },
  { name: "create_issue", annotations: { readOnlyHint: false } },
  { name: "delete_repo" },
];

/**
 * The repo server: a read-only tool, a writing tool and a dangerous one; with `extras`, also prompts,
 * resources and resource templates of which one each is secret (`secret-*` / `secret:*`).
 */
function repoServer(calls: string[], extras: boolean): Server {
  const mcp = new Server(
    { name: "repo", version: "1" },
    { capabilities: { tools: {}, ...(extras ? { prompts: {}, resources: {} } : {}) } },
  );
  mcp.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: TOOLS.map((t) => ({ ...t, description: t.name, inputSchema: { type: "object" as const } })),
  }));
  mcp.setRequestHandler(CallToolRequestSchema, async (r) => {
    calls.push(r.params.name);
    return { content: [{ type: "text", text: `called ${r.params.name}` }] };
  });
  if (!extras) return mcp;
  mcp.setRequestHandler(ListPromptsRequestSchema, async () => ({
    prompts: [{ name: "triage" }, { name: "secret-plan" }],
  }));
  mcp.setRequestHandler(GetPromptRequestSchema, async (r) => {
    calls.push(`prompt:${r.params.name}`);
    return { messages: [{ role: "user", content: { type: "text", text: r.params.name } }] };
  });
  mcp.setRequestHandler(ListResourcesRequestSchema, async () => ({
    resources: [
      { uri: "repo:readme", name: "readme" },
      { uri: "secret:deploy-key", name: "deploy key" },
    ],
  }));
  mcp.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: [
      { uriTemplate: "repo:{file}", name: "file" },
      { uriTemplate: "secret:{name}", name: "secret" },
    ],
  }));
  mcp.setRequestHandler(ReadResourceRequestSchema, async (r) => {
    calls.push(`read:${r.params.uri}`);
    return { contents: [{ uri: r.params.uri, text: r.params.uri }] };
  });
  return mcp;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, path: string) {
  const http = createServer(handler);
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}${path}`,
    close: () =>
      new Promise<void>((r) => {
        http.closeAllConnections();
        http.close(() => r());
      }),
  };
}

/** A real MCP server (SDK, stateless) with a read-only tool, a writing tool and a dangerous one; SSE or JSON answers. */
export async function policyToolServer(json: boolean) {
  /** Every tool the server actually ran (what reached it through the gateway). */
  const calls: string[] = [];
  const server = await listen(async (req, res) => {
    const mcp = repoServer(calls, false);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: json });
    res.on("close", () => void mcp.close());
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  }, "/mcp");
  return { calls, ...server };
}

/**
 * The repo server with prompts and resources over the legacy HTTP+SSE transport (SDK
 * `SSEServerTransport`): `GET /sse` opens a session, its answers arrive on that stream.
 */
export async function policySseServer() {
  /** Every tool call, prompt get and resource read that reached the server. */
  const calls: string[] = [];
  const sessions = new Map<string, SSEServerTransport>();
  const server = await listen(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://upstream.invalid");
    if (req.method === "GET" && url.pathname === "/sse") {
      const transport = new SSEServerTransport("/messages", res);
      sessions.set(transport.sessionId, transport);
      res.on("close", () => sessions.delete(transport.sessionId));
      await repoServer(calls, true).connect(transport);
      return;
    }
    const transport = sessions.get(url.searchParams.get("sessionId") ?? "");
    if (req.method === "POST" && url.pathname === "/messages" && transport) {
      await transport.handlePostMessage(req, res);
      return;
    }
    res.writeHead(404).end();
  }, "/sse");
  return { calls, ...server };
}
