/**
 * A protocol-faithful fake of the Vault HTTP API parts this store uses, written from the Vault API
 * docs (KV v2 secrets engine, token/AppRole/Kubernetes auth, sys/health): same paths, verbs, status
 * codes and `{"errors":[...]}` bodies. It refuses what Vault refuses: missing/unknown/expired tokens
 * (403 permission denied), unsupported verbs (405), unknown routes (404), CAS mismatches (400),
 * a namespace-scoped token used without its namespace (403), and everything while sealed (503).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

interface Token {
  policies: string[];
  ttl: number; // seconds, 0 = never expires
  renewable: boolean;
  expiresAt: number | undefined;
  namespace: string | undefined;
}

interface Version {
  data: Record<string, unknown>;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

interface KvSecret {
  versions: Map<number, Version>;
  current: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface FakeVaultOptions {
  rootToken?: string;
  /** KV v2 mount (default `secret`). */
  mount?: string;
  /** When set, tokens live in this namespace and KV/auth requests must carry `X-Vault-Namespace`. */
  namespace?: string;
  approle?: { roleId: string; secretId: string; ttl: number; renewable: boolean };
  kubernetes?: { role: string; jwt: string; ttl: number; renewable: boolean };
  /** Token TTL for the root token (0 = non-expiring, as a real root token). */
  rootTtl?: number;
  rootRenewable?: boolean;
  /** Renewal grants this many seconds. */
  renewTtl?: number;
  /** Path prefixes (after the mount's data/ or metadata/) the tokens may not touch: 403. */
  denyPrefixes?: string[];
  /** Serve HTTPS with this PEM key and certificate. */
  tls?: { key: string; cert: string };
}

export class FakeVault {
  readonly requests: LoggedRequest[] = [];
  sealed = false;
  /** The next N requests answer 500 `{"errors":["internal error"]}` (retry tests). */
  failNext = 0;
  /** Called before each KV write is applied (tests: simulate a concurrent writer). */
  beforeWrite: ((path: string) => void) | undefined;
  /** Fake clock offset in ms (expiry tests). */
  clockOffset = 0;
  readonly tokens = new Map<string, Token>();
  readonly kv = new Map<string, KvSecret>();
  private server: Server | undefined;
  private readonly o: Required<Pick<FakeVaultOptions, "mount" | "renewTtl" | "rootToken">> & FakeVaultOptions;

  constructor(options: FakeVaultOptions = {}) {
    this.o = { mount: "secret", renewTtl: 3600, rootToken: "root-token", ...options };
    this.tokens.set(this.o.rootToken, {
      policies: ["root"],
      ttl: options.rootTtl ?? 0,
      renewable: options.rootRenewable ?? false,
      expiresAt: options.rootTtl ? this.now() + options.rootTtl * 1000 : undefined,
      namespace: options.namespace,
    });
  }

  now(): number {
    return Date.now() + this.clockOffset;
  }

