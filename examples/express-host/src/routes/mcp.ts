import type { Fleet, Logger } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import { loadExport, tryLoadExport } from "@mcpfleet/example-host-kit/adapters";
import type { HostMetrics } from "@mcpfleet/example-host-kit/metrics";
import type { PolicyDecision } from "@mcpfleet/mcp";
import express, { type Express, type Request, type Response } from "express";
import { authorizeInstanceInput } from "../auth/admin-fields.js";
import type { Principal } from "../auth/keys.js";
import type { GuardDeps } from "../http/guard.js";
import { guard } from "../http/guard.js";
import { bodyWideError, callsOf, captureResponse, outcomesOf } from "../http/mcp-audit.js";
import { sendProblem } from "../http/problem.js";
import { metadataUrlFor } from "./resource-metadata.js";

type Handler = (req: Request, res: Response) => unknown;

export interface McpLayer {
  gateway?: Handler;
  control?: Handler;
  /** Puts the authenticated principal on a request the way the MCP layer reads it (`req.auth`). */
  setPrincipal?: (req: Request, principal: Principal) => void;
  /** The authorization decisions the gateway took on a request (audited). */
  decisionsOf?: (req: Request) => PolicyDecision[];
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
    control = asHandler(
      await factory(fleet, {
        logger: logger.child({ component: "control" }),
        authorizeCreate: (p: Principal, input: Record<string, unknown>) => authorizeInstanceInput(p, input),
      }),
    );
    if (!control) missing.push("controlServerHandler did not return a request handler");
  } catch (err) {
    missing.push(`control plane: ${(err as Error).message}`);
  }
  const setPrincipal = await tryLoadExport<McpLayer["setPrincipal"]>("@mcpfleet/mcp", "setPrincipal");
  const decisionsOf = await tryLoadExport<McpLayer["decisionsOf"]>("@mcpfleet/mcp", "decisionsOf");
  return {
    ...(setPrincipal ? { setPrincipal } : {}),
    ...(decisionsOf ? { decisionsOf } : {}),
    ...(gateway ? { gateway } : {}),
    ...(control ? { control } : {}),
    missing,
    async close() {
      for (const c of closers) await c().catch(() => {});
    },
  };
}

export function mountMcp(
  app: Express,
  layer: McpLayer,
  deps: GuardDeps,
  metrics: HostMetrics,
  bodyLimit: string,
): void {
  // MCP POST bodies are read once here (the gateway and control plane take them as read), so the audit
  // can name each call's method and tool
  const raw = express.raw({ type: () => true, limit: bodyLimit });
  const wrap = (route: string, h: Handler | undefined, what: string) => async (req: Request, res: Response) => {
    if (!h) {
      sendProblem(
        res,
        new FleetError("UNSUPPORTED", `${what} is not available in this build: ${layer.missing.join("; ")}`),
      );
      return;
    }
    if (req.principal) layer.setPrincipal?.(req, req.principal);
    const started = performance.now();
    const end = metrics.gatewayDuration.startTimer({ route });
    const audited = req.method === "POST" || req.method === "DELETE";
    const captured = audited ? captureResponse(res) : undefined;
    res.on("close", () => {
      end({ status: String(res.statusCode) });
      if (res.statusCode >= 500 || !res.writableFinished) metrics.gatewayErrors.inc({ route });
      if (captured)
        auditCalls(deps, req, res, route, captured(), performance.now() - started, layer.decisionsOf?.(req) ?? []);
    });
    try {
      await h(req, res);
    } catch (err) {
      metrics.gatewayErrors.inc({ route });
      sendProblem(res, err);
    }
  };
  const spec = { resourceMetadata: metadataUrlFor };
  app.all(
    "/mcp",
    guard(deps, "operator", "mcpAggregate", spec),
    raw,
    wrap("aggregate", layer.gateway, "the MCP gateway"),
  );
  app.all(
    "/mcp/*rest",
    guard(deps, "operator", "mcpInstance", spec),
    raw,
    wrap("instance", layer.gateway, "the MCP gateway"),
  );
  app.all(
    "/control/mcp",
    guard(deps, "viewer", "mcpControl", spec),
    raw,
    wrap("control", layer.control, "the control-plane MCP server"),
  );
}

/** One audit line per JSON-RPC message of the request, with the outcome its answer carried. */
function auditCalls(
  deps: GuardDeps,
  req: Request,
  res: Response,
  route: string,
  body: string,
  ms: number,
  decisions: PolicyDecision[],
) {
  let target: string | null = null;
  if (route === "instance") {
    try {
      target = decodeURIComponent(req.path.split("/")[2] ?? "") || null;
    } catch {
      target = null;
    }
  }
  const contentType = String(res.getHeader("content-type") ?? "");
  const outcomes = outcomesOf(body, contentType);
  const failedWhole = res.statusCode >= 400 || bodyWideError(body, contentType);
  let parsed: unknown;
  try {
    parsed = Buffer.isBuffer(req.body) && req.body.length > 0 ? JSON.parse(req.body.toString("utf8")) : undefined;
  } catch {
    parsed = undefined;
  }
  const calls = parsed === undefined ? [undefined] : callsOf(parsed);
  for (const call of calls) {
    const outcome =
      call?.id !== undefined && call.id !== null && outcomes.has(call.id)
        ? outcomes.get(call.id)!
        : failedWhole
          ? "error"
          : "ok";
    const d =
      decisions.find((x) => x.method === call?.method && x.item === call?.name) ??
      decisions.find((x) => x.method === null);
    deps.audit.write({
      time: new Date().toISOString(),
      actor: req.principal?.id ?? "unknown",
      role: req.principal?.role ?? null,
      action: `mcp:${route}`,
      method: req.method,
      path: req.path,
      target,
      rpc_method: call?.method ?? null,
      tool: call?.name ?? null,
      arg_keys: call?.argKeys ?? null,
      result: outcome,
      decision: d ? (d.allowed ? "allowed" : "denied") : res.statusCode === 403 ? "denied" : "allowed",
      reason: d?.reason ?? (res.statusCode === 403 ? "forbidden" : `role ${req.principal?.role ?? "none"}`),
      policy: d?.policy ?? req.principal?.policyName ?? null,
      instance: d?.instance ?? target,
      status: res.statusCode,
      duration_ms: Math.round(ms * 10) / 10,
      ...(req.ip ? { ip: req.ip } : {}),
    });
  }
}
