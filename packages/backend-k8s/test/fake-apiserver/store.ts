import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { apiVersionOf, type ResourceInfo } from "./resources.js";
import { matches, type Requirement } from "./selectors.js";
import { type JsonObject, type ManagerEntry, recordUpdate, renderManagedFields, userContent } from "./ssa.js";
import { ApiError, notFound } from "./status.js";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredEvent {
  rv: number;
  type: EventType;
  resource: ResourceInfo;
  object: JsonObject;
}

interface Entry {
  resource: ResourceInfo;
  object: JsonObject;
  managers: ManagerEntry[];
}

export interface Watcher {
  resource: ResourceInfo;
  namespace?: string;
  selector: Requirement[];
  send(ev: StoredEvent): void;
}

const meta = (o: JsonObject) => o.metadata as JsonObject;
const withoutMeta = (o: JsonObject) => {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
};

/** An etcd-like object store: one resourceVersion sequence, an event history for watches. */
export class ObjectStore {
  private entries = new Map<string, Entry>();
  private history: StoredEvent[] = [];
  private watchers = new Set<Watcher>();
  rv = 1;
  /** Events kept for watch resumption; older RVs get 410 Gone. */
  historyLimit = 1000;
  readonly listeners = new Set<(ev: StoredEvent) => void>();

  private key(r: ResourceInfo, ns: string | undefined, name: string) {
    return `${r.plural}.${r.group}/${ns ?? ""}/${name}`;
  }

  get(r: ResourceInfo, ns: string | undefined, name: string): JsonObject | undefined {
    return this.entries.get(this.key(r, ns, name))?.object;
  }

  getOrThrow(r: ResourceInfo, ns: string | undefined, name: string): JsonObject {
    const o = this.get(r, ns, name);
    if (!o) throw notFound(r.plural, r.group, name);
    return o;
  }

  managers(r: ResourceInfo, ns: string | undefined, name: string): ManagerEntry[] {
    return this.entries.get(this.key(r, ns, name))?.managers ?? [];
  }

  list(r: ResourceInfo, ns: string | undefined, selector: Requirement[] = []): JsonObject[] {
    const out: JsonObject[] = [];
    for (const e of this.entries.values()) {
      if (e.resource !== r) continue;
      const m = meta(e.object);
      if (ns !== undefined && m.namespace !== ns) continue;
      if (!matches(selector, m.labels as Record<string, string> | undefined)) continue;
      out.push(e.object);
    }
    return out.sort((a, b) => String(meta(a).name).localeCompare(String(meta(b).name)));
  }

  all(): { resource: ResourceInfo; object: JsonObject }[] {
    return [...this.entries.values()].map((e) => ({ resource: e.resource, object: e.object }));
  }

  /**
   * Writes an object. Returns the stored version; when nothing changed returns the old one with
   * the same resourceVersion and emits no event.
   */
  put(r: ResourceInfo, object: JsonObject, managers: ManagerEntry[]): JsonObject {
    const m = meta(object);
    const ns = r.namespaced ? (m.namespace as string) : undefined;
    const k = this.key(r, ns, m.name as string);
    const prev = this.entries.get(k);
    object.apiVersion = apiVersionOf(r);
    object.kind = r.kind;
    if (prev) {
      const pm = meta(prev.object);
      m.uid = pm.uid as string;
      m.creationTimestamp = pm.creationTimestamp as string;
      m.generation = pm.generation as number;
      if (pm.deletionTimestamp) m.deletionTimestamp = pm.deletionTimestamp as string;
      m.managedFields = renderManagedFields(managers) as unknown as JsonObject[];
      m.resourceVersion = pm.resourceVersion as string;
      if (isDeepStrictEqual(prev.object, object)) return prev.object;
      if (!isDeepStrictEqual(withoutMeta(prev.object), withoutMeta(object))) {
        const specChanged = !isDeepStrictEqual(withoutMeta(userContent(prev.object)), withoutMeta(userContent(object)));
        if (specChanged) m.generation = Number(pm.generation ?? 1) + 1;
      }
    } else {
      m.uid = randomUUID();
      m.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      m.generation = 1;
      m.managedFields = renderManagedFields(managers) as unknown as JsonObject[];
    }
    this.rv += 1;
    m.resourceVersion = String(this.rv);
    this.entries.set(k, { resource: r, object, managers });
    this.emit({ rv: this.rv, type: prev ? "MODIFIED" : "ADDED", resource: r, object });
    return object;
  }

  /** A non-apply write by `manager` (controllers, test drift): ownership of changed fields moves. */
  update(
    r: ResourceInfo,
    ns: string | undefined,
    name: string,
    mutate: (o: JsonObject) => void,
    manager: string,
  ): JsonObject {
    const e = this.entries.get(this.key(r, ns, name));
    if (!e) throw notFound(r.plural, r.group, name);
    const next = structuredClone(e.object);
    mutate(next);
    const managers = recordUpdate(e.object, next, e.managers, manager, apiVersionOf(r));
    return this.put(r, next, managers);
  }

  /** Status writes do not change generation or field ownership of spec fields. */
  updateStatus(r: ResourceInfo, ns: string | undefined, name: string, status: JsonObject): JsonObject | undefined {
    const e = this.entries.get(this.key(r, ns, name));
    if (!e) return undefined;
    if (isDeepStrictEqual(e.object.status, status)) return e.object;
    const next = structuredClone(e.object);
    next.status = status;
    return this.put(r, next, e.managers);
  }

  remove(r: ResourceInfo, ns: string | undefined, name: string): JsonObject | undefined {
    const k = this.key(r, ns, name);
    const e = this.entries.get(k);
    if (!e) return undefined;
    this.entries.delete(k);
    this.rv += 1;
    const gone = structuredClone(e.object);
    meta(gone).resourceVersion = String(this.rv);
    this.emit({ rv: this.rv, type: "DELETED", resource: r, object: gone });
    return gone;
  }

  private emit(ev: StoredEvent) {
    this.history.push(ev);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    for (const w of this.watchers) this.deliver(w, ev);
    for (const l of this.listeners) l(ev);
  }

  private deliver(w: Watcher, ev: StoredEvent) {
    if (ev.resource !== w.resource) return;
    const m = meta(ev.object);
    if (w.namespace !== undefined && m.namespace !== w.namespace) return;
    if (!matches(w.selector, m.labels as Record<string, string> | undefined)) return;
    w.send(ev);
  }

  /** Drops history so any older resourceVersion is too old (tests of 410 handling). */
  compact(): void {
    this.history = [];
  }

  /**
   * Registers a watcher from `sinceRv` (exclusive). Throws 410 Expired when history no longer
   * reaches back that far.
   */
  watch(w: Watcher, sinceRv: number | undefined): () => void {
    if (sinceRv !== undefined && sinceRv < this.rv) {
      const oldest = this.history[0]?.rv;
      if (oldest === undefined || oldest > sinceRv + 1) {
        throw new ApiError(410, "Expired", `too old resource version: ${sinceRv} (${oldest ?? this.rv})`);
      }
      for (const ev of this.history) if (ev.rv > sinceRv) this.deliver(w, ev);
    }
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  ensureNamespaceExists(r: ResourceInfo, ns: string | undefined, namespaces: Set<string>) {
    if (r.namespaced && ns !== undefined && !namespaces.has(ns)) {
      throw new ApiError(404, "NotFound", `namespaces "${ns}" not found`, { name: ns, kind: "namespaces" });
    }
  }
}
