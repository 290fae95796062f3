import { FleetError, type FleetErrorCode } from "@mcpfleet/core";
import { ADAPTER } from "./options.js";

interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
}

/** HTTP status of a client-node error (ApiException `code`, watch errors `statusCode`). */
export function statusOf(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === "number") return e.code;
  if (typeof e.statusCode === "number") return e.statusCode;
  return undefined;
}

function statusBody(err: unknown): StatusBody | undefined {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return undefined;
    }
  }
  return typeof body === "object" && body !== null ? (body as StatusBody) : undefined;
}

export const isNotFound = (err: unknown) => statusOf(err) === 404;

/**
 * Maps a client-node failure to a FleetError. The API server's `Status.message` is kept (it names
 * objects and fields, never Secret data) except for Secret requests, where only the reason is kept.
 * The raw exception is not attached for Secrets either (its request context may hold the body).
 */
export function toK8sError(err: unknown, what: string, opts: { secret?: boolean } = {}): FleetError {
  if (FleetError.isInstance(err)) return err;
  if (err instanceof Error && err.name === "AbortError") {
    return new FleetError("ABORTED", `${ADAPTER} ${what} aborted`);
  }
  const code = statusOf(err);
  const body = statusBody(err);
  const detail = opts.secret ? (body?.reason ?? "") : (body?.message ?? body?.reason ?? "");
  let fleetCode: FleetErrorCode = "RUNTIME_UNAVAILABLE";
  let retryable: boolean | undefined;
  if (code === 401) fleetCode = "UNAUTHORIZED";
  else if (code === 403) fleetCode = "FORBIDDEN";
  else if (code === 404) fleetCode = "NOT_FOUND";
  else if (code === 409) fleetCode = "CONFLICT";
  else if (code === 400 || code === 422) {
    fleetCode = "DEPLOY_FAILED";
    retryable = false;
  } else if (code === 429) fleetCode = "RATE_LIMITED";
  const suffix = code
    ? ` (HTTP ${code}${detail ? `: ${detail}` : ""})`
    : err instanceof Error && !opts.secret
      ? `: ${err.message}`
      : "";
  return new FleetError(fleetCode, `${ADAPTER} ${what} failed${suffix}`, {
    ...(opts.secret ? {} : { cause: err }),
    ...(retryable !== undefined ? { isRetryable: retryable } : {}),
    details: { ...(code ? { status: code } : {}), ...(body?.reason ? { reason: body.reason } : {}) },
  });
}
