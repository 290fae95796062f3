import type { InfisicalSDK } from "@infisical/sdk";
import { FleetError, type Logger } from "@mcpfleet/core";
import { abortable } from "@mcpfleet/core/adapter";
import { type Failure, toFleetError } from "./errors.js";
import type { ResolvedInfisicalOptions } from "./options.js";

interface Session {
  token: string;
  /** Log in again from this instant (epoch ms); undefined = token does not expire. */
  reloginAt: number | undefined;
}

/**
 * Universal Auth session: logs in with the machine identity's client id and secret
 * (`POST /api/v1/auth/universal-auth/login`, the same request @infisical/sdk sends, made here so the
 * token's `expiresIn` is known), hands the token to the SDK, logs in again before expiry and
 * whenever Infisical answers 401.
 */
export class UniversalAuthSession {
  private session: Session | undefined;
  private pending: Promise<Session> | undefined;

  constructor(
    private readonly options: ResolvedInfisicalOptions,
    private readonly sdk: InfisicalSDK,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  async token(signal?: AbortSignal): Promise<string> {
    const s = this.session;
    if (s && (s.reloginAt === undefined || this.now() < s.reloginAt)) return s.token;
    if (!this.pending) {
      this.pending = this.login().finally(() => {
        this.pending = undefined;
      });
    }
    return (await abortable(this.pending, signal)).token;
  }

  /** Forgets a token Infisical rejected (401); the next call logs in again. */
  invalidate(rejected: string): void {
    if (this.session?.token === rejected) this.session = undefined;
  }

  private async login(): Promise<Session> {
    const { siteUrl, auth, requestTimeoutMs } = this.options;
    let res: Response;
    try {
      res = await fetch(`${siteUrl}/api/v1/auth/universal-auth/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ clientId: auth.clientId, clientSecret: auth.clientSecret }),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (err) {
      const code = (err as { cause?: { code?: unknown }; name?: string })?.cause?.code;
      const f: Failure = { status: undefined, message: typeof code === "string" ? code : "network error" };
      throw toFleetError(f, "universal-auth login");
    }
    const body = (await res.json().catch(() => undefined)) as
      | { accessToken?: unknown; expiresIn?: unknown; message?: unknown }
      | undefined;
    if (!res.ok) {
      if (res.status >= 400 && res.status < 500 && res.status !== 429) {
        throw new FleetError("SECRET_ACCESS_DENIED", `infisical universal-auth login rejected (HTTP ${res.status})`, {
          details: { status: res.status },
        });
      }
      throw toFleetError({ status: res.status, message: "" }, "universal-auth login");
    }
    if (typeof body?.accessToken !== "string" || !body.accessToken) {
      throw new FleetError("SECRET_STORE_UNAVAILABLE", "infisical login answered without an access token");
    }
    const ttl = typeof body.expiresIn === "number" ? body.expiresIn : 0;
    const session: Session = {
      token: body.accessToken,
      reloginAt: ttl > 0 ? this.now() + ttl * 1000 * this.options.reloginFraction : undefined,
    };
    this.sdk.auth().accessToken(session.token);
    this.session = session;
    this.logger.debug({ expiresIn: ttl }, "infisical universal-auth login succeeded");
    return session;
  }
}
