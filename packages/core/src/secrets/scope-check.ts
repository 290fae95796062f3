import { FleetError, type FleetIssue } from "../errors.js";
import { isSecretRefPart, looksLikeSecretRef, parseSecretRef } from "./secret-ref.js";

/** The scope an instance's own secrets live under: `instance_<id>`. */
export const instanceScope = (instanceId: string): string => `instance_${instanceId}`;

/** Scopes an instance's spec may reference: its own plus those granted (by its server definition, an admin, the fleet). */
export function allowedSecretScopes(instanceId: string, ...grants: Array<readonly string[] | undefined>): Set<string> {
  const scopes = new Set([instanceScope(instanceId)]);
  for (const list of grants) for (const s of list ?? []) scopes.add(s);
  return scopes;
}

/** Validates a list of granted scope names (`secret_scopes` on an instance or a server definition). */
export function parseSecretScopes(value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((s) => !isSecretRefPart(s)) || value.length > 64) {
    throw new FleetError("SPEC_INVALID", `${path} must be at most 64 scope names matching [A-Za-z0-9_.-]+`, {
      path,
      isRetryable: false,
    });
  }
  return [...new Set(value as string[])];
}

function collectRefs(value: unknown, path: string, out: Array<{ path: string; value: string }>, depth: number): void {
  if (depth > 64) return; // parsers refuse deeper documents before this is reached
  if (typeof value === "string") {
    if (looksLikeSecretRef(value)) out.push({ path, value });
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) collectRefs(v, `${path}[${i}]`, out, depth + 1);
  } else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) collectRefs(v, path ? `${path}.${k}` : k, out, depth + 1);
  }
}

/**
 * Refuses every secret ref in `spec` (anywhere: environment, authentication token, headers, an
 * adopter type's fields) whose scope is not in `allowed`, with `SECRET_SCOPE_REFUSED` listing each
 * path. A ref to another instance's scope would hand that instance's secrets to this one.
 */
export function checkSecretScopes(spec: unknown, allowed: ReadonlySet<string>, prefix = "json_spec"): void {
  const refs: Array<{ path: string; value: string }> = [];
  collectRefs(spec, prefix, refs, 0);
  const issues: FleetIssue[] = [];
  for (const r of refs) {
    const { scope } = parseSecretRef(r.value, r.path);
    if (!allowed.has(scope)) {
      issues.push({ path: r.path, message: `secret scope ${scope} is not granted to this instance` });
    }
  }
  if (issues.length > 0) {
    throw new FleetError(
      "SECRET_SCOPE_REFUSED",
      `the spec references secret scopes not granted to this instance (${issues.map((i) => i.path).join(", ")}); ` +
        "an instance may use its own scope, or scopes its server definition (secret_scopes) or an admin grants",
      { path: issues[0]!.path, issues, isRetryable: false },
    );
  }
}
