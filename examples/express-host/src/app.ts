import { type Catalog, type Fleet, FleetError } from "@mcpfleet/core";
import type { HostConfig } from "@mcpfleet/example-host-kit/config";
import type { HostMetrics } from "@mcpfleet/example-host-kit/metrics";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import { type KeyRing, ROLES } from "./auth/keys.js";
import type { ManagedKeys } from "./auth/managed-keys.js";
import type { OidcVerifier } from "./auth/oidc.js";
import { scopeInstanceOperations } from "./auth/policy-scope.js";
import type { AuditLog } from "./http/audit.js";
import { mountDashboard } from "./http/dashboard.js";
import { docsPage } from "./http/docs-page.js";
import type { GuardDeps } from "./http/guard.js";
import { openApiDocument } from "./http/openapi.js";
import { bodyErrorHandler, mountOperations, type Operation } from "./http/operation.js";
import { sendProblem } from "./http/problem.js";
import { type Limiter, RateLimiter } from "./http/rate-limit.js";
import { catalogOperations } from "./routes/catalog.js";
import { compatOperations } from "./routes/compat.js";
import { containerOperations } from "./routes/containers.js";
import { eventOperations, type FleetEventLog } from "./routes/events.js";
import { importOperations } from "./routes/import.js";
import { instanceOperations } from "./routes/instances.js";
import { keyOperations } from "./routes/keys.js";
import { type McpLayer, mountMcp } from "./routes/mcp.js";
import { mountResourceMetadata } from "./routes/resource-metadata.js";
import { serverOperations } from "./routes/servers.js";

export const HOST_VERSION = "0.1.0";

export interface AppDeps {
  fleet: Fleet;
  config: Pick<HostConfig, "CORS_ORIGINS" | "RATE_LIMIT_RPS" | "RATE_LIMIT_BURST" | "BODY_LIMIT"> &
    Partial<Pick<HostConfig, "FLEET_ROLE" | "COMPAT_PREFIX">>;
  catalog: Catalog;
  keys: KeyRing | undefined;
  managed?: ManagedKeys | undefined;
  oidc?: { verifier: OidcVerifier; audience: string } | undefined;
  audit: AuditLog;
  metrics: HostMetrics;
  mcp: McpLayer;
  /** Feeds `GET /v1/events`. */
  events: FleetEventLog;
  /** Rate limiter of the guard (default: per-process token buckets from RATE_LIMIT_RPS/BURST). */
  limiter?: Limiter;
  /** The built dashboard served at `/ui` (default: this package's `ui/dist`). */
  dashboardDir?: string;
}

const CORS_ALLOW_HEADERS =
  "Authorization, X-API-Key, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID";
const CORS_EXPOSE_HEADERS = "Mcp-Session-Id, Retry-After, X-Total-Count, WWW-Authenticate, Location";

function systemOperations(fleet: Fleet, metrics: HostMetrics, doc: () => Record<string, unknown>): Operation[] {
  return [
    {
      id: "health",
      method: "get",
      path: "/health",
      role: "public",
      tag: "system",
      summary: "Liveness: the process answers",
      handler: async () => ({ status: "ok", role: fleet.role, uptime_s: Math.round(process.uptime()) }),
    },
    {
      id: "ready",
      method: "get",
      path: "/ready",
      role: "public",
      tag: "system",
      summary: "Readiness: store, bus and runtimes reachable (503 when not)",
      handler: async ({ res, signal }) => {
        const r = await fleet.ready({ signal });
        res.status(r.ok ? 200 : 503);
        return { status: r.ok ? "ready" : "not-ready", checks: r.checks };
      },
    },
    {
      id: "metrics",
      method: "get",
      path: "/metrics",
      role: "viewer",
      tag: "system",
      summary: "Prometheus metrics",
      produces: ["text/plain"],
      handler: async ({ res }) => {
        res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
        return undefined;
      },
    },
    {
      id: "whoami",
      method: "get",
      path: "/v1/whoami",
      role: "viewer",
      tag: "system",
      summary: "The caller: key id and role (what the dashboard shows and enables)",
      response: z.object({ id: z.string(), role: z.enum(ROLES) }),
      handler: async ({ principal }) => ({ id: principal.id, role: principal.role }),
    },
    {
      id: "openapi",
      method: "get",
      path: "/openapi.json",
      role: "public",
      tag: "system",
      summary: "This OpenAPI 3.1 document",
      handler: async () => doc(),
    },
    {
      id: "docs",
      method: "get",
      path: "/docs",
      role: "public",
      tag: "system",
      summary: "Human-readable operation list",
      produces: ["text/html"],
      handler: async ({ res }) => {
        res
          .set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
          .type("html")
          .send(docsPage(doc()));
        return undefined;
      },
    },
  ];
}

export function createApp(deps: AppDeps): { app: Express; operations: Operation[] } {
  const { fleet, config, metrics } = deps;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");

  app.use((req: Request, res: Response, next: NextFunction) => {
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("X-Frame-Options", "DENY");
    res.setHeader("Cache-Control", "no-store");
    const origin = req.headers.origin;
    if (origin && (config.CORS_ORIGINS.includes("*") || config.CORS_ORIGINS.includes(origin))) {
      res.setHeader("Access-Control-Allow-Origin", config.CORS_ORIGINS.includes("*") ? "*" : origin);
      res.setHeader("Vary", "Origin");
      res.setHeader("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
      if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
        res.setHeader("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
        res.setHeader("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
        res.setHeader("Access-Control-Max-Age", "600");
        res.status(204).end();
        return;
      }
    }
    const end = metrics.httpDuration.startTimer();
    res.on("finish", () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      end({
        operation: typeof route === "string" ? route : "unmatched",
        method: req.method,
        status: String(res.statusCode),
      });
    });
    next();
  });

  const guardDeps: GuardDeps = {
    keys: deps.keys,
    managed: deps.managed,
    oidc: deps.oidc?.verifier,
    limiter: deps.limiter ?? new RateLimiter(config.RATE_LIMIT_RPS, config.RATE_LIMIT_BURST),
    audit: deps.audit,
  };
  let cachedDoc: Record<string, unknown> | undefined;
  const operations: Operation[] = [];
  const doc = () => (cachedDoc ??= openApiDocument(operations, { version: HOST_VERSION }));
  operations.push(
    ...systemOperations(fleet, metrics, doc),
    ...serverOperations(fleet),
    ...scopeInstanceOperations(
      fleet,
      instanceOperations(fleet, { localRuntimes: (config.FLEET_ROLE ?? "all") === "all" }),
    ),
    ...containerOperations(fleet),
    ...eventOperations(deps.events, deps.fleet),
    ...catalogOperations(fleet, deps.catalog),
    ...importOperations(fleet),
    ...(config.COMPAT_PREFIX ? compatOperations(fleet, config.COMPAT_PREFIX) : []),
    ...keyOperations(deps.managed),
  );
  if (deps.oidc) mountResourceMetadata(app, { issuer: deps.oidc.verifier.issuer, audience: deps.oidc.audience });
  mountOperations(app, operations, guardDeps, config.BODY_LIMIT, deps.fleet.logger.child({ component: "http" }));
  mountMcp(app, deps.mcp, guardDeps, metrics, config.BODY_LIMIT);
  mountDashboard(app, deps.dashboardDir);

  app.use((req: Request, res: Response) => {
    sendProblem(res, new FleetError("NOT_FOUND", `no route ${req.method} ${req.path}`, { path: req.path }));
  });
  app.use(bodyErrorHandler);
  return { app, operations };
}
