import { readFile } from "node:fs/promises";
import type { Logger } from "@mcpfleet/core";
import { type AccessPolicy, accessPolicySchema } from "@mcpfleet/mcp";
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from "jose";
import { z } from "zod";
import { type Principal, ROLES, type Role } from "./keys.js";

export interface OidcOptions {
  issuer: string;
  audience: string;
  rolesClaim: string;
  groupsClaim: string;
  scopeClaim: string;
  /** Claim values (roles, groups, scopes) to host roles; role names and `mcpfleet:<role>` map to themselves. */
  roleMap?: Record<string, Role>;
  algorithms: string[];
  clockSkewS: number;
  policies?: PolicyBinding[];
  logger: Logger;
  /** Least time between two JWKS fetches (a `kid` miss refetches once past it; default 30000 ms). */
  jwksCooldownMs?: number;
  /** Discovery and JWKS fetch timeout (default 5000 ms). */
  timeoutMs?: number;
}

/** A token whose claim holds `value` gets `policy` (first binding that matches wins). */
export interface PolicyBinding {
  name: string;
  claim: string;
  value: string;
  policy: AccessPolicy;
}

const bindingsFile = z.object({
  policies: z.array(
    z.object({
      name: z.string().min(1).max(100),
      match: z.object({ claim: z.string().min(1).max(200), value: z.string().min(1).max(500) }),
      policy: accessPolicySchema,
    }),
  ),
});

/** Reads `OIDC_POLICIES_FILE`; throws naming the file and the path of the first problem. */
export async function readPolicyBindings(path: string): Promise<PolicyBinding[]> {
  const parsed = bindingsFile.safeParse(JSON.parse(await readFile(path, "utf8")));
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new Error(`policies file ${path}: ${i.path.join(".")}: ${i.message}`);
  }
  return parsed.data.policies.map((p) => ({
    name: p.name,
    claim: p.match.claim,
    value: p.match.value,
    policy: p.policy,
  }));
}

/** Why a token was refused: `invalid_token` (401) or `insufficient_scope` (403). */
export type TokenResult = { ok: true; principal: Principal } | { ok: false; status: 401 | 403; reason: string };

const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 10_000;

/** A compact JWS (three base64url parts): told apart from an API key before any verification. */
export const looksLikeJwt = (s: string): boolean => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(s);

const valuesOf = (v: unknown): string[] =>
  typeof v === "string"
    ? v.split(/\s+/).filter(Boolean)
    : Array.isArray(v)
      ? v.filter((x) => typeof x === "string")
      : [];

/**
 * Bearer JWT validation against the issuer's discovery document and JWKS (jose: keys cached,
 * a `kid` miss refetches once, cooldown between fetches). Checks the issuer, the audience (this
 * resource), `exp`/`nbf` with a small clock skew and the allowed algorithms. Nothing of a token is
 * logged.
 */
export class OidcVerifier {
  /** Tokens verified recently, until their `exp` (at most VERIFIED_TTL_MS): a repeat costs a map lookup. */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(private readonly o: OidcOptions) {}

  get issuer(): string {
    return this.o.issuer;
  }

  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return this.jwks;
    this.discovering ??= (async () => {
      const url = new URL(
        ".well-known/openid-configuration",
        this.o.issuer.endsWith("/") ? this.o.issuer : `${this.o.issuer}/`,
      );
      const res = await fetch(url, { signal: AbortSignal.timeout(this.o.timeoutMs ?? 5000) });
      if (!res.ok) throw new Error(`discovery document ${url} answered ${res.status}`);
      const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (doc.issuer !== this.o.issuer) throw new Error(`discovery document names issuer ${String(doc.issuer)}`);
      if (typeof doc.jwks_uri !== "string") throw new Error("discovery document has no jwks_uri");
      this.jwks = createRemoteJWKSet(new URL(doc.jwks_uri), {
        timeoutDuration: this.o.timeoutMs ?? 5000,
        cooldownDuration: this.o.jwksCooldownMs ?? 30_000,
        cacheMaxAge: 600_000,
      });
      return this.jwks;
    })().finally(() => {
      this.discovering = undefined;
    });
    return this.discovering;
  }

  /** Fetches the discovery document now (start-up check); failures are logged and retried on use. */
  async warm(): Promise<void> {
    try {
      await this.keySet();
    } catch (err) {
      this.o.logger.warn(
        { issuer: this.o.issuer, err: (err as Error).message },
        "OIDC discovery failed; retried on use",
      );
    }
  }

  async verify(token: string): Promise<TokenResult> {
    const hit = this.verified.get(token);
    if (hit && hit.until > Date.now()) return { ok: true, principal: { ...hit.principal } };
    if (hit) this.verified.delete(token);
    const r = await this.verifyFresh(token);
    if (r.ok && typeof r.exp === "number") {
      if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
      this.verified.set(token, { principal: r.principal, until: Math.min(r.exp * 1000, Date.now() + VERIFIED_TTL_MS) });
    }
    return r.ok ? { ok: true, principal: { ...r.principal } } : r;
  }

  private async verifyFresh(token: string): Promise<TokenResult & { exp?: number }> {
    let jwks: ReturnType<typeof createRemoteJWKSet>;
    try {
      jwks = await this.keySet();
    } catch (err) {
      this.o.logger.warn({ issuer: this.o.issuer, err: (err as Error).message }, "OIDC discovery failed");
      return { ok: false, status: 401, reason: "the token issuer cannot be reached to verify the token" };
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: this.o.issuer,
        audience: this.o.audience,
        algorithms: this.o.algorithms,
        clockTolerance: this.o.clockSkewS,
        requiredClaims: ["exp"],
      }));
    } catch (err) {
      return { ok: false, status: 401, reason: tokenProblem(err) };
    }
    const values = [
      ...valuesOf(payload[this.o.rolesClaim]),
      ...valuesOf(payload[this.o.groupsClaim]),
      ...valuesOf(payload[this.o.scopeClaim]),
    ];
    let best = -1;
    for (const v of values) {
      const mapped = this.o.roleMap?.[v] ?? (v.startsWith("mcpfleet:") ? v.slice("mcpfleet:".length) : v);
      const i = ROLES.indexOf(mapped as Role);
      if (i > best) best = i;
    }
    const id = String(payload.sub ?? payload.client_id ?? payload.azp ?? "unknown");
    if (best < 0)
      return { ok: false, status: 403, reason: "the token grants no mcpfleet role (viewer, operator or admin)" };
    const principal: Principal = { id: `oidc:${id}`.slice(0, 300), role: ROLES[best]! };
    const binding = this.o.policies?.find((b) => valuesOf(payload[b.claim]).includes(b.value));
    if (binding) {
      principal.policy = binding.policy;
      principal.policyName = binding.name;
    }
    return { ok: true, principal, ...(typeof payload.exp === "number" ? { exp: payload.exp } : {}) };
  }
}

function tokenProblem(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "the token has expired";
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === "aud") return "the token is not for this resource (audience)";
    if (err.claim === "iss") return "the token is from another issuer";
    if (err.claim === "nbf") return "the token is not valid yet";
    return `the token's ${err.claim} claim is invalid`;
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "the token's signing algorithm is not allowed";
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "the token is signed by an unknown key";
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "the token's signature is invalid";
  return "the token is malformed";
}
