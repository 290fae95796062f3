import { FleetError } from "@mcpfleet/core";
import { type Principal, roleAllows } from "./keys.js";
import { assertCanCreateSpec } from "./spec-roles.js";

/** Body fields only an admin may set: they widen what an instance can reach. */
export const ADMIN_ONLY_INSTANCE_FIELDS = ["secret_scopes"] as const;

/** Refuses with FORBIDDEN (naming the field) when a non-admin sets an admin-only field. */
export function requireAdminForFields(
  principal: Principal,
  body: Record<string, unknown> | undefined,
  fields: readonly string[] = ADMIN_ONLY_INSTANCE_FIELDS,
): void {
  if (!body || roleAllows(principal.role, "admin")) return;
  for (const f of fields) {
    if (body[f] !== undefined) {
      throw new FleetError("FORBIDDEN", `only admins may set ${f}`, { path: f, isRetryable: false });
    }
  }
}

/**
 * What instance input a principal may send (REST and the control plane alike): admin-only fields
 * and admin-only spec types (`process`, see `canCreateSpec`) are refused with FORBIDDEN naming the path.
 */
export function authorizeInstanceInput(principal: Principal, input: Record<string, unknown> | undefined): void {
  requireAdminForFields(principal, input);
  if (input?.json_spec !== undefined) assertCanCreateSpec(principal, input.json_spec);
}

/**
 * An instance spec's `tools` filter hides a server's dangerous tools from everyone: only an admin
 * may change or drop it on update (an operator may set one at create, and send it back unchanged).
 */
export function assertToolFilterKept(principal: Principal, current: unknown, next: unknown): void {
  if (next === undefined || roleAllows(principal.role, "admin")) return;
  const toolsOf = (spec: unknown) => JSON.stringify((spec as { tools?: unknown } | null)?.tools ?? null);
  if (toolsOf(current) !== toolsOf(next))
    throw new FleetError("FORBIDDEN", "only admins may change an instance's tool filter", {
      path: "json_spec.tools",
      isRetryable: false,
    });
}
