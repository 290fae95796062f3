import { FleetError } from "../errors.js";
import type { Revisioned, StoreChange } from "../plugins/store.js";

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/**
 * Detaches caller-owned input from the store (the caller may keep mutating its object): copies and
 * freezes every unfrozen object, and shares frozen subtrees as they are (they are immutable
 * already, typically the previous revision's), so an update costs what changed, not the document.
 */
export function own<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) return Object.freeze(value.map(own)) as T;
  if (value instanceof Date) return Object.freeze(new Date(value.getTime())) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = own(v);
  }
  return Object.freeze(out) as T;
}

/**
 * One collection held in memory: frozen documents, revision checks, change listeners. The memory
 * store uses it directly; the file store persists it.
 */
export class DocumentTable<T extends Revisioned> {
  private docs = new Map<string, T>();
  private listeners = new Set<(change: StoreChange<T>) => void>();
  /** name -> ids (documents with a string `name`). */
  private names = new Map<string, Set<string>>();

  constructor(readonly kind: string) {}

  get size(): number {
    return this.docs.size;
  }

  get(id: string): T | undefined {
    return this.docs.get(id);
  }

  values(): T[] {
    return [...this.docs.values()];
  }

  byName(name: string): T[] {
    const ids = this.names.get(name);
    if (!ids) return [];
    return [...ids].map((id) => this.docs.get(id)).filter((d): d is T => d !== undefined);
  }

  private index(prev: T | undefined, next: T | undefined): void {
    const pn = (prev as { name?: unknown } | undefined)?.name;
    const nn = (next as { name?: unknown } | undefined)?.name;
    if (pn === nn) return;
    if (typeof pn === "string") {
      const set = this.names.get(pn);
      set?.delete(prev!.id);
      if (set?.size === 0) this.names.delete(pn);
    }
    if (typeof nn === "string") {
      const set = this.names.get(nn) ?? new Set<string>();
      set.add(next!.id);
      this.names.set(nn, set);
    }
  }

  create(doc: Omit<T, "revision">): T {
    if (typeof doc?.id !== "string" || doc.id === "") {
      throw new FleetError("SPEC_INVALID", `${this.kind} id must be a non-empty string`, { path: "id" });
    }
    if (this.docs.has(doc.id)) {
      throw new FleetError("ALREADY_EXISTS", `${this.kind} ${doc.id} already exists`, {
        path: "id",
        isRetryable: false,
      });
    }
    const stored = own({ ...doc, revision: 1 } as T);
    this.docs.set(stored.id, stored);
    this.index(undefined, stored);
    this.notify({ type: "put", id: stored.id, doc: stored });
    return stored;
  }

  update(doc: T): T {
    const current = this.docs.get(doc.id);
    if (!current)
      throw new FleetError("NOT_FOUND", `${this.kind} ${doc.id} not found`, { path: "id", isRetryable: false });
    if (current.revision !== doc.revision) {
      throw new FleetError(
        "CONFLICT",
        `${this.kind} ${doc.id} was changed concurrently (revision ${doc.revision}, stored ${current.revision})`,
        { path: "revision", details: { expected: doc.revision, actual: current.revision } },
      );
    }
    const stored = own({ ...doc, revision: current.revision + 1 });
    this.docs.set(stored.id, stored);
    this.index(current, stored);
    this.notify({ type: "put", id: stored.id, doc: stored });
    return stored;
  }

  delete(id: string, expectedRevision?: number): boolean {
    const current = this.docs.get(id);
    if (!current) return false;
    if (expectedRevision !== undefined && current.revision !== expectedRevision) {
      throw new FleetError("CONFLICT", `${this.kind} ${id} was changed concurrently`, {
        path: "revision",
        details: { expected: expectedRevision, actual: current.revision },
      });
    }
    this.docs.delete(id);
    this.index(current, undefined);
    this.notify({ type: "delete", id });
    return true;
  }

  /** Replaces the whole content (file store reload); emits changes for what differs. */
  replaceAll(docs: T[]): void {
    const next = new Map(docs.map((d) => [d.id, deepFreeze(d)]));
    const prev = this.docs;
    this.docs = next;
    this.names.clear();
    for (const d of next.values()) this.index(undefined, d);
    for (const [id, doc] of next) {
      if (prev.get(id)?.revision !== doc.revision) this.notify({ type: "put", id, doc });
    }
    for (const id of prev.keys()) if (!next.has(id)) this.notify({ type: "delete", id });
  }

  watch(listener: (change: StoreChange<T>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(change: StoreChange<T>): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch {
        // a listener's failure never breaks a write
      }
    }
  }
}
