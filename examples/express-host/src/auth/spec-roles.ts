import { FleetError } from "@mcpfleet/core";
import { type Principal, type Role, roleAllows } from "./keys.js";

/**
 * Which role may create or change an instance with a given `json_spec`. A `process` spec runs a
 * command on the host (even sandboxed, it is the host's kernel, CPU and network), so it is
 * admin-only; every other built-in type (containers, URLs) is operator work. Shared by the REST
 * routes and usable by any other entry point that creates instances (the control-plane MCP tools).
 */
export function roleForSpec(spec: unknown): Role {
  const type = typeof spec === "object" && spec !== null ? (spec as { type?: unknown }).type : undefined;
  return type === "process" ? "admin" : "operator";
}

export function canCreateSpec(role: Role, spec: unknown): boolean {
  return roleAllows(role, roleForSpec(spec));
}

/** Throws FORBIDDEN (403) naming the spec type and the role it needs, unless `principal` may create `spec`. */
export function assertCanCreateSpec(principal: Principal, spec: unknown, path = "json_spec.type"): void {
  if (canCreateSpec(principal.role, spec)) return;
  const need = roleForSpec(spec);
  const message = `role ${principal.role} may not create or change a process instance (runs a command on the host; needs ${need})`;
  throw new FleetError("FORBIDDEN", message, {
    path,
    issues: [{ path, message: `process specs need the ${need} role` }],
    isRetryable: false,
    details: { reason: "PROCESS_SPEC_ADMIN_ONLY", needs: need, role: principal.role },
  });
}
