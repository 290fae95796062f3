import { specInvalid } from "../errors.js";
import type { SecretRef } from "../plugins/secret-store.js";

export const SECRET_REF_PREFIX = "secret_ref:";
const PART = /^[A-Za-z0-9_.-]+$/;
const REF = /^secret_ref:([A-Za-z0-9_.-]+):([A-Za-z0-9_.-]+)$/;

/** True when `value` is a well-formed `secret_ref:<scope>:<key>` string. */
export function isSecretRef(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(SECRET_REF_PREFIX) && REF.test(value);
}

/** True when `value` starts like a ref (well-formed or not): such strings are never literals. */
export function looksLikeSecretRef(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(SECRET_REF_PREFIX);
}

/**
 * Parses `secret_ref:<scope>:<key>` (scope and key `[A-Za-z0-9_.-]+`). Anything else throws
 * `SPEC_INVALID` at `path` (the input is not echoed: it may be a secret value).
 */
export function parseSecretRef(value: unknown, path = "secret_ref"): SecretRef {
  const m = typeof value === "string" ? REF.exec(value) : null;
  if (!m) {
    throw specInvalid(
      [{ path, message: "must be a secret reference secret_ref:<scope>:<key> with scope and key of [A-Za-z0-9_.-]" }],
      "secret reference",
    );
  }
  return { scope: m[1] as string, key: m[2] as string };
}

/** Formats a ref; invalid scope or key throws `SPEC_INVALID`. */
export function formatSecretRef(ref: SecretRef): string {
  const issues = [];
  if (typeof ref?.scope !== "string" || !PART.test(ref.scope))
    issues.push({ path: "scope", message: "must match [A-Za-z0-9_.-]+" });
  if (typeof ref?.key !== "string" || !PART.test(ref.key))
    issues.push({ path: "key", message: "must match [A-Za-z0-9_.-]+" });
  if (issues.length > 0) throw specInvalid(issues, "secret reference");
  return `${SECRET_REF_PREFIX}${ref.scope}:${ref.key}`;
}

/** True when `s` is a valid scope or key. */
export function isSecretRefPart(s: unknown): s is string {
  return typeof s === "string" && PART.test(s);
}
