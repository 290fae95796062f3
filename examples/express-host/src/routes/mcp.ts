import type { Fleet, Logger } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import type { Express, Request, Response } from "express";
import { loadExport } from "../adapters.js";
import type { GuardDeps } from "../http/guard.js";
import { guard } from "../http/guard.js";
import type { HostMetrics } from "../http/metrics.js";
import { sendProblem } from "../http/problem.js";

type Handler = (req: Request, res: Response) => unknown;

export interface McpLayer {
  gateway?: Handler;
  control?: Handler;
  /** Why a part is missing (reported at start and in 501 problems). */
  missing: string[];
  close(): Promise<void>;
}

/** Loads the gateway and the control-plane handler from @mcpfleet/mcp (optional: missing parts answer 501). */
export async function loadMcpLayer(fleet: Fleet, logger: Logger): Promise<McpLayer> {
  const missing: string[] = [];
  const closers: Array<() => Promise<void>> = [];
  const asHandler = (v: unknown): Handler | undefined => {
    const o = v as { handler?: unknown; handle?: unknown; close?: () => Promise<void> } | null;
    if (o && typeof o.close === "function") closers.push(() => o.close!());
    if (typeof v === "function") return v as Handler;
    if (o && typeof o.handler === "function") return o.handler.bind(o) as Handler;
    if (o && typeof o.handle === "function") return o.handle.bind(o) as Handler;
    return undefined;
  };
  let gateway: Handler | undefined;
  let control: Handler | undefined;
  try {
    const createGateway = await loadExport("@mcpfleet/mcp", "createGateway", "the MCP gateway");
    gateway = asHandler(
      await createGateway(fleet, { logger: logger.child({ component: "gateway" }), basePath: "/mcp" }),
    );
    if (!gateway) missing.push("createGateway did not return a request handler");
  } catch (err) {
    missing.push(`gateway: ${(err as Error).message}`);
  }
  try {
    const factory = await loadExport("@mcpfleet/mcp", "controlServerHandler", "the control-plane MCP server");
    control = asHandler(await factory(fleet, { logger: logger.child({ component: "control" }) }));
    if (!control) missing.push("controlServerHandler did not return a request handler");
  } catch (err) {
    missing.push(`control plane: ${(err as Error).message}`);
  }
  return {
    ...(gateway ? { gateway } : {}),
    ...(control ? { control } : {}),
    missing,
    async close() {
      for (const c of closers) await c().catch(() => {});
    },
  };
}

export function mountMcp(app: Express, layer: McpLayer, deps: GuardDeps, metrics: HostMetrics): void {
  const wrap = (route: string, h: Handler | undefined, what: string) => async (req: Request, res: Response) => {
    if (!h) {
      sendProblem(
        res,
        new FleetError("UNSUPPORTED", `${what} is not available in this build: ${layer.missing.join("; ")}`),
      );
      return;
    }
    const end = metrics.gatewayDuration.startTimer({ route });
    res.on("close", () => {
      end({ status: String(res.statusCode) });
      if (res.statusCode >= 500 || !res.writableFinished) metrics.gatewayErrors.inc({ route });
      // MCP POSTs carry tool calls (the control plane's change the fleet): audit them like REST changes.
      if (req.method === "POST") {
        const target = route === "instance" ? (req.path.split("/")[2] ?? null) : null;
        deps.audit.write({
          time: new Date().toISOString(),
          actor: req.principal?.id ?? "unknown",
          role: req.principal?.role ?? null,
          action: `mcp:${route}`,
          method: req.method,
          path: req.path,
          target: target ? decodeURIComponent(target) : null,
          result: res.statusCode < 400 ? "ok" : "error",
          status: res.statusCode,
          ...(req.ip ? { ip: req.ip } : {}),
        });
      }
    });
    try {
      await h(req, res);
    } catch (err) {
      metrics.gatewayErrors.inc({ route });
      sendProblem(res, err);
    }
  };
  app.all("/mcp", guard(deps, "operator", "mcpAggregate"), wrap("aggregate", layer.gateway, "the MCP gateway"));
  app.all("/mcp/*rest", guard(deps, "operator", "mcpInstance"), wrap("instance", layer.gateway, "the MCP gateway"));
  app.all(
    "/control/mcp",
    guard(deps, "operator", "mcpControl"),
    wrap("control", layer.control, "the control-plane MCP server"),
  );
}
