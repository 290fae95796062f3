import type { Instance, ServerDefinition } from "../model/types.js";
import type { CallOptions, PluginV1 } from "./common.js";

export interface Revisioned {
  id: string;
  revision: number;
}

export interface StoreChange<T> {
  type: "put" | "delete";
  id: string;
  doc?: T;
}

/**
 * One collection with optimistic concurrency. Stores return documents that cannot change the store:
 * copies or deeply frozen objects (the built-in stores freeze). Build a new object to update.
 */
export interface Repository<T extends Revisioned> {
  get(id: string, options?: CallOptions): Promise<T | undefined>;
  list(options?: CallOptions): Promise<T[]>;
  /** Stores with `revision: 1`. Throws `ALREADY_EXISTS` when the id is taken. */
  create(doc: Omit<T, "revision">, options?: CallOptions): Promise<T>;
  /**
   * Writes when `doc.revision` equals the stored revision; returns the document with
   * `revision + 1`. Throws `CONFLICT` on a stale revision, `NOT_FOUND` when absent.
   */
  update(doc: T, options?: CallOptions): Promise<T>;
  /** Resolves true when something was deleted. With `expectedRevision`, a mismatch throws `CONFLICT`. */
  delete(id: string, options?: CallOptions & { expectedRevision?: number }): Promise<boolean>;
  /**
   * Optional, indexed: documents whose `name` equals `name` (names are unique among live documents,
   * so usually zero or one). The engine falls back to `list()` when absent.
   */
  findByName?(name: string, options?: CallOptions): Promise<T[]>;
  /** Calls the listener on every change made through this store. Returns an unsubscribe function. */
  watch?(listener: (change: StoreChange<T>) => void): () => void;
}

/** Desired state: the source of truth. */
export interface FleetStore extends PluginV1 {
  readonly servers: Repository<ServerDefinition>;
  readonly instances: Repository<Instance>;
}
