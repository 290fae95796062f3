import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { instancePath } from "../client/rest.js";
import { CliError, EXIT, usage } from "../errors.js";
import { json, table } from "../output.js";
import type { Ctx } from "./context.js";

interface ToolView {
  name: string;
  description?: string;
  inputSchema?: { properties?: Record<string, unknown>; required?: string[] };
}

export async function tools(ctx: Ctx, args: { instance: string }): Promise<void> {
  const r = await ctx.client.json<{ instance: string; tools: ToolView[] }>(
    "GET",
    instancePath(args.instance, "/tools"),
  );
  if (ctx.json) {
    ctx.io.out(json(r.tools));
    return;
  }
  const rows = r.tools.map((t) => ({
    name: t.name,
    args: Object.keys(t.inputSchema?.properties ?? {})
      .map((k) => (t.inputSchema?.required?.includes(k) ? k : `${k}?`))
      .join(","),
    description: (t.description ?? "").split("\n")[0]!.slice(0, 80),
  }));
  ctx.io.out(
    table(rows, [
      ["tool", "name"],
      ["arguments", "args"],
      ["description", "description"],
    ]),
  );
}

/** `k=v` pairs: a value that parses as JSON (number, boolean, object, quoted string) is taken as such, else a string. */
export function parseArgs(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw usage(`argument "${p}" is not key=value`);
    const raw = p.slice(i + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    out[p.slice(0, i)] = value;
  }
  return out;
}

/** Calls a tool through the host's MCP gateway route `/mcp/<instance>` (operator role), with the SDK client. */
export async function call(ctx: Ctx, args: { instance: string; tool: string; args?: string[] }): Promise<void> {
  const url = new URL(`${ctx.client.target.host}/mcp/${encodeURIComponent(args.instance)}`);
  const headers: Record<string, string> = ctx.client.target.apiKey
    ? { authorization: `Bearer ${ctx.client.target.apiKey}` }
    : {};
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  const client = new Client({ name: "mcpfleet-cli", version: "0.1.0" });
  try {
    try {
      await client.connect(transport);
    } catch (err) {
      throw await connectError(ctx, args.instance, err);
    }
    const result = await client.callTool({ name: args.tool, arguments: parseArgs(args.args ?? []) }, undefined, {
      signal: ctx.signal,
    });
    if (ctx.json) ctx.io.out(json(result));
    else {
      for (const c of (result.content ?? []) as Array<{ type: string; text?: string }>)
        ctx.io.out(c.type === "text" ? `${c.text}\n` : `${json(c)}`);
      if (result.structuredContent && !(result.content as unknown[] | undefined)?.length)
        ctx.io.out(json(result.structuredContent));
    }
    if (result.isError) throw new CliError("TOOL_ERROR", `tool ${args.tool} answered with an error`);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const m = /MCP error (-?\d+): (.*)/s.exec((err as Error).message);
    throw new CliError(m ? `MCP_${m[1]}` : "MCP_ERROR", m ? m[2]! : (err as Error).message, {
      exitCode: EXIT.ERROR,
    });
  } finally {
    await client.close().catch(() => {});
  }
}

/** A failed connect: the host's problem (e.g. NOT_FOUND, FORBIDDEN) when a REST probe of the instance names one. */
async function connectError(ctx: Ctx, instance: string, err: unknown): Promise<CliError> {
  try {
    await ctx.client.json("GET", instancePath(instance, "/status"));
  } catch (problem) {
    if (problem instanceof CliError) return problem;
  }
  const status = /HTTP (\d{3})/.exec((err as Error).message)?.[1];
  return new CliError(
    status === "401" ? "UNAUTHORIZED" : status === "403" ? "FORBIDDEN" : "MCP_CONNECT_FAILED",
    `cannot open an MCP session with ${instance}: ${(err as Error).message}`,
    status ? { status: Number(status) } : { exitCode: EXIT.UNAVAILABLE },
  );
}
