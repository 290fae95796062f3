import { FleetError } from "../errors.js";
import type { Revisioned, StoreChange } from "../plugins/store.js";

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** Deepest nesting a stored document may have; deeper (or cyclic) input is refused, never stored. */
export const MAX_DOCUMENT_DEPTH = 256;

function notSerialisable(path: string[], why: string): FleetError {
  const at = path.join(".");
  return new FleetError("SPEC_INVALID", `document is not JSON-serialisable at ${at || "(root)"}: ${why}`, {
    path: at,
    isRetryable: false,
  });
}

/**
 * Detaches caller-owned input from the store (the caller may keep mutating its object): copies and
 * freezes every unfrozen object, and shares frozen subtrees as they are (they are immutable
 * already, typically the previous revision's), so an update costs what changed, not the document.
 * Throws `SPEC_INVALID` (nothing is stored) for what JSON cannot hold: BigInt, functions, symbols,
 * non-finite numbers, and nesting past `MAX_DOCUMENT_DEPTH` (which is also how a cycle ends).
 */
export function own<T>(value: T, path: string[] = []): T {
  switch (typeof value) {
    case "bigint":
    case "function":
    case "symbol":
      throw notSerialisable(path, `a ${typeof value} has no JSON form`);
    case "number":
      if (!Number.isFinite(value)) throw notSerialisable(path, `${String(value)} has no JSON form`);
      return value;
  }
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  if (path.length >= MAX_DOCUMENT_DEPTH) {
    throw notSerialisable(path.slice(0, 8).concat("…"), `nested deeper than ${MAX_DOCUMENT_DEPTH} levels (or cyclic)`);
  }
  if (Array.isArray(value)) return Object.freeze(value.map((v, i) => own(v, [...path, String(i)]))) as T;
  if (value instanceof Date) return Object.freeze(new Date(value.getTime())) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = own(v, [...path, key]);
  }
  return Object.freeze(out) as T;
}

/** A validated change not applied yet: durable stores persist `docsAfter()` first, then `apply()`. */
export interface Staged<T, R> {
  result: R;
  /** False when nothing changes (deleting an absent document). */
  changed: boolean;
  /** The collection's documents as they will be after `apply()`. */
  docsAfter(): T[];
  apply(): R;
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
    return this.stageCreate(doc).apply();
  }

  update(doc: T): T {
    return this.stageUpdate(doc).apply();
  }

  delete(id: string, expectedRevision?: number): boolean {
    return this.stageDelete(id, expectedRevision).apply();
  }

  /** Checks and copies a create without changing anything. */
  stageCreate(doc: Omit<T, "revision">): Staged<T, T> {
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
    return this.staged(stored.id, undefined, stored, stored);
  }

  stageUpdate(doc: T): Staged<T, T> {
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
    return this.staged(stored.id, current, stored, stored);
  }

  stageDelete(id: string, expectedRevision?: number): Staged<T, boolean> {
    const current = this.docs.get(id);
    if (!current) {
      return { result: false, changed: false, docsAfter: () => this.values(), apply: () => false };
    }
    if (expectedRevision !== undefined && current.revision !== expectedRevision) {
      throw new FleetError("CONFLICT", `${this.kind} ${id} was changed concurrently`, {
        path: "revision",
        details: { expected: expectedRevision, actual: current.revision },
      });
    }
    return this.staged(id, current, undefined, true);
  }

  private staged<R>(id: string, prev: T | undefined, next: T | undefined, result: R): Staged<T, R> {
    let applied = false;
    return {
      result,
      changed: true,
      docsAfter: () => {
        const out: T[] = [];
        for (const d of this.docs.values()) {
          if (d.id !== id) out.push(d);
          else if (next) out.push(next);
        }
        if (!prev && next) out.push(next);
        return out;
      },
      apply: () => {
        if (applied) return result;
        applied = true;
        if (this.docs.get(id) !== prev) {
          throw new FleetError("CONFLICT", `${this.kind} ${id} changed while a write was staged`, { path: "revision" });
        }
        if (next) this.docs.set(id, next);
        else this.docs.delete(id);
        this.index(prev, next);
        this.notify(next ? { type: "put", id, doc: next } : { type: "delete", id });
        return result;
      },
    };
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
