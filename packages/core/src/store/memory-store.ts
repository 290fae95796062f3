import { throwIfAborted } from "../errors.js";
import type { Instance, ServerDefinition } from "../model/types.js";
import type { CallOptions } from "../plugins/common.js";
import type { FleetStore, Repository, Revisioned } from "../plugins/store.js";
import { DocumentTable } from "./table.js";

export function tableRepository<T extends Revisioned>(table: DocumentTable<T>): Repository<T> {
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
    async update(doc, o?: CallOptions) {
      throwIfAborted(o?.signal);
      return table.update(doc);
    },
    async delete(id, o) {
      throwIfAborted(o?.signal);
      return table.delete(id, o?.expectedRevision);
    },
    async findByName(name: string, o?: CallOptions) {
      throwIfAborted(o?.signal);
      return table.byName(name);
    },
    watch: (listener) => table.watch(listener),
  };
}

/** Desired state in memory (tests, single-process demos). Documents are deeply frozen. */
export function memoryStore(): FleetStore {
  const store: FleetStore = {
    specificationVersion: "v1",
    name: "memory",
    servers: tableRepository(new DocumentTable<ServerDefinition>("server")),
    instances: tableRepository(new DocumentTable<Instance>("instance")),
    async close() {},
    [Symbol.asyncDispose]: () => store.close(),
  };
  return store;
}
