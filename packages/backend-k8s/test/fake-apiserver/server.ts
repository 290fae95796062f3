import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { parse as parseYaml } from "yaml";
import { Controllers, type PodMode } from "./controllers.js";
import { apiVersionOf, byKind, RESOURCES, type ResourceInfo } from "./resources.js";
import { discovery, type Route, route } from "./routing.js";
import { checkUnknownFields, validateObject } from "./schema.js";
import { parseSelector, SelectorError } from "./selectors.js";
import { type JsonObject, recordUpdate, serverSideApply } from "./ssa.js";
import { ApiError, notFound, successStatus } from "./status.js";
import { ObjectStore } from "./store.js";
import { servePodLog, serveWatch } from "./streams.js";

export interface FakeApiServerOptions {
  /** Namespaces that exist (default `["default"]`). */
  namespaces?: string[];
  /** Bearer token required on every request (default: none required). */
  token?: string;
  /** Controller reaction delay in ms (default 5). */
  controllerDelayMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: string;
  status: number;
}

const meta = (o: JsonObject) => o.metadata as any;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function mergePatch(target: any, patch: any): any {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** A protocol-faithful, in-process Kubernetes API server for tests (plain HTTP). */
export class FakeApiServer {
  readonly store = new ObjectStore();
  readonly controllers: Controllers;
  readonly requests: RecordedRequest[] = [];
  readonly namespaces: Set<string>;
  private server: Server;
  readonly openResponses = new Set<ServerResponse>();
  url = "";

  private constructor(private opts: FakeApiServerOptions) {
    this.namespaces = new Set(opts.namespaces ?? ["default"]);
    this.controllers = new Controllers(this.store, opts.controllerDelayMs ?? 5);
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  static async start(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(opts);
    await new Promise<void>((resolve) => s.server.listen(0, "127.0.0.1", resolve));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    return s;
  }

  /** A KubeConfig pointing at this server (`loadFromOptions`). */
  kubeConfig(namespace?: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "fake-user", ...(this.opts.token ? { token: this.opts.token } : {}) }],
      contexts: [{ name: "fake", cluster: "fake", user: "fake-user", ...(namespace ? { namespace } : {}) }],
      currentContext: "fake",
    });
    return kc;
  }

  // ---- test hooks -------------------------------------------------------------------------
  get(kind: string, ns: string | undefined, name: string): JsonObject | undefined {
    return this.store.get(byKind(kind) as ResourceInfo, ns, name);
  }
  list(kind: string, ns?: string): JsonObject[] {
    return this.store.list(byKind(kind) as ResourceInfo, ns);
  }
  /** A non-apply write, as `kubectl edit` by `manager` would do (drift). */
  edit(kind: string, ns: string, name: string, mutate: (o: any) => void, manager = "kubectl-edit"): JsonObject {
    return this.store.update(byKind(kind) as ResourceInfo, ns, name, mutate, manager);
  }
  setPodMode(ns: string, deployment: string, mode: PodMode | undefined): void {
    this.controllers.setMode(ns, deployment, mode);
  }
  appendLog(ns: string, pod: string, line: string): void {
    this.controllers.appendLog(ns, pod, line);
  }
  /** Forgets watch history: resuming from any earlier resourceVersion gets 410 Expired. */
  compact(): void {
    this.store.compact();
  }
  /** Ends every open watch and log stream (as an API server restart would). */
  dropConnections(): void {
    for (const r of this.openResponses) r.end();
    this.openResponses.clear();
  }

  async close(): Promise<void> {
    this.controllers.stop();
    this.dropConnections();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- HTTP ------------------------------------------------------------------------------
  private send(res: ServerResponse, code: number, body: unknown) {
    res.writeHead(code, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://fake");
    const query = Object.fromEntries(url.searchParams);
    let body = "";
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query,
      contentType: req.headers["content-type"],
      body,
      status: 200,
    };
    this.requests.push(record);
    try {
      body = await readBody(req);
      record.body = body;
      if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`) {
        throw new ApiError(401, "Unauthorized", "Unauthorized");
      }
      const found = discovery(url.pathname);
      if (found) return this.send(res, 200, found);
      const matched = route(url.pathname);
      if (!matched) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
      const result = await this.dispatch(req.method ?? "GET", matched, url.searchParams, body, req, res);
      if (result === undefined) return; // streamed
      record.status = result.code;
      this.send(res, result.code, result.body);
    } catch (err) {
      const e =
        err instanceof ApiError
          ? err
          : err instanceof SelectorError
            ? new ApiError(400, "BadRequest", err.message)
            : new ApiError(500, "InternalError", `Internal error occurred: ${(err as Error).message}`);
      record.status = e.code;
      if (!res.headersSent) this.send(res, e.code, e.body());
      else res.end();
    }
  }

  private async dispatch(
    method: string,
    route: Route,
    q: URLSearchParams,
    body: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ code: number; body: unknown } | undefined> {
    const { resource: r, namespace: ns, name, sub } = route;
    if (r.namespaced && ns !== undefined) this.store.ensureNamespaceExists(r, ns, this.namespaces);
    if (method === "GET") {
      if (name && sub === "log" && r.kind === "Pod") return servePodLog(this, ns as string, name, q, req, res);
      if (name && (sub === undefined || sub === "status"))
        return { code: 200, body: this.store.getOrThrow(r, ns, name) };
      if (name) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
      const selector = parseSelector(q.get("labelSelector"));
      if (q.get("watch") === "true" || q.get("watch") === "1") return serveWatch(this, r, ns, selector, q, req, res);
      const items = this.store.list(r, ns, selector).map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
      return {
        code: 200,
        body: {
          kind: `${r.kind}List`,
          apiVersion: apiVersionOf(r),
          metadata: { resourceVersion: String(this.store.rv) },
          items,
        },
      };
    }
    if (method === "PATCH" && name) return this.patch(r, ns, name, q, body, req.headers["content-type"] ?? "");
    if (method === "POST" && !name) return this.create(r, ns, q, body);
    if (method === "DELETE" && name) return this.delete(r, ns, name, q, body);
    throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
  }

  private parseBody(body: string, yaml: boolean): JsonObject {
    try {
      const v = yaml ? parseYaml(body) : JSON.parse(body);
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
      return v as JsonObject;
    } catch (err) {
      throw new ApiError(400, "BadRequest", `error decoding request body: ${(err as Error).message}`);
    }
  }

  private checkIdentity(r: ResourceInfo, ns: string | undefined, name: string | undefined, obj: JsonObject) {
    if (obj.apiVersion !== apiVersionOf(r) || obj.kind !== r.kind) {
      throw new ApiError(
        400,
        "BadRequest",
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(r)})`,
      );
    }
    const m = (obj.metadata ?? {}) as any;
    if (name !== undefined && m.name !== undefined && m.name !== name) {
      throw new ApiError(
        400,
        "BadRequest",
        `the name of the object (${m.name}) does not match the name on the URL (${name})`,
      );
    }
    if (ns !== undefined && m.namespace !== undefined && m.namespace !== ns) {
      throw new ApiError(
        400,
        "BadRequest",
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
  }

  private patch(r: ResourceInfo, ns: string | undefined, name: string, q: URLSearchParams, body: string, ct: string) {
    const type = ct.split(";")[0]?.trim();
    const live = this.store.get(r, ns, name);
    if (type === "application/apply-patch+yaml") {
      const manager = q.get("fieldManager");
      if (!manager) {
        throw new ApiError(
          422,
          "Invalid",
          `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`,
          {
            group: "meta.k8s.io",
            kind: "PatchOptions",
            causes: [
              {
                reason: "FieldValueRequired",
                message: "Required value: is required for apply patch",
                field: "fieldManager",
              },
            ],
          },
        );
      }
      const applied = this.parseBody(body, true);
      this.checkIdentity(r, ns, name, applied);
      checkUnknownFields(r, applied);
      if (live && meta(live).deletionTimestamp) {
        throw new ApiError(
          409,
          "Conflict",
          `Operation cannot be fulfilled on ${r.plural} "${name}": object is being deleted`,
          {
            name,
            kind: r.plural,
          },
        );
      }
      const force = q.get("force") === "true";
      const result = serverSideApply(live, this.store.managers(r, ns, name), applied, manager, apiVersionOf(r), force);
      const m = result.object.metadata as any;
      m.name = name;
      if (r.namespaced) m.namespace = ns;
      validateObject(r, result.object);
      const stored = this.store.put(r, result.object, result.managers);
      return { code: live ? 200 : 201, body: stored };
    }
    if (type === "application/merge-patch+json") {
      if (!live) throw notFound(r.plural, r.group, name);
      const patch = this.parseBody(body, false);
      const next = mergePatch(live, patch) as JsonObject;
      validateObject(r, next);
      const managers = recordUpdate(
        live,
        next,
        this.store.managers(r, ns, name),
        q.get("fieldManager") ?? "kubectl-patch",
        apiVersionOf(r),
      );
      return { code: 200, body: this.store.put(r, next, managers) };
    }
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
    );
  }

  private create(r: ResourceInfo, ns: string | undefined, q: URLSearchParams, body: string) {
    const obj = this.parseBody(body, false);
    this.checkIdentity(r, ns, undefined, obj);
    const name = String((obj.metadata as any)?.name ?? "");
    if (name && this.store.get(r, ns, name)) {
      throw new ApiError(
        409,
        "AlreadyExists",
        `${r.group ? `${r.plural}.${r.group}` : r.plural} "${name}" already exists`,
        {
          name,
          ...(r.group ? { group: r.group } : {}),
          kind: r.plural,
        },
      );
    }
    if (r.namespaced) (obj.metadata as any).namespace = ns;
    validateObject(r, obj);
    const managers = recordUpdate({}, obj, [], q.get("fieldManager") ?? "unknown", apiVersionOf(r));
    if (r.kind === "Namespace") this.namespaces.add(name);
    return { code: 201, body: this.store.put(r, obj, managers) };
  }

  private delete(r: ResourceInfo, ns: string | undefined, name: string, q: URLSearchParams, body: string) {
    const live = this.store.getOrThrow(r, ns, name);
    let policy = q.get("propagationPolicy") ?? undefined;
    if (!policy && body) {
      const opts = this.parseBody(body, false);
      policy = (opts.propagationPolicy as string | undefined) ?? undefined;
    }
    policy ??= "Background";
    if (!["Foreground", "Background", "Orphan"].includes(policy)) {
      throw new ApiError(
        422,
        "Invalid",
        `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}"`,
      );
    }
    const uid = meta(live).uid as string;
    const details = { name, ...(r.group ? { group: r.group } : {}), kind: r.plural, uid };
    if (policy === "Orphan") {
      for (const res of RESOURCES) {
        for (const o of this.store.list(res, ns)) {
          const refs = (meta(o).ownerReferences ?? []) as any[];
          if (refs.some((x) => x.uid === uid)) {
            this.store.update(
              res,
              ns,
              meta(o).name,
              (obj) => {
                meta(obj).ownerReferences = refs.filter((x) => x.uid !== uid);
                if (meta(obj).ownerReferences.length === 0) delete meta(obj).ownerReferences;
              },
              "garbage-collector",
            );
          }
        }
      }
      this.store.remove(r, ns, name);
      return { code: 200, body: successStatus(details) };
    }
    if (policy === "Foreground") {
      if (meta(live).deletionTimestamp) return { code: 200, body: live };
      const marked = this.store.update(
        r,
        ns,
        name,
        (o) => {
          meta(o).deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
          meta(o).finalizers = [...(meta(o).finalizers ?? []), "foregroundDeletion"];
        },
        "kube-apiserver",
      );
      setTimeout(
        () => {
          this.controllers.collectGarbage(ns as string, uid);
          this.store.remove(r, ns, name);
        },
        (this.opts.controllerDelayMs ?? 5) * 4,
      );
      return { code: 200, body: marked };
    }
    this.store.remove(r, ns, name);
    setTimeout(() => this.controllers.collectGarbage(ns as string, uid), this.opts.controllerDelayMs ?? 5);
    return { code: 200, body: successStatus(details) };
  }
}