  get address(): string {
    const addr = this.server?.address() as AddressInfo;
    return `${this.o.tls ? "https" : "http"}://127.0.0.1:${addr.port}`;
  }

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err) => send(res, 500, { errors: [String(err)] }));
    };
    this.server = this.o.tls ? createHttpsServer(this.o.tls, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Issues a token (tests: tokens with a short TTL or particular renewability). */
  issueToken(ttl: number, renewable: boolean, namespace = this.o.namespace): string {
    const token = `hvs.${randomUUID()}`;
    this.tokens.set(token, {
      policies: ["default"],
      ttl,
      renewable,
      expiresAt: ttl > 0 ? this.now() + ttl * 1000 : undefined,
      namespace,
    });
    return token;
  }

  /** Writes a new version directly, as another Vault client would. */
  put(path: string, data: Record<string, unknown>) {
    const s = this.kv.get(path) ?? { versions: new Map<number, Version>(), current: 0 };
    s.current += 1;
    s.versions.set(s.current, {
      data,
      created_time: new Date(this.now()).toISOString(),
      deletion_time: "",
      destroyed: false,
    });
    this.kv.set(path, s);
  }

  /** All stored fields of `<mount>/<path>` at its current version (undefined if none). */
  read(path: string): Record<string, unknown> | undefined {
    const s = this.kv.get(path);
    const v = s?.versions.get(s.current);
    return v && !v.deletion_time && !v.destroyed ? v.data : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://vault");
    const raw = await readBody(req);
    let body: any;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(res, 400, { errors: ["failed to parse JSON input: invalid character"] });
      }
    }
    const method = (req.method ?? "GET").toUpperCase();
    this.requests.push({ method, path: url.pathname, headers: { ...req.headers }, body });
    if (!url.pathname.startsWith("/v1/")) return send(res, 404, { errors: [] });
    const path = url.pathname.slice(4);

    if (path === "sys/health") {
      if (method !== "GET" && method !== "HEAD") return send(res, 405, { errors: [] });
      const status = this.sealed ? 503 : 200;
      return send(res, status, {
        initialized: true,
        sealed: this.sealed,
        standby: false,
        server_time_utc: Math.floor(this.now() / 1000),
        version: "1.17.0",
      });
    }
    if (this.sealed) return send(res, 503, { errors: ["Vault is sealed"] });
    if (this.failNext > 0) {
      this.failNext--;
      return send(res, 500, { errors: ["internal error"] });
    }
    const namespace = header(req, "x-vault-namespace");

    // Unauthenticated login endpoints (they ignore any token sent).
    if (this.o.approle && path === "auth/approle/login") {
      if (method !== "POST" && method !== "PUT") return unsupported(res);
      if (namespace !== this.o.namespace)
        return send(res, 404, { errors: [`no handler for route "${path}". route entry not found.`] });
      const a = this.o.approle;
      if (body?.role_id !== a.roleId || body?.secret_id !== a.secretId) {
        return send(res, 400, { errors: ["invalid role or secret ID"] });
      }
      return send(res, 200, this.login(a.ttl, a.renewable, ["app"], { role_name: "mcpfleet" }));
    }
    if (this.o.kubernetes && path === "auth/kubernetes/login") {
      if (method !== "POST" && method !== "PUT") return unsupported(res);
      if (namespace !== this.o.namespace)
        return send(res, 404, { errors: [`no handler for route "${path}". route entry not found.`] });
      const k = this.o.kubernetes;
      if (typeof body?.role !== "string" || typeof body?.jwt !== "string") {
        return send(res, 400, { errors: ["missing role or jwt"] });
      }
      if (body.role !== k.role) return send(res, 400, { errors: [`invalid role name "${body.role}"`] });
      if (body.jwt !== k.jwt) return send(res, 403, { errors: ["permission denied"] });
      return send(res, 200, this.login(k.ttl, k.renewable, ["app"], { role: k.role }));
    }

    // Everything else needs a valid, unexpired token from the request's namespace.
    const tokenId = header(req, "x-vault-token");
    const token = tokenId ? this.tokens.get(tokenId) : undefined;
    if (!tokenId || !token || token.namespace !== namespace) return denied(res);
    if (token.expiresAt !== undefined && this.now() >= token.expiresAt) {
      this.tokens.delete(tokenId);
      return denied(res);
    }

    if (path === "auth/token/lookup-self") {
      if (method !== "GET") return unsupported(res);
      const ttl = token.expiresAt === undefined ? 0 : Math.max(0, Math.floor((token.expiresAt - this.now()) / 1000));
      return send(
        res,
        200,
        envelope({
          id: tokenId,
          policies: token.policies,
          ttl,
          creation_ttl: token.ttl,
          renewable: token.renewable,
          expire_time: token.expiresAt === undefined ? null : new Date(token.expiresAt).toISOString(),
          type: "service",
        }),
      );
    }
    if (path === "auth/token/renew-self") {
      if (method !== "POST" && method !== "PUT") return unsupported(res);
      if (!token.renewable) return send(res, 400, { errors: ["lease is not renewable"] });
      token.ttl = this.o.renewTtl;
      token.expiresAt = this.now() + this.o.renewTtl * 1000;
      return send(res, 200, {
        ...envelope(null),
        auth: { client_token: tokenId, policies: token.policies, lease_duration: token.ttl, renewable: true },
      });
    }

    const mount = `${this.o.mount}/`;
    if (!path.startsWith(mount))
      return send(res, 404, { errors: [`no handler for route "${path}". route entry not found.`] });
    const rest = path.slice(mount.length);
    const [kind, ...segments] = rest.split("/");
    const secretPath = segments.join("/");
    if ((kind !== "data" && kind !== "metadata") || !secretPath) {
      return send(res, 404, { errors: [`no handler for route "${path}". route entry not found.`] });
    }
    if (this.o.denyPrefixes?.some((p) => secretPath.startsWith(p))) return denied(res);
    return kind === "data" ? this.data(method, secretPath, body, res) : this.metadata(method, secretPath, res);
  }

  private login(ttl: number, renewable: boolean, policies: string[], metadata: Record<string, string>) {
    const token = this.issueToken(ttl, renewable);
    return {
      ...envelope(null),
      auth: {
        client_token: token,
        accessor: randomUUID(),
        policies: ["default", ...policies],
        token_policies: ["default", ...policies],
        metadata,
        lease_duration: ttl,
        renewable,
        entity_id: randomUUID(),
        token_type: "service",
        orphan: true,
      },
    };
  }

  private data(method: string, path: string, body: any, res: ServerResponse) {
    const secret = this.kv.get(path);
    if (method === "GET") {
      const v = secret?.versions.get(secret.current);
      if (!secret || !v) return send(res, 404, { errors: [] });
      const metadata = versionMetadata(v, secret.current);
      if (v.deletion_time || v.destroyed) return send(res, 404, envelope({ data: null, metadata }));
      return send(res, 200, envelope({ data: v.data, metadata }));
    }
    if (method === "POST" || method === "PUT") {
      if (!body || typeof body.data !== "object" || body.data === null || Array.isArray(body.data)) {
        return send(res, 400, { errors: ["no data provided"] });
      }
      this.beforeWrite?.(path);
      const current = this.kv.get(path)?.current ?? 0;
      const cas = body.options?.cas;
      if (cas !== undefined && cas !== current) {
        return send(res, 400, { errors: ["check-and-set parameter did not match the current version"] });
      }
      const s = this.kv.get(path) ?? { versions: new Map(), current: 0 };
      s.current += 1;
      const v: Version = {
        data: body.data,
        created_time: new Date(this.now()).toISOString(),
        deletion_time: "",
        destroyed: false,
      };
      s.versions.set(s.current, v);
      this.kv.set(path, s);
      return send(res, 200, envelope(versionMetadata(v, s.current)));
    }
    if (method === "DELETE") {
      const v = secret?.versions.get(secret.current);
      if (v && !v.deletion_time) v.deletion_time = new Date(this.now()).toISOString();
      return send(res, 204);
    }
    return unsupported(res);
  }

  private metadata(method: string, path: string, res: ServerResponse) {
    const secret = this.kv.get(path);
    if (method === "GET") {
      if (!secret) return send(res, 404, { errors: [] });
      return send(
        res,
        200,
        envelope({ current_version: secret.current, versions: Object.fromEntries(secret.versions) }),
      );
    }
    if (method === "LIST") {
      const prefix = `${path}/`;
      const keys = [...this.kv.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
      if (keys.length === 0) return send(res, 404, { errors: [] });
      return send(res, 200, envelope({ keys: keys.sort() }));
    }
    if (method === "DELETE") {
      this.kv.delete(path);
      return send(res, 204);
    }
    return unsupported(res);
  }
}

function envelope(data: unknown) {
  return {
    request_id: randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth: null,
  };
}

function versionMetadata(v: Version, version: number) {
  return {
    created_time: v.created_time,
    custom_metadata: null,
    deletion_time: v.deletion_time,
    destroyed: v.destroyed,
    version,
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function denied(res: ServerResponse) {
  send(res, 403, { errors: ["permission denied"] });
}

function unsupported(res: ServerResponse) {
  send(res, 405, { errors: ["1 error occurred:\n\t* unsupported operation\n\n"] });
}

function send(res: ServerResponse, status: number, body?: unknown) {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
