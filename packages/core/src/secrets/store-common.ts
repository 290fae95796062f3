import { FleetError, throwIfAborted } from "../errors.js";
import type { CallOptions } from "../plugins/common.js";
import type { SecretRef } from "../plugins/secret-store.js";
import { formatSecretRef, isSecretRefPart } from "./secret-ref.js";

/** Validates a ref passed to a store (`SPEC_INVALID` at `ref`) and returns its string form. */
export function refString(ref: SecretRef): string {
  if (typeof ref !== "object" || ref === null || !isSecretRefPart(ref.scope) || !isSecretRefPart(ref.key)) {
    throw new FleetError("SPEC_INVALID", "invalid secret ref: scope and key must match [A-Za-z0-9_.-]+", {
      path: "ref",
      isRetryable: false,
    });
  }
  return formatSecretRef(ref);
}

export function checkScope(scope: string): void {
  if (!isSecretRefPart(scope)) {
    throw new FleetError("SPEC_INVALID", "invalid secret scope: must match [A-Za-z0-9_.-]+", {
      path: "scope",
      isRetryable: false,
    });
  }
}

export function checkValue(value: unknown): asserts value is string {
  if (typeof value !== "string")
    throw new FleetError("SPEC_INVALID", "secret value must be a string", { path: "value", isRetryable: false });
}

export function notFound(ref: SecretRef, store: string): FleetError {
  return new FleetError("SECRET_NOT_FOUND", `secret ${formatSecretRef(ref)} not found in ${store}`, {
    path: "ref",
    isRetryable: false,
    details: { ref: formatSecretRef(ref) },
  });
}

export function readOnly(store: string, op: string): FleetError {
  return new FleetError("SECRET_STORE_READ_ONLY", `[mcpfleet/${store}] is read-only: ${op} is not supported`, {
    isRetryable: false,
  });
}

/** Throws `CLOSED` after close and `ABORTED` on an aborted signal. */
export function guard(closed: boolean, store: string, options?: CallOptions): void {
  if (closed) throw new FleetError("CLOSED", `[mcpfleet/${store}] secret store is closed`, { isRetryable: false });
  throwIfAborted(options?.signal);
}
