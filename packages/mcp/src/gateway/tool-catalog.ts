import type { Fleet, Logger } from "@mcpfleet/core";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { closeClient, connectClient } from "../probe/client.js";

/** Separator between instance name and tool name in aggregated tool names. */
export const TOOL_SEPARATOR = "__";

interface Upstream {
  instanceId: string;
  name: string;
  client?: Client;
  tools: Tool[];
  stale: boolean;
}

interface Route {
  upstream: Upstream;
  tool: Tool;
}

/**
 * The tools of every running instance, named `<instance>__<tool>`. Names that two instances would
 * both produce are refused (logged and left out). Refreshed lazily after a fleet event or an
 * upstream `notifications/tools/list_changed`.
 */
export class ToolCatalog {
  private upstreams = new Map<string, Upstream>();
  private routes = new Map<string, Route>();
  private dirty = true;
  private refreshing: Promise<void> | undefined;
  private unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly fleet: Fleet,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {
    this.unsubscribe = fleet.subscribe((ev) => {
      if (ev.type.startsWith("MCPServerInstance")) {
        this.dirty = true;
        const u = this.upstreams.get(ev.subject);
        if (u && ev.type !== "MCPServerInstanceStatusChanged") u.stale = true;
        if (u && ev.data.status && ev.data.status !== "running") u.stale = true;
      }
    });
  }

  async tools(): Promise<Tool[]> {
    await this.ensureFresh();
    return [...this.routes.entries()].map(([name, r]) => ({ ...r.tool, name }));
  }

  async call(name: string, args: Record<string, unknown> | undefined, signal?: AbortSignal): Promise<CallToolResult> {
    await this.ensureFresh();
    let route = this.routes.get(name);
    if (!route) {
      this.dirty = true;
      await this.ensureFresh();
      route = this.routes.get(name);
    }
    if (!route?.upstream.client) return { isError: true, content: [{ type: "text", text: `unknown tool "${name}"` }] };
    try {
      return (await route.upstream.client.callTool({ name: route.tool.name, arguments: args }, undefined, {
        signal,
        timeout: 60_000,
        resetTimeoutOnProgress: true,
      })) as CallToolResult;
    } catch (err) {
      route.upstream.stale = true;
      this.dirty = true;
      return {
        isError: true,
        content: [{ type: "text", text: `instance "${route.upstream.name}" failed: ${(err as Error).message}` }],
      };
    }
  }

  private ensureFresh(): Promise<void> {
    if (!this.dirty) return Promise.resolve();
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refresh(): Promise<void> {
    this.dirty = false;
    const running = (await this.fleet.instances.list({ status: "running" })).filter((i) => i.status === "running");
    const keep = new Set(running.map((i) => i.id));
    for (const [id, u] of this.upstreams) {
      if (!keep.has(id)) {
        this.upstreams.delete(id);
        if (u.client) void closeClient(u.client);
      }
    }
    await Promise.all(
      running.map(async (inst) => {
        let u = this.upstreams.get(inst.id);
        if (u && !u.stale && u.name === inst.name && u.client) return;
        if (u?.client) void closeClient(u.client);
        u = { instanceId: inst.id, name: inst.name, tools: [], stale: false };
        this.upstreams.set(inst.id, u);
        try {
          const conn = await this.fleet.connection(inst.id);
          const client = await connectClient(conn, {
            timeoutMs: this.timeoutMs,
            clientInfo: { name: "mcpfleet-gateway", version: "0.1.0" },
          });
          const upstream = u;
          client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
            upstream.stale = true;
            this.dirty = true;
          });
          u.client = client;
          u.tools = (await client.listTools(undefined, { timeout: this.timeoutMs })).tools;
        } catch (err) {
          u.stale = true;
          this.dirty = true;
          this.logger.warn(
            { instanceId: inst.id, err: (err as Error).message },
            "aggregated endpoint cannot list tools of instance",
          );
        }
      }),
    );
    if (this.closed) return;
    this.rebuild();
  }

  private rebuild(): void {
    const candidates = new Map<string, Route[]>();
    for (const u of this.upstreams.values()) {
      for (const tool of u.tools) {
        const name = `${u.name}${TOOL_SEPARATOR}${tool.name}`;
        candidates.set(name, [...(candidates.get(name) ?? []), { upstream: u, tool }]);
      }
    }
    this.routes.clear();
    for (const [name, list] of candidates) {
      if (list.length === 1) this.routes.set(name, list[0]!);
      else
        this.logger.warn(
          { tool: name, instances: list.map((r) => r.upstream.name) },
          "aggregated tool name collision: tool refused",
        );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    await Promise.all([...this.upstreams.values()].map((u) => (u.client ? closeClient(u.client) : undefined)));
    this.upstreams.clear();
    this.routes.clear();
  }
}
