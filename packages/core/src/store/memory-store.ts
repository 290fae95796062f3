import { throwIfAborted } from "../errors.js";
import type { Instance, ServerDefinition } from "../model/types.js";
import type { CallOptions } from "../plugins/common.js";
import type {
  ApiKeyRecord,
  FleetStore,
  LeaseStore,
  Repository,
  Revisioned,
  StoredRecord,
  StoredTemplate,
} from "../plugins/store.js";
import { LeaseTable } from "./lease-table.js";
import { queryDocuments } from "./query.js";
import { DocumentTable } from "./table.js";

/**
 * A repository over one table. With `leases`, writes carrying a `fence` are checked against it in the
 * same synchronous step as the write, and deleting a document drops the lease of its id.
 */
export function tableRepository<T extends Revisioned>(table: DocumentTable<T>, leases?: LeaseTable): Repository<T> {
  return {
    async get(id: string, o?: CallOptions) {
      throwIfAborted(o?.signal);
      return table.get(id);
    },
    async list(o?: CallOptions) {
      throwIfAborted(o?.signal);
      return table.values();
    },
    async create(doc, o?: CallOptions) {
      throwIfAborted(o?.signal);
      return table.create(doc);
    },
    async update(doc, o) {
      throwIfAborted(o?.signal);
      leases?.check(o?.fence);
      return table.update(doc);
    },
    async delete(id, o) {
      throwIfAborted(o?.signal);
      leases?.check(o?.fence);
      const deleted = table.delete(id, o?.expectedRevision);
      if (deleted) leases?.forget(id);
      return deleted;
    },
    async findByName(name: string, o?: CallOptions) {
      throwIfAborted(o?.signal);
      return table.byName(name);
    },
    async query(q, o?: CallOptions) {
      throwIfAborted(o?.signal);
      return queryDocuments(table.values(), q);
    },
    watch: (listener) => table.watch(listener),
  };
}

/** A `LeaseStore` over one in-memory table. */
export function tableLeases(table: LeaseTable): LeaseStore {
  return {
    async acquire(key, holder, ttlMs, o) {
      throwIfAborted(o?.signal);
      return table.acquire(key, holder, ttlMs);
    },
    async renew(holder, fences, ttlMs, o) {
      throwIfAborted(o?.signal);
      return table.renew(holder, fences, ttlMs);
    },
    async release(holder, fence, o) {
      throwIfAborted(o?.signal);
      return table.release(holder, fence);
    },
    async list(o) {
      throwIfAborted(o?.signal);
      return table.list();
    },
  };
}

/**
 * Desired state in memory (tests, single-process demos). Documents are deeply frozen. Leases are
 * judged by `now` (the process clock unless given).
 */
export function memoryStore(options: { now?: () => number } = {}): FleetStore {
  const leases = new LeaseTable(options.now);
  const store: FleetStore = {
    specificationVersion: "v1",
    name: "memory",
    servers: tableRepository(new DocumentTable<ServerDefinition>("server")),
    instances: tableRepository(new DocumentTable<Instance>("instance"), leases),
    leases: tableLeases(leases),
    templates: tableRepository(new DocumentTable<StoredTemplate>("template")),
    keys: tableRepository(new DocumentTable<ApiKeyRecord>("api key")),
    records: tableRepository(new DocumentTable<StoredRecord>("record")),
    async ping() {},
    async close() {},
    [Symbol.asyncDispose]: () => store.close(),
  };
  return store;
}
