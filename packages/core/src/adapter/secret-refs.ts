import { FleetError } from "../errors.js";
import type { SecretRef } from "../plugins/secret-store.js";
import { SECRET_REF_PREFIX } from "../secrets/secret-ref.js";

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * A scope or key passed to a store: `[A-Za-z0-9_.-]+`, and never `.` or `..` (stores map scopes to
 * paths). Anything else is `SPEC_INVALID` at `scope`/`key`; the value is not echoed.
 */
export function checkSecretName(value: unknown, what: "scope" | "key"): string {
  if (typeof value !== "string" || !NAME.test(value) || value === "." || value === "..") {
    throw new FleetError("SPEC_INVALID", `invalid secret ${what}: must match [A-Za-z0-9_.-]+`, {
      path: what,
      isRetryable: false,
    });
  }
  return value;
}

/** A ref passed to a store, checked (`SPEC_INVALID` at `ref`, `scope` or `key`) and copied. */
export function checkSecretRef(ref: SecretRef): SecretRef {
  if (typeof ref !== "object" || ref === null) {
    throw new FleetError("SPEC_INVALID", "invalid secret ref", { path: "ref", isRetryable: false });
  }
  return { scope: checkSecretName(ref.scope, "scope"), key: checkSecretName(ref.key, "key") };
}

/** `secret_ref:<scope>:<key>` (for messages: the ref, never the value). */
export function secretRefText(ref: SecretRef): string {
  return `${SECRET_REF_PREFIX}${ref.scope}:${ref.key}`;
}
