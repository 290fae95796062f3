import type { IncomingMessage } from "node:http";
import type { AccessPolicy } from "./policy/policy-schema.js";

/** The roles of mcpfleet hosts, weakest first. */
export const MCP_ROLES = ["viewer", "operator", "admin"] as const;
export type McpRole = (typeof MCP_ROLES)[number];

/** Who is calling: a key id or token subject, its role and the policy limiting it. */
export interface McpPrincipal {
  id: string;
  role: McpRole;
  /** The authorization policy limiting what this principal reaches through the gateway (host-validated). */
  policy?: AccessPolicy;
  /** How refusals and audit lines name the policy (default: its `name`, else `principal <id>`). */
  policyName?: string;
}

export const roleAllows = (have: McpRole, need: McpRole): boolean => MCP_ROLES.indexOf(have) >= MCP_ROLES.indexOf(need);

/**
 * The principal a host authenticated, as it put it on the request: `req.auth`, the MCP SDK's
 * `AuthInfo` convention (`clientId` names the principal, `extra.role` its role, `extra.policy` its
 * policy). Undefined when the host set none.
 */
export function principalOf(req: IncomingMessage): McpPrincipal | undefined {
  return principalOfAuthInfo((req as IncomingMessage & { auth?: unknown }).auth);
}

/** Puts a principal on a request the way `principalOf` reads it (for hosts and tests). */
export function setPrincipal(req: IncomingMessage, principal: McpPrincipal, scopes: string[] = []): void {
  (req as IncomingMessage & { auth?: unknown }).auth = { ...authInfoOf(principal), scopes };
}

/** The SDK `AuthInfo` a principal travels as (to the v2 SDK's handlers); undefined for none. */
export function authInfoOf(principal: McpPrincipal | undefined) {
  return principal
    ? {
        token: "",
        clientId: principal.id,
        scopes: [] as string[],
        extra: {
          role: principal.role,
          ...(principal.policy ? { policy: principal.policy } : {}),
          ...(principal.policyName ? { policyName: principal.policyName } : {}),
        },
      }
    : undefined;
}

/** The principal an SDK `AuthInfo` carries (inside v2 server factories). */
export function principalOfAuthInfo(auth: unknown): McpPrincipal | undefined {
  const a = auth as
    | { clientId?: unknown; extra?: { role?: unknown; policy?: unknown; policyName?: unknown } }
    | undefined;
  const role = a?.extra?.role;
  if (typeof a?.clientId !== "string" || !MCP_ROLES.includes(role as McpRole)) return undefined;
  const policy = a.extra?.policy;
  const policyName = a.extra?.policyName;
  return {
    id: a.clientId,
    role: role as McpRole,
    ...(policy && typeof policy === "object" ? { policy: policy as AccessPolicy } : {}),
    ...(typeof policyName === "string" ? { policyName } : {}),
  };
}

/** How refusals name the principal's policy. */
export const policyNameOf = (p: McpPrincipal | undefined): string =>
  p?.policyName ?? p?.policy?.name ?? (p ? `principal ${p.id}` : "gateway");
