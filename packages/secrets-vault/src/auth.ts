import { readFile } from "node:fs/promises";
import { FleetError, type Logger } from "@mcpfleet/core";
import type { VaultAuth } from "./options.js";
import type { VaultTransport } from "./transport.js";

const RENEW_RETRY_MS = 30_000;

interface TokenState {
  token: string;
  /** When to renew (epoch ms); undefined = never (root / non-expiring token). */
  renewAt: number | undefined;
  renewable: boolean;
  /** Lease granted (seconds). */
  ttl: number;
}

interface AuthBlock {
  client_token?: unknown;
  lease_duration?: unknown;
  renewable?: unknown;
}

/**
 * Owns the Vault token: logs in (AppRole, Kubernetes), learns a static token's TTL with
 * lookup-self, renews with renew-self at `renewFraction` of the TTL (lazily before a request and on
 * an unref'd timer), and logs in again when the token is not renewable or renewal fails.
 */
export class TokenManager {
  private state: TokenState | undefined;
  private pending: Promise<TokenState> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** TTL granted by the last login. */
  private loginTtl = 0;

  constructor(
    private readonly auth: VaultAuth,
    private readonly transport: VaultTransport,
    private readonly renewFraction: number,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  /** True when a fresh login can replace a rejected token. */
  get canLogin(): boolean {
    return this.auth.method !== "token";
  }

  async token(signal?: AbortSignal): Promise<string> {
    const state = this.state;
    if (state && (state.renewAt === undefined || this.now() < state.renewAt)) return state.token;
    return (await this.refresh(signal)).token;
  }

  /** Drops the current token after Vault rejected it; the next call logs in again. */
  invalidate(rejected: string): void {
    if (this.state?.token === rejected) this.state = undefined;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private refresh(signal?: AbortSignal): Promise<TokenState> {
    if (!this.pending) {
      // Not tied to one caller's signal: other callers share this refresh.
      this.pending = this.doRefresh().finally(() => {
        this.pending = undefined;
      });
    }
    const pending = this.pending;
    if (!signal) return pending;
    return new Promise<TokenState>((resolve, reject) => {
      const onAbort = () => reject(new FleetError("ABORTED", "operation aborted", { cause: signal.reason }));
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      pending.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  private async doRefresh(): Promise<TokenState> {
    const current = this.state;
    let next: TokenState | undefined;
    if (current?.renewable) {
      try {
        next = await this.renewSelf(current.token);
        // Near its max TTL Vault renews for less and less; a fresh login beats renewing every few seconds.
        if (this.canLogin && this.loginTtl > 0 && next.ttl < this.loginTtl * (1 - this.renewFraction)) {
          this.logger.debug({ ttl: next.ttl }, "vault token near its max TTL, logging in again");
          next = undefined;
        }
      } catch (err) {
        this.logger.warn({ code: (err as FleetError).code }, "vault token renewal failed");
      }
    }
    if (!next) {
      if (this.auth.method === "token") {
        if (!current) next = await this.lookupStatic(this.auth.token);
        else {
          // A static token cannot be replaced: keep it, and try renewing again later if it is renewable.
          if (!current.renewable) this.logger.warn({}, "vault token is not renewable and will expire");
          next = { ...current, renewAt: current.renewable ? this.now() + RENEW_RETRY_MS : undefined };
        }
      } else {
        next = await this.login();
      }
    }
    this.state = next;
    this.schedule(next);
    return next;
  }

  private schedule(state: TokenState): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || state.renewAt === undefined) return;
    const delay = Math.max(0, state.renewAt - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh().catch((err) => this.logger.warn({ code: (err as FleetError).code }, "vault token refresh failed"));
    }, delay);
    this.timer.unref();
  }

  private fromAuth(auth: AuthBlock | undefined, fallbackToken?: string): TokenState {
    const token = typeof auth?.client_token === "string" && auth.client_token ? auth.client_token : fallbackToken;
    if (!token) throw new FleetError("SECRET_ACCESS_DENIED", "vault login returned no client token");
    const ttl = typeof auth?.lease_duration === "number" ? auth.lease_duration : 0;
    return {
      token,
      ttl,
      renewable: auth?.renewable === true,
      renewAt: ttl > 0 ? this.now() + ttl * 1000 * this.renewFraction : undefined,
    };
  }

  private async lookupStatic(token: string): Promise<TokenState> {
    try {
      const res = await this.transport.call({
        method: "GET",
        path: "/auth/token/lookup-self",
        token,
        subject: "token",
      });
      const data = res.body?.data ?? {};
      const ttl = typeof data.ttl === "number" ? data.ttl : 0;
      return {
        token,
        ttl,
        renewable: data.renewable === true,
        renewAt: ttl > 0 ? this.now() + ttl * 1000 * this.renewFraction : undefined,
      };
    } catch (err) {
      // A token without lookup-self permission still works for KV; it just cannot be renewed.
      if (FleetError.isInstance(err) && err.code === "SECRET_ACCESS_DENIED") {
        this.logger.debug({}, "vault token lookup-self denied; renewal disabled");
        return { token, ttl: 0, renewable: false, renewAt: undefined };
      }
      throw err;
    }
  }

  private async renewSelf(token: string): Promise<TokenState> {
    const res = await this.transport.call({
      method: "POST",
      path: "/auth/token/renew-self",
      body: {},
      token,
      subject: "token renewal",
    });
    const state = this.fromAuth(res.body?.auth, token);
    this.logger.debug({ renewable: state.renewable }, "vault token renewed");
    return state;
  }

  private async login(): Promise<TokenState> {
    const auth = this.auth;
    let path: string;
    let body: Record<string, string>;
    if (auth.method === "approle") {
      path = `/auth/${auth.mount}/login`;
      body = { role_id: auth.roleId, secret_id: auth.secretId };
    } else if (auth.method === "kubernetes") {
      let jwt: string;
      try {
        jwt = (await readFile(auth.jwtPath, "utf8")).trim();
      } catch (err) {
        throw new FleetError("SECRET_ACCESS_DENIED", `cannot read kubernetes service-account token "${auth.jwtPath}"`, {
          details: { code: (err as NodeJS.ErrnoException).code },
        });
      }
      path = `/auth/${auth.mount}/login`;
      body = { role: auth.role, jwt };
    } else {
      throw new FleetError("INTERNAL", "token auth has no login");
    }
    try {
      const res = await this.transport.call({ method: "POST", path, body, subject: `${auth.method} login` });
      const state = this.fromAuth(res.body?.auth);
      this.loginTtl = state.ttl;
      this.logger.debug({ method: auth.method }, "vault login succeeded");
      return state;
    } catch (err) {
      // Vault answers a bad role/secret id with 400; that is an access problem, not a bug.
      if (FleetError.isInstance(err) && err.code === "INTERNAL" && err.details?.status === 400) {
        throw new FleetError("SECRET_ACCESS_DENIED", `vault ${auth.method} login rejected`, { details: err.details });
      }
      throw err;
    }
  }
}
