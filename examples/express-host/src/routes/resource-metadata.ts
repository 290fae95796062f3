import type { Express, Request, Response } from "express";
import { ROLES } from "../auth/keys.js";
import { scopeOf } from "../http/guard.js";

const WELL_KNOWN = "/.well-known/oauth-protected-resource";

/** The MCP routes' protected resource metadata URL for a request path (RFC 9728 path-suffixed form). */
export function metadataUrlFor(req: Request): string {
  const base = `${req.protocol}://${req.get("host") ?? "localhost"}`;
  const path = req.baseUrl + req.path;
  const route = path.startsWith("/control/mcp")
    ? "/control/mcp"
    : path.startsWith("/mcp")
      ? path.replace(/\/+$/, "")
      : "";
  return `${base}${WELL_KNOWN}${route}`;
}

/**
 * RFC 9728 protected resource metadata of the MCP routes: the resource (the configured audience),
 * the authorization server and the scopes that grant roles. Served at the well-known path and its
 * path-suffixed forms (`/mcp`, `/mcp/<instance>`, `/control/mcp`).
 */
export function mountResourceMetadata(app: Express, o: { issuer: string; audience: string }): void {
  const doc = (_req: Request, res: Response) => {
    res.setHeader("Content-Type", "application/json; charset=utf-8");
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.end(
      JSON.stringify({
        resource: o.audience,
        authorization_servers: [o.issuer],
        scopes_supported: ROLES.map(scopeOf),
        bearer_methods_supported: ["header"],
        resource_name: "mcpfleet host",
      }),
    );
  };
  app.get(WELL_KNOWN, doc);
  app.get(`${WELL_KNOWN}/mcp`, doc);
  app.get(`${WELL_KNOWN}/mcp/*rest`, doc);
  app.get(`${WELL_KNOWN}/control/mcp`, doc);
}
