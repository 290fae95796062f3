import type { Instance, ServerDefinition, Template } from "../model/types.js";
import type { CallOptions, PluginV1 } from "./common.js";

export interface Revisioned {
  id: string;
  revision: number;
}

/**
 * One change seen by `watch`. `put` and `delete` name a document; `reset` (id `"*"`, no doc) says
 * changes may have been missed (a durable store's change feed reconnected): re-read what you cache.
 */
export interface StoreChange<T> {
  type: "put" | "delete" | "reset";
  id: string;
  doc?: T;
}

/** Filters of `Repository.query`; every given filter must match. */
export interface QueryFilter {
  /** `status` equals (instances: lifecycle status; servers: active/inactive/deprecated). */
  status?: string;
  /** Instances: `desired_state` equals. */
  desiredState?: string;
  /** Instances: `server_spec_id` equals. */
  serverId?: string;
  /** `name` starts with this (case-sensitive). */
  namePrefix?: string;
  /** Instances: `json_spec.labels[key]` exists, and equals `value` when given. */
  label?: { key: string; value?: string };
}

export interface RepositoryQuery {
  filter?: QueryFilter;
  /** Page size, 1..1000. */
  limit: number;
  /** `nextCursor` of the previous page; absent for the first page. */
  cursor?: string;
  /** Also count every match (`total`); costs a second pass. */
  count?: boolean;
}

export interface QueryPage<T> {
  /** Matches ordered by (`name`, `id`). */
  items: T[];
  /** Present when more matches follow; opaque. */
  nextCursor?: string;
  /** When `count` was asked. */
  total?: number;
}

/** A lease on one key (an instance id): who holds it, its fencing token and when it expires. */
export interface Lease {
  key: string;
  holder: string;
  /** Fencing token: grows every time the lease changes hands (or is taken again after expiring). */
  token: number;
  /** ISO time, judged by the store's clock (the database's `now()` for PostgreSQL). */
  expiresAt: string;
}

/** What a fenced write carries: the write is refused (`FENCED`) unless `token` is the key's current token. */
export interface LeaseFence {
  key: string;
  token: number;
}

/** A lease as listed, with whether it is unexpired by the store's clock. */
export interface LeaseState extends Lease {
  live: boolean;
}

/**
 * Optional store capability: leases with fencing tokens, one clock (the store's). A worker holds a
 * lease while it owns an instance, renews it while it works, and carries the token on every write
 * (`update`/`delete` option `fence`); once another holder took the lease over, those writes throw
 * `FENCED` and change nothing.
 */
export interface LeaseStore {
  /**
   * Takes `key` for `holder` for `ttlMs` when nobody holds it, its lease expired, or `holder`
   * holds it already (then it is renewed, same token). Resolves `undefined` when another holder's
   * lease is live.
   */
  acquire(key: string, holder: string, ttlMs: number, options?: CallOptions): Promise<Lease | undefined>;
  /** Extends the given leases of `holder` whose token is still current; resolves the ones renewed. */
  renew(holder: string, fences: LeaseFence[], ttlMs: number, options?: CallOptions): Promise<Lease[]>;
  /** Gives a lease up (keeps its token counting); false when `holder` no longer holds that token. */
  release(holder: string, fence: LeaseFence, options?: CallOptions): Promise<boolean>;
  /** Every lease with its liveness by the store's clock. */
  list(options?: CallOptions): Promise<LeaseState[]>;
}

/** Write options of a repository: a lease fence checked atomically with the write. */
export type WriteOptions = CallOptions & { fence?: LeaseFence };

/**
 * One collection with optimistic concurrency. Stores return documents that cannot change the store:
 * copies or deeply frozen objects (the built-in stores freeze). Build a new object to update.
 * Writes are all-or-nothing: a write that fails (a document JSON cannot hold, a failed persist)
 * changes nothing.
 */
export interface Repository<T extends Revisioned> {
  get(id: string, options?: CallOptions): Promise<T | undefined>;
  list(options?: CallOptions): Promise<T[]>;
  /** Stores with `revision: 1`. Throws `ALREADY_EXISTS` when the id is taken. */
  create(doc: Omit<T, "revision">, options?: CallOptions): Promise<T>;
  /**
   * Writes when `doc.revision` equals the stored revision; returns the document with
   * `revision + 1`. Throws `CONFLICT` on a stale revision, `NOT_FOUND` when absent, `FENCED` when
   * `options.fence` is not the current token of its key (stores with `leases`).
   */
  update(doc: T, options?: WriteOptions): Promise<T>;
  /** Resolves true when something was deleted. With `expectedRevision`, a mismatch throws `CONFLICT`. */
  delete(id: string, options?: WriteOptions & { expectedRevision?: number }): Promise<boolean>;
  /**
   * Optional, indexed: documents whose `name` equals `name` (names are unique among live documents,
   * so usually zero or one). The engine falls back to `list()` when absent.
   */
  findByName?(name: string, options?: CallOptions): Promise<T[]>;
  /**
   * Optional capability: one page of filtered documents in (`name`, `id`) order, keyset-paged by an
   * opaque cursor (a page never skips or repeats a document that exists throughout the paging).
   * Callers fall back to `list()` and filter themselves when absent.
   */
  query?(query: RepositoryQuery, options?: CallOptions): Promise<QueryPage<T>>;
  /** Calls the listener on every change made through this store. Returns an unsubscribe function. */
  watch?(listener: (change: StoreChange<T>) => void): () => void;
}

/** A template as stored: the template's `key` is its `id`. */
export interface StoredTemplate extends Template {
  id: string;
  revision: number;
}

/**
 * A managed API key as stored: only the sha256 of the key, never the key. `policy` is the
 * host's authorization policy (JSON, validated by the host).
 */
export interface ApiKeyRecord extends Revisioned {
  /** Key id (`key_...`): what audit lines and listings name. */
  id: string;
  name: string;
  role: "viewer" | "operator" | "admin";
  /** Hex sha256 of the key. */
  sha256: string;
  policy: Record<string, unknown> | null;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

/**
 * A small keyed document of another kind than servers, instances, templates and keys: catalog
 * entries (`kind: "catalog"`), external id mappings (`kind: "legacy-id"`). `id` is unique across
 * kinds (prefix it with the kind); `name` is indexed (`findByName`) and need not be unique.
 */
export interface StoredRecord extends Revisioned {
  id: string;
  kind: string;
  name: string;
  data: Record<string, unknown>;
}

/** Desired state: the source of truth. */
export interface FleetStore extends PluginV1 {
  readonly servers: Repository<ServerDefinition>;
  readonly instances: Repository<Instance>;
  /** Optional: stored templates. Without it the engine keeps templates in its own memory. */
  readonly templates?: Repository<StoredTemplate>;
  /** Optional: leases with fencing tokens; the engine's instance claims use them when present. */
  readonly leases?: LeaseStore;
  /** Optional cheap reachability check (`/ready`); the engine falls back to a one-document read. */
  ping?(options?: CallOptions): Promise<void>;
  /** Optional: managed API keys (hashed), shared by every replica using the store. */
  readonly keys?: Repository<ApiKeyRecord>;
  /** Optional: records of other kinds (catalog entries, id mappings), shared by every replica using the store. */
  readonly records?: Repository<StoredRecord>;
}
