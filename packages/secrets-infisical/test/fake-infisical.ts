/**
 * A protocol-faithful fake of the Infisical API parts this store uses, written from the Infisical
 * API reference and from the requests @infisical/sdk v5 sends (read from its source and logged here):
 * Universal Auth login, `/api/v3/secrets/raw[/:name]` (GET list/get, POST create, PATCH update,
 * DELETE with a JSON body), `/api/v1/folders` (POST create, DELETE /:name). Error bodies follow
 * Infisical's `{reqId, statusCode, message, error}`. It refuses what Infisical refuses: missing or
 * expired bearer tokens (401), a project the identity is not in or a denied path (403), missing
 * folders and secrets (404), duplicates (400), invalid bodies/queries (422), and unknown routes or
 * methods the way Fastify does (404 `Route METHOD:/path not found`).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export interface FakeInfisicalOptions {
  clientId?: string;
  clientSecret?: string;
  projectId?: string;
  environments?: string[];
  /** Access token lifetime in seconds (Infisical's default is 2592000). */
  tokenTtl?: number;
  /** Folder paths (prefixes) the identity may not touch: 403. */
  denyPaths?: string[];
  /** Identity lacks "Read Value": values come back hidden. */
  hideValues?: boolean;
  /** Identity may not delete folders: 403 on DELETE /api/v1/folders. */
  denyFolderDelete?: boolean;
}

interface StoredSecret {
  id: string;
  key: string;
  value: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export class FakeInfisical {
  readonly requests: LoggedRequest[] = [];
  /** Folder path -> secrets (key -> secret). The root folder always exists. */
  readonly folders = new Map<string, Map<string, StoredSecret>>();
  readonly tokens = new Map<string, number | undefined>();
  failNext = 0;
  clockOffset = 0;
  private server: Server | undefined;
  readonly o: Required<Omit<FakeInfisicalOptions, "denyPaths" | "denyFolderDelete" | "hideValues">> &
    FakeInfisicalOptions;

  constructor(options: FakeInfisicalOptions = {}) {
    this.o = {
      clientId: "client-id-1",
      clientSecret: "client-secret-1",
      projectId: "proj-1",
      environments: ["dev", "prod"],
      tokenTtl: 2_592_000,
      ...options,
    };
    for (const env of this.o.environments) this.folders.set(`${env}:/`, new Map());
  }

  now(): number {
    return Date.now() + this.clockOffset;
  }

  get url(): string {
    const addr = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${addr.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => fail(res, 500, "InternalServerError", String(err)));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  secretsAt(env: string, path: string): Record<string, string> | undefined {
    const f = this.folders.get(`${env}:${path}`);
    return f ? Object.fromEntries([...f].map(([k, s]) => [k, s.value])) : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://infisical");
    const method = (req.method ?? "GET").toUpperCase();
    const raw = await readBody(req);
    let body: any;
    if (raw.length > 0) {
      const type = String(req.headers["content-type"] ?? "");
      if (!type.startsWith("application/json")) {
        return fail(res, 415, "Unsupported Media Type", `Unsupported Media Type: ${type}`);
      }
      try {
        body = JSON.parse(raw);
      } catch {
        return fail(res, 400, "Bad Request", "Body is not valid JSON");
      }
    }
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method, path: url.pathname, query, headers: { ...req.headers }, body });
    const path = url.pathname;
    const notFoundRoute = () => fail(res, 404, "Not Found", `Route ${method}:${path} not found`);

    if (this.failNext > 0) {
      this.failNext--;
      return fail(res, 500, "InternalServerError", "Something went wrong");
    }

    if (path === "/api/v1/auth/universal-auth/login") {
      if (method !== "POST") return notFoundRoute();
      if (typeof body?.clientId !== "string" || typeof body?.clientSecret !== "string") {
        return fail(res, 422, "ValidationFailure", "clientId and clientSecret are required");
      }
      if (body.clientId !== this.o.clientId)
        return fail(res, 404, "NotFound", "No identity with specified client ID was found");
      if (body.clientSecret !== this.o.clientSecret) return fail(res, 401, "UnauthorizedError", "Invalid credentials");
      const token = `ey.${randomUUID()}`;
      this.tokens.set(token, this.o.tokenTtl > 0 ? this.now() + this.o.tokenTtl * 1000 : undefined);
      return send(res, 200, {
        accessToken: token,
        expiresIn: this.o.tokenTtl,
        accessTokenMaxTTL: this.o.tokenTtl,
        tokenType: "Bearer",
      });
    }

    const secretRoute = /^\/api\/v3\/secrets\/raw(?:\/([^/]+))?$/.exec(path);
    const folderRoute = /^\/api\/v1\/folders(?:\/([^/]+))?$/.exec(path);
    if (!secretRoute && !folderRoute) return notFoundRoute();

    // Authenticated from here on.
    const auth = req.headers.authorization;
    if (!auth) return fail(res, 401, "UnauthorizedError", "Missing Authorization Header in the request header.");
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    if (!token || !this.tokens.has(token)) return fail(res, 401, "UnauthorizedError", "Invalid token");
    const expires = this.tokens.get(token);
    if (expires !== undefined && this.now() >= expires)
      return fail(res, 401, "UnauthorizedError", "Access token expired");

    if (secretRoute) {
      const name = secretRoute[1] ? decodeURIComponent(secretRoute[1]) : undefined;
      if (name === undefined) return method === "GET" ? this.list(query, res) : notFoundRoute();
      if (method === "GET") return this.getOne(name, query, res);
      if (method === "POST" || method === "PATCH" || method === "DELETE") return this.mutate(method, name, body, res);
      return notFoundRoute();
    }
    const folderName = folderRoute?.[1] ? decodeURIComponent(folderRoute[1]) : undefined;
    if (method === "POST" && folderName === undefined) return this.createFolder(body, res);
    if (method === "DELETE" && folderName !== undefined) return this.deleteFolder(folderName, body, res);
    return notFoundRoute();
  }

