import { FleetError } from "../errors.js";
import type { Repository, StoredRecord } from "../plugins/store.js";
import { stableStringify } from "../util/stable-json.js";
import type { CatalogEntry, CatalogRepository } from "./catalog.js";

/** The `kind` of catalog entries among a store's records. */
export const CATALOG_RECORD_KIND = "catalog";

const recordId = (name: string) => `${CATALOG_RECORD_KIND}:${name}`;
const entryOf = (r: StoredRecord) => structuredClone(r.data) as unknown as CatalogEntry;

/**
 * Catalog entries kept in a fleet store's `records` (kind `catalog`, id `catalog:<name>`), so every
 * API replica on the store sees what any of them loaded. `put` is an upsert that writes only when
 * the entry changed, so replicas loading the same files at start do not fight.
 */
export function storeCatalogRepository(records: Repository<StoredRecord>): CatalogRepository {
  return {
    async list(o) {
      return (await records.list(o)).filter((r) => r.kind === CATALOG_RECORD_KIND).map(entryOf);
    },
    async get(name, o) {
      const r = await records.get(recordId(name), o);
      return r?.kind === CATALOG_RECORD_KIND ? entryOf(r) : undefined;
    },
    async put(entry, o) {
      const id = recordId(entry.name);
      const data = JSON.parse(JSON.stringify(entry)) as Record<string, unknown>;
      for (let attempt = 0; ; attempt++) {
        const current = await records.get(id, o);
        try {
          if (!current) await records.create({ id, kind: CATALOG_RECORD_KIND, name: entry.name, data }, o);
          else if (stableStringify(current.data) !== stableStringify(data)) {
            await records.update({ ...current, data }, o);
          }
          return;
        } catch (err) {
          const code = FleetError.isInstance(err) ? err.code : undefined;
          if (attempt >= 5 || (code !== "CONFLICT" && code !== "ALREADY_EXISTS")) throw err;
        }
      }
    },
    delete: (name, o) => records.delete(recordId(name), o),
  };
}
