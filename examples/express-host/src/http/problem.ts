import { FleetError, type FleetErrorCode, type FleetIssue, toFleetError } from "@mcpfleet/core";
import type { Response } from "express";

/** HTTP status for each FleetError code. */
export const STATUS_BY_CODE: Record<FleetErrorCode, number> = {
  SPEC_INVALID: 422,
  OPTIONS_INVALID: 422,
  SECRET_NOT_FOUND: 422,
  SECRET_ACCESS_DENIED: 502,
  SECRET_STORE_UNAVAILABLE: 503,
  SECRET_STORE_READ_ONLY: 409,
  SECRET_LITERAL_REFUSED: 422,
  SECRET_SCOPE_REFUSED: 403,
  INVALID_TRANSITION: 409,
  RUNTIME_UNAVAILABLE: 503,
  DEPLOY_FAILED: 502,
  HOST_PATH_REFUSED: 422,
  SANDBOX_UNAVAILABLE: 503,
  ENDPOINT_REFUSED: 422,
  UNSUPPORTED: 501,
  CONFLICT: 409,
  FENCED: 409,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  IN_USE: 409,
  BUS_UNAVAILABLE: 503,
  STORE_UNAVAILABLE: 503,
  BUFFER_FULL: 503,
  TIMEOUT: 504,
  ABORTED: 499,
  CLOSED: 503,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  INTERNAL: 500,
};

const TITLES: Partial<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  499: "Client Closed Request",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: FleetErrorCode;
  /** The JSON path (or resource path) the problem is about, when there is one. */
  path?: string;
  issues: FleetIssue[];
  instance?: string;
  retryable?: boolean;
}

export function problemFrom(err: unknown, status?: number): Problem {
  const fe = toFleetError(err);
  const s = status ?? STATUS_BY_CODE[fe.code] ?? 500;
  // INTERNAL errors come from unexpected throws whose message may carry foreign data: say less.
  const detail = fe.code === "INTERNAL" && !FleetError.isInstance(err) ? "internal error" : fe.message;
  return {
    type: `https://mcpfleet.dev/problems/${fe.code.toLowerCase().replaceAll("_", "-")}`,
    title: TITLES[s] ?? "Error",
    status: s,
    detail,
    code: fe.code,
    ...(fe.path ? { path: fe.path } : {}),
    issues: fe.issues,
    retryable: fe.isRetryable,
  };
}

export function sendProblem(res: Response, err: unknown, status?: number): Problem {
  const p = problemFrom(err, status);
  if (!res.headersSent) {
    res
      .status(p.status)
      .type("application/problem+json")
      .send(JSON.stringify({ ...p, instance: res.req.originalUrl }));
  }
  return p;
}