  /** Common checks; returns the folder key or undefined after answering. */
  private scope(
    res: ServerResponse,
    projectId: unknown,
    environment: unknown,
    secretPath: unknown,
    action: string,
  ): { env: string; path: string } | undefined {
    if (typeof projectId !== "string" || typeof environment !== "string") {
      fail(res, 422, "ValidationFailure", "workspaceId and environment are required");
      return undefined;
    }
    if (projectId !== this.o.projectId) {
      fail(res, 403, "PermissionDenied", "You are not allowed to access this project");
      return undefined;
    }
    if (!this.o.environments.includes(environment)) {
      fail(res, 404, "NotFound", `Environment with slug '${environment}' in project with ID '${projectId}' not found`);
      return undefined;
    }
    const path = typeof secretPath === "string" && secretPath ? secretPath : "/";
    if (this.o.denyPaths?.some((p) => path === p || path.startsWith(`${p}/`))) {
      fail(res, 403, "PermissionDenied", `You are not allowed to ${action} on secrets`);
      return undefined;
    }
    return { env: environment, path };
  }

  private list(q: Record<string, string>, res: ServerResponse) {
    const s = this.scope(res, q.workspaceId, q.environment, q.secretPath, "readValue");
    if (!s) return;
    const folder = this.folders.get(`${s.env}:${s.path}`);
    const hide = q.viewSecretValue === "false";
    const secrets = folder ? [...folder.values()].map((x) => this.view(x, s, hide)) : [];
    return send(res, 200, { secrets, imports: [] });
  }

  private getOne(name: string, q: Record<string, string>, res: ServerResponse) {
    const s = this.scope(res, q.workspaceId, q.environment, q.secretPath, "readValue");
    if (!s) return;
    const folder = this.folders.get(`${s.env}:${s.path}`);
    if (!folder)
      return fail(res, 404, "NotFound", `Folder with path '${s.path}' in environment with slug '${s.env}' not found`);
    const secret = folder.get(name);
    if (!secret) return fail(res, 404, "NotFound", `Secret with name '${name}' not found`);
    return send(res, 200, { secret: this.view(secret, s, q.viewSecretValue === "false") });
  }

