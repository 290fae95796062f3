import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createMcpHandler, inputRequired, McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { sendWebResponse, toWebRequest } from "../src/aggregate/web-bridge.js";

/**
 * A 2026-07-28 MCP server built in the test with the SDK's v2 line (it also answers 2025 clients
 * through the SDK's stateless legacy leg): a tool, a tool that asks the client (an `input_required`
 * elicitation round, its own `requestState` echoed), a prompt, a resource.
 */
export async function startModernServer(options: { legacy?: "stateless" | "reject" } = {}): Promise<{
  url: string;
  /** Requests that reached this server: their `Mcp-Method` header and body. */
  seen: Array<{ mcpMethod: string | undefined; body: string }>;
  close(): Promise<void>;
}> {
  const seen: Array<{ mcpMethod: string | undefined; body: string }> = [];
  const handler = createMcpHandler(() => {
    const s = new McpServer({ name: "modern-upstream", version: "1.0.0" });
    s.registerTool(
      "add",
      { description: "Adds two numbers", inputSchema: z.object({ a: z.number(), b: z.number() }) },
      async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }),
    );
    s.registerTool(
      "confirm",
      { description: "Asks the user to confirm", inputSchema: z.object({ what: z.string() }) },
      async ({ what }, ctx) => {
        const answer = ctx.mcpReq.inputResponses?.ok as { action?: string; content?: { yes?: boolean } } | undefined;
        if (!answer) {
          return inputRequired({
            inputRequests: {
              ok: inputRequired.elicit({
                message: `Confirm ${what}?`,
                requestedSchema: { type: "object", properties: { yes: { type: "boolean" } }, required: ["yes"] },
              }),
            },
            requestState: `asked:${what}`,
          }) as never;
        }
        const state = ctx.mcpReq.requestState<string>();
        return {
          content: [{ type: "text", text: `${what}: ${answer.action} yes=${answer.content?.yes} state=${state}` }],
        };
      },
    );
    s.registerPrompt(
      "greet",
      { description: "A greeting", argsSchema: z.object({ who: z.string() }) },
      async ({ who }) => ({ messages: [{ role: "user", content: { type: "text", text: `Hello, ${who}` } }] }),
    );
    s.registerResource("motd", "modern://motd", { mimeType: "text/plain" }, async (uri) => ({
      contents: [{ uri: uri.href, text: "message of the day" }],
    }));
    return s;
  }, options);
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const m = req.headers["mcp-method"];
    seen.push({ mcpMethod: typeof m === "string" ? m : undefined, body: raw.toString("utf8") });
    await sendWebResponse(res, await handler.fetch(toWebRequest(req, res, raw.length ? raw : undefined)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    seen,
    async close() {
      await handler.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
