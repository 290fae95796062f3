import { FleetError } from "@mcpfleet/core";
import type { NextFunction, Request, Response } from "express";
import { type KeyRing, type Principal, type Role, roleAllows } from "../auth/keys.js";
import type { ManagedKeys } from "../auth/managed-keys.js";
import { looksLikeJwt, type OidcVerifier } from "../auth/oidc.js";
import type { AuditLog } from "./audit.js";
import { sendProblem } from "./problem.js";
import type { Limiter } from "./rate-limit.js";

export interface GuardDeps {
  /** Static keys (`API_KEYS` or the keys file). All of keys, managed and oidc undefined: authentication disabled. */
  keys: KeyRing | undefined;
  /** Managed keys in the fleet store (AUTH=keys with a store that has a keys repository). */
  managed?: ManagedKeys | undefined;
  /** Bearer JWTs (AUTH=oidc). */
  oidc?: OidcVerifier | undefined;
  limiter: Limiter;
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

/** The OAuth scope that grants a role (named in `insufficient_scope` challenges). */
export const scopeOf = (role: Role): string => `mcpfleet:${role}`;

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

type Authn = { ok: true; principal: Principal } | { ok: false; status: 401 | 403; why: string; token: boolean };

async function authenticate(deps: GuardDeps, req: Request): Promise<Authn> {
  const key = presentedKey(req);
  if (key === undefined) return { ok: false, status: 401, why: "missing credentials", token: false };
  if (deps.oidc && looksLikeJwt(key)) {
    const r = await deps.oidc.verify(key);
    return r.ok ? r : { ok: false, status: r.status, why: r.reason, token: true };
  }
  const principal = deps.keys?.verify(key) ?? (await deps.managed?.verify(key));
  if (principal) return { ok: true, principal };
  return { ok: false, status: 401, why: deps.keys || deps.managed ? "invalid API key" : "invalid token", token: false };
}

export interface GuardOptions {
  /** MCP routes: challenges name the RFC 9728 protected resource metadata document of this path. */
  resourceMetadata?: (req: Request) => string | undefined;
}

/**
 * Authenticates (static or managed API key as Bearer or X-API-Key, or a bearer JWT), applies the
 * caller's rate limit, then checks the role. Denials are audited with the principal when known;
 * keys and tokens are never recorded.
 */
export function guard(deps: GuardDeps, need: Role | "public", action: string, options: GuardOptions = {}) {
  const disabled = !deps.keys && !deps.managed && !deps.oidc;
  return async (req: Request, res: Response, next: NextFunction) => {
    if (need === "public") return next();
    let principal: Principal;
    if (disabled) principal = ANONYMOUS;
    else {
      let r: Authn;
      try {
        r = await authenticate(deps, req);
      } catch (err) {
        sendProblem(res, err);
        return;
      }
      if (!r.ok) {
        // Unauthenticated callers share one bucket per address, so key guessing is throttled too.
        const limited = await deps.limiter.take(`ip:${req.ip}`);
        if (!limited.ok) return tooMany(res, limited.retryAfterS);
        const challenge =
          r.status === 403
            ? { error: "insufficient_scope", scope: need }
            : r.token
              ? { error: "invalid_token" }
              : undefined;
        deny(deps, req, res, action, undefined, r.status, r.why, challenge, options);
        return;
      }
      principal = r.principal;
    }
    req.principal = principal;
    const limited = await deps.limiter.take(principal.id === "anonymous" ? `ip:${req.ip}` : `key:${principal.id}`);
    if (!limited.ok) return tooMany(res, limited.retryAfterS);
    if (!roleAllows(principal.role, need)) {
      deny(
        deps,
        req,
        res,
        action,
        principal,
        403,
        `role ${principal.role} may not ${action} (needs ${need})`,
        {
          error: "insufficient_scope",
          scope: need,
        },
        options,
      );
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

/** RFC 6750 / RFC 9728 challenge. */
function challengeHeader(challenge: { error: string; scope?: Role } | undefined, metadata: string | undefined): string {
  const parts: string[] = [];
  if (metadata) parts.push(`resource_metadata="${metadata}"`);
  else parts.push('realm="mcpfleet"');
  if (challenge) {
    parts.push(`error="${challenge.error}"`);
    if (challenge.scope) parts.push(`scope="${scopeOf(challenge.scope)}"`);
  }
  return `Bearer ${parts.join(", ")}`;
}

function deny(
  deps: GuardDeps,
  req: Request,
  res: Response,
  action: string,
  who: Principal | undefined,
  status: 401 | 403,
  why: string,
  challenge: { error: string; scope?: Role } | undefined,
  options: GuardOptions,
) {
  const metadata = deps.oidc ? options.resourceMetadata?.(req) : undefined;
  if (status === 401 || challenge) res.setHeader("WWW-Authenticate", challengeHeader(challenge, metadata));
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