  private mutate(method: string, name: string, body: any, res: ServerResponse) {
    const action = method === "POST" ? "create" : method === "PATCH" ? "edit" : "delete";
    const s = this.scope(res, body?.workspaceId, body?.environment, body?.secretPath, action);
    if (!s) return;
    if (body?.type !== undefined && body.type !== "shared" && body.type !== "personal") {
      return fail(res, 422, "ValidationFailure", "Invalid enum value for type");
    }
    const folder = this.folders.get(`${s.env}:${s.path}`);
    if (!folder)
      return fail(res, 404, "NotFound", `Folder with path '${s.path}' in environment with slug '${s.env}' not found`);
    const existing = folder.get(name);
    const stamp = new Date(this.now()).toISOString();
    if (method === "POST") {
      if (typeof body.secretValue !== "string") return fail(res, 422, "ValidationFailure", "secretValue is required");
      if (existing) return fail(res, 400, "BadRequest", "Secret already exist");
      const secret = {
        id: randomUUID(),
        key: name,
        value: body.secretValue,
        version: 1,
        createdAt: stamp,
        updatedAt: stamp,
      };
      folder.set(name, secret);
      return send(res, 200, { secret: this.view(secret, s, false) });
    }
    if (!existing) return fail(res, 404, "NotFound", `Secret named '${name}' not found`);
    if (method === "PATCH") {
      if (body.secretValue !== undefined && typeof body.secretValue !== "string") {
        return fail(res, 422, "ValidationFailure", "secretValue must be a string");
      }
      if (typeof body.secretValue === "string") existing.value = body.secretValue;
      existing.version += 1;
      existing.updatedAt = stamp;
      return send(res, 200, { secret: this.view(existing, s, false) });
    }
    folder.delete(name);
    return send(res, 200, { secret: this.view(existing, s, false) });
  }

  private createFolder(body: any, res: ServerResponse) {
    const s = this.scope(res, body?.workspaceId, body?.environment, body?.path, "create");
    if (!s) return;
    if (typeof body?.name !== "string" || !/^[a-zA-Z0-9-_]+$/.test(body.name)) {
      return fail(
        res,
        422,
        "ValidationFailure",
        "Folder name can only contain alphanumeric characters, dashes and underscores",
      );
    }
    if (!this.folders.has(`${s.env}:${s.path}`)) {
      return fail(res, 404, "NotFound", `Folder with path '${s.path}' in environment with slug '${s.env}' not found`);
    }
    const full = s.path === "/" ? `/${body.name}` : `${s.path}/${body.name}`;
    if (this.folders.has(`${s.env}:${full}`))
      return fail(res, 400, "BadRequest", `Folder with name '${body.name}' already exists`);
    this.folders.set(`${s.env}:${full}`, new Map());
    return send(res, 200, {
      folder: {
        id: randomUUID(),
        name: body.name,
        envId: s.env,
        createdAt: new Date().toISOString(),
        updatedAt: new Date().toISOString(),
        version: 1,
      },
    });
  }

  private deleteFolder(name: string, body: any, res: ServerResponse) {
    const s = this.scope(res, body?.workspaceId, body?.environment, body?.path, "delete");
    if (!s) return;
    if (this.o.denyFolderDelete)
      return fail(res, 403, "PermissionDenied", "You are not allowed to delete on secret-folders");
    const full = s.path === "/" ? `/${name}` : `${s.path}/${name}`;
    if (!this.folders.has(`${s.env}:${full}`))
      return fail(res, 404, "NotFound", `Folder with name '${name}' not found`);
    for (const key of [...this.folders.keys()]) {
      if (key === `${s.env}:${full}` || key.startsWith(`${s.env}:${full}/`)) this.folders.delete(key);
    }
    return send(res, 200, { folder: { id: randomUUID(), name } });
  }

  private view(x: StoredSecret, s: { env: string; path: string }, hideRequested: boolean) {
    const hide = hideRequested || this.o.hideValues === true;
    return {
      id: x.id,
      _id: x.id,
      workspace: this.o.projectId,
      workspaceId: this.o.projectId,
      environment: s.env,
      version: x.version,
      type: "shared",
      secretKey: x.key,
      secretValue: hide ? "<hidden-by-infisical>" : x.value,
      secretValueHidden: hide,
      secretComment: "",
      secretPath: s.path,
      skipMultilineEncoding: false,
      isRotatedSecret: false,
      tags: [],
      createdAt: x.createdAt,
      updatedAt: x.updatedAt,
    };
  }
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
}

function fail(res: ServerResponse, status: number, error: string, message: string) {
  send(res, status, { reqId: `req-${randomUUID().slice(0, 12)}`, statusCode: status, message, error });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
