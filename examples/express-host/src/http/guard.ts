import { FleetError } from "@mcpfleet/core";
import type { NextFunction, Request, Response } from "express";
import { type KeyRing, type Principal, type Role, roleAllows } from "../auth/keys.js";
import type { AuditLog } from "./audit.js";
import { sendProblem } from "./problem.js";
import type { RateLimiter } from "./rate-limit.js";

export interface GuardDeps {
  /** Undefined: authentication disabled (every caller is the `anonymous` admin). */
  keys: KeyRing | undefined;
  limiter: RateLimiter;
  audit: AuditLog;
}

declare global {
  namespace Express {
    interface Request {
      principal?: Principal;
    }
  }
}

const ANONYMOUS: Principal = { id: "anonymous", role: "admin" };

export function presentedKey(req: Request): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === "string") {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1]!.trim();
  }
  const x = req.headers["x-api-key"];
  if (typeof x === "string" && x.length > 0) return x.trim();
  return undefined;
}

/**
 * Authenticates (Bearer or X-API-Key), applies the caller's rate limit, then checks the role.
 * Denials are audited with the key id when known; the key itself is never recorded.
 */
export function guard(deps: GuardDeps, need: Role | "public", action: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (need === "public") return next();
    let principal: Principal | undefined;
    if (!deps.keys) principal = ANONYMOUS;
    else {
      const key = presentedKey(req);
      principal = key === undefined ? undefined : deps.keys.verify(key);
      if (!principal) {
        // Unauthenticated callers share one bucket per address, so key guessing is throttled too.
        const limited = deps.limiter.take(`ip:${req.ip}`);
        if (!limited.ok) return tooMany(res, limited.retryAfterS);
        deny(deps, req, res, action, undefined, 401, key === undefined ? "missing API key" : "invalid API key");
        return;
      }
    }
    req.principal = principal;
    const limited = deps.limiter.take(principal.id === "anonymous" ? `ip:${req.ip}` : `key:${principal.id}`);
    if (!limited.ok) return tooMany(res, limited.retryAfterS);
    if (!roleAllows(principal.role, need)) {
      deny(deps, req, res, action, principal, 403, `role ${principal.role} may not ${action} (needs ${need})`);
      return;
    }
    next();
  };
}

function tooMany(res: Response, retryAfterS: number): void {
  res.setHeader("Retry-After", String(retryAfterS));
  sendProblem(
    res,
    new FleetError("RATE_LIMITED", `rate limit exceeded; retry in ${retryAfterS} s`, { isRetryable: true }),
  );
}

function deny(
  deps: GuardDeps,
  req: Request,
  res: Response,
  action: string,
  who: Principal | undefined,
  status: 401 | 403,
  why: string,
) {
  if (status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="mcpfleet"');
  const code = status === 401 ? "UNAUTHORIZED" : "FORBIDDEN";
  sendProblem(res, new FleetError(code, why));
  deps.audit.write({
    time: new Date().toISOString(),
    actor: who?.id ?? "unknown",
    role: who?.role ?? null,
    action,
    method: req.method,
    path: req.path,
    target:
      typeof req.params?.id === "string" ? req.params.id : typeof req.params?.key === "string" ? req.params.key : null,
    result: "denied",
    status,
    code,
    ...(req.ip ? { ip: req.ip } : {}),
  });
}
