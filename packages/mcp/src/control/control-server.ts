import type { IncomingMessage, ServerResponse } from "node:http";
import type { Fleet, Instance, Logger } from "@mcpfleet/core";
import { FleetError, INSTANCE_STATUSES, instanceView, silentLogger, visibleEndpoint } from "@mcpfleet/core";
import { type CallToolResult, createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { sendWebResponse, toWebRequest } from "../aggregate/web-bridge.js";
import { sendRpcError } from "../bridge/http-util.js";
import { JSONRPC_INTERNAL_ERROR } from "../jsonrpc.js";
import { instanceDecision, instanceFacts } from "../policy/evaluate.js";
import {
  authInfoOf,
  type McpPrincipal,
  type McpRole,
  policyNameOf,
  principalOf,
  principalOfAuthInfo,
  roleAllows,
} from "../principal.js";
import { readRpcBody } from "../rpc-body.js";

const STATUSES = INSTANCE_STATUSES;

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
    command: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe("program (string, with args) or argv array"),
    args: z.array(z.string()).optional(),
    env: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .describe("alias of environment"),
    transport: z.enum(["streamable-http", "sse", "stdio"]).optional(),
    port: z.number().int().optional(),
    environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .describe("Instance spec in wire form (snake_case), secret values as refs or passed in `secrets`");

const idInput = { id: z.string().min(1).describe("Instance id or name") };

/** Instances (and lists of them) with the internal endpoints runtimes report hidden. */
function hideInternalEndpoints(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hideInternalEndpoints);
  if (value && typeof value === "object" && "json_spec" in value && "endpoint" in value)
    return instanceView(value as Instance);
  return value;
}

function ok(value: unknown): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }] };
}

function failure(err: unknown): CallToolResult {
  const fe = FleetError.isInstance(err) ? err : new FleetError("INTERNAL", "internal error");
  return { isError: true, content: [{ type: "text", text: JSON.stringify({ error: fe.toJSON() }) }] };
}

async function run(fn: () => Promise<unknown>): Promise<CallToolResult> {
  try {
    return ok(hideInternalEndpoints(await fn()));
  } catch (err) {
    return failure(err);
  }
}

export interface ControlServerOptions {
  name?: string;
  version?: string;
  /** Default number of log lines `instance_logs` returns (default 100). */
  defaultLogTail?: number;
  /**
   * Who calls. Only the tools this principal's role allows are registered (so `tools/list` shows
   * just those); without one the server has every tool: mount it behind your own authentication.
   */
  principal?: McpPrincipal;
  /** Extra checks on `create_instance` (e.g. admin-only spec types); throw a FleetError to refuse. */
  authorizeCreate?: (principal: McpPrincipal, input: Record<string, unknown>) => void | Promise<void>;
}

/** The role each control-plane tool needs: the role of its REST operation. */
export const CONTROL_TOOL_ROLES = {
  list_servers: "viewer",
  register_server: "admin",
  list_instances: "viewer",
  create_instance: "operator",
  get_instance: "viewer",
  start_instance: "operator",
  stop_instance: "operator",
  delete_instance: "operator",
  instance_status: "viewer",
  instance_logs: "viewer",
} as const satisfies Record<string, McpRole>;
export type ControlToolName = keyof typeof CONTROL_TOOL_ROLES;

const FULL_ACCESS: McpPrincipal = { id: "local", role: "admin" };

