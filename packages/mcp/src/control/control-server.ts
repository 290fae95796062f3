import type { IncomingMessage, ServerResponse } from "node:http";
import type { Fleet, Logger } from "@mcpfleet/core";
import { FleetError, silentLogger } from "@mcpfleet/core";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { sendRpcError } from "../bridge/http-util.js";
import { JSONRPC_INTERNAL_ERROR } from "../jsonrpc.js";

const STATUSES = [
  "pending",
  "provisioning",
  "starting",
  "running",
  "unhealthy",
  "stopping",
  "stopped",
  "failed",
  "deleting",
  "deleted",
] as const;

const envEntry = z.object({
  name: z.string().min(1),
  type: z.enum(["string", "integer", "number", "boolean"]),
  description: z.string().optional(),
  required: z.boolean().optional(),
  secret: z.boolean().optional(),
  default: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
});

const jsonSpecInput = z
  .looseObject({
    type: z.string().min(1).describe("docker | container | url | process, or a type an adopter registered"),
    image: z.string().optional(),
    endpoint: z.string().optional(),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    transport: z.enum(["streamable-http", "sse", "stdio"]).optional(),
    port: z.number().int().optional(),
    environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .describe("Instance spec in wire form (snake_case), secret values as refs or passed in `secrets`");

const idInput = { id: z.string().min(1).describe("Instance id or name") };

function ok(value: unknown): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }] };
}

function failure(err: unknown): CallToolResult {
  const fe = FleetError.isInstance(err) ? err : new FleetError("INTERNAL", "internal error");
  return { isError: true, content: [{ type: "text", text: JSON.stringify({ error: fe.toJSON() }) }] };
}

async function run(fn: () => Promise<unknown>): Promise<CallToolResult> {
  try {
    return ok(await fn());
  } catch (err) {
    return failure(err);
  }
}

export interface ControlServerOptions {
  name?: string;
  version?: string;
  /** Default number of log lines `instance_logs` returns (default 100). */
  defaultLogTail?: number;
}

/** An MCP server whose tools are the fleet's operations, so agents can drive the fleet. */
export function createControlServer(fleet: Fleet, options: ControlServerOptions = {}): McpServer {
  const server = new McpServer({ name: options.name ?? "mcpfleet-control", version: options.version ?? "0.1.0" });
  const { instances, servers } = fleet;

  server.registerTool("list_servers", { description: "List registered MCP server definitions", inputSchema: {} }, () =>
    run(() => servers.list()),
  );
  server.registerTool(
    "register_server",
    {
      description: "Register an MCP server definition (image, env schema)",
      inputSchema: {
        name: z.string().min(1),
        description: z.string().optional(),
        docker_image_url: z.string().optional(),
        version: z.string().optional(),
        tags: z.array(z.string()).optional(),
        is_public: z.boolean().optional(),
        env_schema: z.array(envEntry).optional(),
      },
    },
    (def) => run(() => servers.register(def)),
  );
  server.registerTool(
    "list_instances",
    {
      description: "List instances, optionally by status",
      inputSchema: { status: z.enum(STATUSES).optional(), server_spec_id: z.string().optional() },
    },
    (args) =>
      run(() =>
        instances.list({
          ...(args.status ? { status: args.status } : {}),
          ...(args.server_spec_id ? { server_spec_id: args.server_spec_id } : {}),
        }),
      ),
  );
  server.registerTool(
    "create_instance",
    {
      description:
        "Create (and by default start) an instance. Secret values go to the secret store; only refs are kept.",
      inputSchema: {
        name: z.string().min(1),
        description: z.string().optional(),
        server_spec_id: z.string().optional(),
        // validated in full (with JSON paths) by the fleet; the wire schema's refinements have no JSON Schema form
        json_spec: jsonSpecInput,
        secrets: z
          .record(z.string(), z.string())
          .optional()
          .describe("Secret values by env var / AUTH_TOKEN / header name"),
        start: z.boolean().optional(),
      },
    },
    (args) => run(() => instances.create(args)),
  );
  server.registerTool("get_instance", { description: "Get one instance", inputSchema: idInput }, ({ id }) =>
    run(() => instances.get(id)),
  );
  server.registerTool("start_instance", { description: "Start an instance", inputSchema: idInput }, ({ id }) =>
    run(async () => instances.start((await instances.get(id)).id)),
  );
  server.registerTool("stop_instance", { description: "Stop an instance", inputSchema: idInput }, ({ id }) =>
    run(async () => instances.stop((await instances.get(id)).id)),
  );
  server.registerTool("delete_instance", { description: "Delete an instance", inputSchema: idInput }, ({ id }) =>
    run(async () => instances.delete((await instances.get(id)).id)),
  );
  server.registerTool(
    "instance_status",
    { description: "Status, reason and endpoint of an instance", inputSchema: idInput },
    ({ id }) =>
      run(async () => {
        const i = await instances.get(id);
        return {
          id: i.id,
          name: i.name,
          status: i.status,
          status_reason: i.status_reason ?? null,
          desired_state: i.desired_state,
          endpoint: i.endpoint ?? null,
          restart_count: i.restart_count,
        };
      }),
  );
  server.registerTool(
    "instance_logs",
    {
      description: "Last log lines of an instance",
      inputSchema: { ...idInput, tail: z.number().int().min(1).max(10_000).optional() },
    },
    ({ id, tail }) =>
      run(async () => {
        const inst = await instances.get(id);
        const lines = [];
        for await (const l of instances.logs(inst.id, { tail: tail ?? options.defaultLogTail ?? 100 })) lines.push(l);
        return lines;
      }),
  );
  return server;
}

/** Serves the control server over Streamable HTTP (stateless: one server per request). */
export function controlServerHandler(fleet: Fleet, options: ControlServerOptions & { logger?: Logger } = {}) {
  const logger = (options.logger ?? fleet.logger ?? silentLogger()).child({ component: "control-server" });
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const server = createControlServer(fleet, options);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res);
    } catch (err) {
      logger.error({ err: (err as Error).message }, "control server request failed");
      if (!res.headersSent) sendRpcError(res, 500, null, JSONRPC_INTERNAL_ERROR, "internal error");
    }
  };
}
