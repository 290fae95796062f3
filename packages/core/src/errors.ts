/** Stable error codes. Adding a code is a minor change; renaming one is breaking. */
export type FleetErrorCode =
  | "SPEC_INVALID"
  | "OPTIONS_INVALID"
  | "SECRET_NOT_FOUND"
  | "SECRET_ACCESS_DENIED"
  | "SECRET_STORE_UNAVAILABLE"
  | "SECRET_STORE_READ_ONLY"
  | "SECRET_LITERAL_REFUSED"
  | "SECRET_SCOPE_REFUSED"
  | "INVALID_TRANSITION"
  | "RUNTIME_UNAVAILABLE"
  | "DEPLOY_FAILED"
  | "HOST_PATH_REFUSED"
  | "SANDBOX_UNAVAILABLE"
  | "ENDPOINT_REFUSED"
  | "UNSUPPORTED"
  | "CONFLICT"
  | "FENCED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "IN_USE"
  | "BUS_UNAVAILABLE"
  | "STORE_UNAVAILABLE"
  | "BUFFER_FULL"
  | "TIMEOUT"
  | "ABORTED"
  | "CLOSED"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "RATE_LIMITED"
  | "INTERNAL";

/** One validation problem: a JSON path (`json_spec.port`, `environment.API_KEY`) and a message. */
export interface FleetIssue {
  path: string;
  message: string;
}

export interface FleetErrorOptions {
  /** JSON path or resource path the error is about. */
  path?: string;
  issues?: FleetIssue[];
  isRetryable?: boolean;
  cause?: unknown;
  /** Extra structured, non-secret details. */
  details?: Record<string, unknown>;
}

const MARKER = Symbol.for("mcpfleet.error");

/**
 * The one error type mcpfleet throws. Check with `FleetError.isInstance(err)` (works across
 * package copies), switch on `code`.
 */
export class FleetError extends Error {
  readonly [MARKER] = true;
  readonly code: FleetErrorCode;
  readonly path: string | undefined;
  readonly issues: FleetIssue[];
  readonly isRetryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: FleetErrorCode, message: string, options: FleetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FleetError";
    this.code = code;
    this.path = options.path;
    this.issues = options.issues ?? (options.path ? [{ path: options.path, message }] : []);
    this.isRetryable = options.isRetryable ?? DEFAULT_RETRYABLE.has(code);
    this.details = options.details;
  }

  static isInstance(value: unknown): value is FleetError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }

  /** Plain JSON form for APIs and logs (never includes `cause`, which may hold foreign data). */
  toJSON(): { code: FleetErrorCode; message: string; path?: string; issues: FleetIssue[]; isRetryable: boolean } {
    return {
      code: this.code,
      message: this.message,
      ...(this.path ? { path: this.path } : {}),
      issues: this.issues,
      isRetryable: this.isRetryable,
    };
  }
}

const DEFAULT_RETRYABLE = new Set<FleetErrorCode>([
  "RUNTIME_UNAVAILABLE",
  "SECRET_STORE_UNAVAILABLE",
  "BUS_UNAVAILABLE",
  "STORE_UNAVAILABLE",
  "TIMEOUT",
  "CONFLICT",
  "DEPLOY_FAILED",
]);

/** A `SPEC_INVALID` error listing every issue. */
export function specInvalid(issues: FleetIssue[], what = "spec"): FleetError {
  const first = issues[0];
  const summary = issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ");
  return new FleetError("SPEC_INVALID", `invalid ${what}: ${summary}`, {
    path: first?.path,
    issues,
    isRetryable: false,
  });
}

/**
 * Wraps anything thrown into a FleetError: a FleetError is returned as is, an `AbortError` becomes
 * `ABORTED`, anything else becomes `fallback` carrying the original message (callers must not pass
 * errors whose message may hold a secret value) with the original as `cause`.
 */
export function toFleetError(err: unknown, fallback: FleetErrorCode = "INTERNAL"): FleetError {
  if (FleetError.isInstance(err)) return err;
  if (err instanceof Error && err.name === "AbortError")
    return new FleetError("ABORTED", "operation aborted", { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new FleetError(fallback, message, { cause: err });
}

/** Throws `ABORTED` if the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new FleetError("ABORTED", "operation aborted", { cause: signal.reason });
}