/** An MCP server whose tools are the fleet's operations, so agents can drive the fleet. */
export function createControlServer(fleet: Fleet, options: ControlServerOptions = {}): McpServer {
  const server = new McpServer({ name: options.name ?? "mcpfleet-control", version: options.version ?? "0.1.0" });
  const { instances, servers } = fleet;
  const principal = options.principal ?? FULL_ACCESS;
  const may = (tool: ControlToolName) => roleAllows(principal.role, CONTROL_TOOL_ROLES[tool]);
  const tool = (name: ControlToolName, register: () => void) => {
    if (may(name)) register();
  };
  // a principal whose policy limits it to some instances reaches only those here too (as on /mcp)
  const permits = (inst: Pick<Instance, "id" | "name" | "server_spec_id" | "json_spec">) =>
    !principal.policy || instanceDecision(principal.policy, instanceFacts(inst)).allowed;
  const scoped = async (id: string): Promise<Instance> => {
    const inst = await instances.get(id);
    if (!permits(inst))
      throw new FleetError("FORBIDDEN", `policy "${policyNameOf(principal)}" refuses instance ${inst.name}`, {
        path: "id",
      });
    return inst;
  };

  tool("list_servers", () =>
    server.registerTool(
      "list_servers",
      { description: "List registered MCP server definitions", inputSchema: {} },
      () => run(() => servers.list()),
    ),
  );
  tool("register_server", () =>
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
    ),
  );
  tool("list_instances", () =>
    server.registerTool(
      "list_instances",
      {
        description: "List instances, optionally by status",
        inputSchema: { status: z.enum(STATUSES).optional(), server_spec_id: z.string().optional() },
      },
      (args) =>
        run(async () =>
          (
            await instances.list({
              ...(args.status ? { status: args.status } : {}),
              ...(args.server_spec_id ? { server_spec_id: args.server_spec_id } : {}),
            })
          ).filter(permits),
        ),
    ),
  );
  tool("create_instance", () =>
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
      (args) =>
        run(async () => {
          await options.authorizeCreate?.(principal, args as Record<string, unknown>);
          const proposed = {
            id: "",
            name: args.name,
            server_spec_id: args.server_spec_id ?? null,
            json_spec: args.json_spec,
          };
          if (!permits(proposed as never))
            throw new FleetError("FORBIDDEN", `policy "${policyNameOf(principal)}" refuses instance ${args.name}`, {
              path: "name",
            });
          return instances.create(args);
        }),
    ),
  );
  tool("get_instance", () =>
    server.registerTool("get_instance", { description: "Get one instance", inputSchema: idInput }, ({ id }) =>
      run(() => scoped(id)),
    ),
  );
  for (const [name, verb, act] of [
    ["start_instance", "Start", (id: string) => instances.start(id)],
    ["stop_instance", "Stop", (id: string) => instances.stop(id)],
    ["delete_instance", "Delete", (id: string) => instances.delete(id)],
  ] as const) {
    tool(name, () =>
      server.registerTool(name, { description: `${verb} an instance`, inputSchema: idInput }, ({ id }) =>
        run(async () => act((await scoped(id)).id)),
      ),
    );
  }
  tool("instance_status", () =>
    server.registerTool(
      "instance_status",
      { description: "Status and reason of an instance (the endpoint of url instances only)", inputSchema: idInput },
      ({ id }) =>
        run(async () => {
          const i = await scoped(id);
          return {
            id: i.id,
            name: i.name,
            status: i.status,
            status_reason: i.status_reason ?? null,
            desired_state: i.desired_state,
            // internal endpoints (stdio bridges, local ports) are for the gateway, not for every key holder
            // (a url instance's endpoint is its spec's; null for the rest, for every role)
            endpoint: visibleEndpoint(i),
            restart_count: i.restart_count,
          };
        }),
    ),
  );
  tool("instance_logs", () =>
    server.registerTool(
      "instance_logs",
      {
        description: "Last log lines of an instance",
        inputSchema: { ...idInput, tail: z.number().int().min(1).max(10_000).optional() },
      },
      ({ id, tail }) =>
        run(async () => {
          const inst = await scoped(id);
          const lines = [];
          for await (const l of instances.logs(inst.id, { tail: tail ?? options.defaultLogTail ?? 100 })) lines.push(l);
          return lines;
        }),
    ),
  );
  return server;
}

/**
 * Serves the control server on the MCP SDK's v2 line: 2026-07-28 requests statelessly, 2025 clients
 * through the SDK's stateless legacy leg, one server per request. The caller is the principal the
 * host put on the request (`principalOf`: the SDK's `req.auth`); a request without one gets every
 * tool, so mount this behind authentication.
 */
export function controlServerHandler(
  fleet: Fleet,
  options: Omit<ControlServerOptions, "principal"> & { logger?: Logger; bodyLimit?: number } = {},
) {
  const logger = (options.logger ?? fleet.logger ?? silentLogger()).child({ component: "control-server" });
  const handler = createMcpHandler(
    (ctx) => {
      const principal = principalOfAuthInfo(ctx.authInfo);
      return createControlServer(fleet, { ...options, ...(principal ? { principal } : {}) });
    },
    {
      legacy: "stateless",
      ...(options.bodyLimit ? { maxRequestBodySize: options.bodyLimit } : {}),
      onerror: (err) => logger.debug({ err: err.message }, "control server: request refused"),
    },
  );
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: { raw: Buffer; parsed: unknown } | undefined;
    if (req.method === "POST") {
      const read = await readRpcBody(req, options.bodyLimit);
      if (!read.ok) {
        sendRpcError(res, read.status, null, read.code, read.message);
        return;
      }
      body = read;
    }
    const authInfo = authInfoOf(principalOf(req));
    try {
      const response = await handler.fetch(toWebRequest(req, res, body?.raw), {
        ...(body ? { parsedBody: body.parsed } : {}),
        ...(authInfo ? { authInfo } : {}),
      });
      await sendWebResponse(res, response, req.method);
    } catch (err) {
      logger.error({ err: (err as Error).message }, "control server request failed");
      if (!res.headersSent) sendRpcError(res, 500, null, JSONRPC_INTERNAL_ERROR, "internal error");
    }
  };
  return Object.assign(serve, { close: () => handler.close() });
}
