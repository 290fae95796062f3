import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { parseOptions } from "../adapter/options.js";
import { FleetError, throwIfAborted } from "../errors.js";
import type { Instance, ServerDefinition } from "../model/types.js";
import type { CallOptions } from "../plugins/common.js";
import type {
  ApiKeyRecord,
  FleetStore,
  LeaseFence,
  LeaseStore,
  Repository,
  Revisioned,
  StoredRecord,
  StoredTemplate,
} from "../plugins/store.js";
import { withFileLock } from "./file-lock.js";
import { type LeaseRecord, LeaseTable } from "./lease-table.js";
import { queryDocuments } from "./query.js";
import { DocumentTable, type Staged } from "./table.js";

const optionsSchema = z.object({
  path: z.string().min(1),
  lockStaleMs: z.number().int().positive().optional(),
  lockTimeoutMs: z.number().int().positive().optional(),
  /**
   * Offer fenced leases (`store.leases`), so the engine claims instances by lease. Off by default:
   * every acquire and renewal rewrites the whole file under its lock, which with hundreds of
   * instances and several workers is slow enough that renewals come late and leases change hands;
   * the engine then uses its `updated_at` claims, as before leases. Use PostgreSQL for fenced leases
   * at scale.
   */
  leases: z.boolean().optional(),
});

export type FileStoreOptions = z.input<typeof optionsSchema>;

interface Snapshot {
  format: "mcpfleet-store";
  formatVersion: 1;
  servers: ServerDefinition[];
  instances: Instance[];
  /** Absent in files written before templates were stored. */
  templates?: StoredTemplate[];
  /** Absent in files written before leases were stored. */
  leases?: LeaseRecord[];
  /** Managed API keys (hashed); absent in files written before keys were stored. */
  keys?: ApiKeyRecord[];
  /** Catalog entries, id mappings; absent in files written before records were stored. */
  records?: StoredRecord[];
}

/** Where a collection's documents go in the snapshot (the other collections as they are). */
type Place<T> = (after: T[]) => Pick<Snapshot, "servers" | "instances" | "templates" | "keys" | "records">;

/**
 * A durable store in one JSON file. Every write takes a cross-process lock, reloads when another
 * process changed the file, applies the change with revision checks, then writes a temp file,
 * fsyncs it and renames it over the old one: a crash mid-write leaves the previous file intact.
 * Several processes may share one file (api + workers on one machine).
 */
export function fileStore(options: FileStoreOptions): FleetStore {
  const parsed = { data: parseOptions("file-store", optionsSchema, options) };
  const { path } = parsed.data;
  const lockPath = `${path}.lock`;
  const servers = new DocumentTable<ServerDefinition>("server");
  const instances = new DocumentTable<Instance>("instance");
  const templates = new DocumentTable<StoredTemplate>("template");
  const leases = new LeaseTable();
  const keys = new DocumentTable<ApiKeyRecord>("api key");
  const records = new DocumentTable<StoredRecord>("record");
  let loadedStamp = "";
  let chain: Promise<unknown> = Promise.resolve();
  let closed = false;

  const stampOf = async (): Promise<string | undefined> => {
    try {
      const s = await stat(path);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  };

  const refresh = async (): Promise<void> => {
    const stamp = await stampOf();
    if (stamp === undefined) {
      if (loadedStamp !== "") {
        servers.replaceAll([]);
        instances.replaceAll([]);
        templates.replaceAll([]);
        leases.replaceAll([]);
        keys.replaceAll([]);
        records.replaceAll([]);
        loadedStamp = "";
      }
      return;
    }
    if (stamp === loadedStamp) return;
    const text = await readFile(path, "utf8");
    let snap: Snapshot;
    try {
      snap = JSON.parse(text) as Snapshot;
      if (
        snap.format !== "mcpfleet-store" ||
        !Array.isArray(snap.servers) ||
        !Array.isArray(snap.instances) ||
        (snap.templates !== undefined && !Array.isArray(snap.templates)) ||
        (snap.leases !== undefined && !Array.isArray(snap.leases)) ||
        (snap.keys !== undefined && !Array.isArray(snap.keys)) ||
        (snap.records !== undefined && !Array.isArray(snap.records))
      ) {
        throw new Error("not an mcpfleet store file");
      }
    } catch (err) {
      throw new FleetError("INTERNAL", `[mcpfleet/file-store] ${path} is unreadable: ${(err as Error).message}`, {
        path,
        cause: err,
      });
    }
    servers.replaceAll(snap.servers);
    instances.replaceAll(snap.instances);
    templates.replaceAll(snap.templates ?? []);
    leases.replaceAll(snap.leases ?? []);
    keys.replaceAll(Array.isArray(snap.keys) ? snap.keys : []);
    records.replaceAll(snap.records ?? []);
    loadedStamp = stamp;
  };

  /**
   * Writes the snapshot that a staged change produces, then applies the change in memory. Serialises
   * before touching the disk and removes its temp file on any failure, so a failed write changes
   * nothing: not the file, not this process's view, and no `*.tmp` is left behind.
   */
  const persist = async <T extends Revisioned, R>(
    staged: Staged<T, R>,
    place: Place<T>,
    leasesAfter?: LeaseTable,
  ): Promise<R> => {
    if (!staged.changed) return staged.apply();
    const lease = leasesAfter ?? leases;
    await writeSnapshot({
      format: "mcpfleet-store",
      formatVersion: 1,
      ...place(staged.docsAfter()),
      leases: lease.values(),
    });
    if (leasesAfter) leases.replaceAll(leasesAfter.values());
    return staged.apply();
  };

  const writeSnapshot = async (snap: Snapshot): Promise<void> => {
    let text: string;
    try {
      text = JSON.stringify(snap);
    } catch (err) {
      throw new FleetError(
        "SPEC_INVALID",
        `[mcpfleet/file-store] document cannot be stored: ${(err as Error).message}`,
        {
          cause: err,
          isRetryable: false,
        },
      );
    }
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}.tmp`;
    try {
      const handle = await open(tmp, "w", 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw new FleetError("INTERNAL", `[mcpfleet/file-store] cannot write ${path}: ${(err as Error).message}`, {
        path,
        cause: err,
      });
    }
    try {
      const dir = await open(dirname(path), "r");
      await dir.sync().finally(() => dir.close());
    } catch {
      // some filesystems refuse fsync on directories
    }
    loadedStamp = (await stampOf()) ?? "";
  };

  /** In-process serialization plus the cross-process lock. */
  const locked = <R>(fn: () => Promise<R>, signal?: AbortSignal): Promise<R> => {
    const run = async () => {
      if (closed) throw new FleetError("CLOSED", "[mcpfleet/file-store] store is closed");
      throwIfAborted(signal);
      return withFileLock(
        lockPath,
        async () => {
          await refresh();
          return fn();
        },
        { staleMs: parsed.data.lockStaleMs, timeoutMs: parsed.data.lockTimeoutMs, signal },
      );
    };
    const next = chain.then(run, run);
    chain = next.catch(() => undefined);
    return next;
  };

  /** A document write: the fence is checked against the leases just reloaded, under the lock. */
  const write = <T extends Revisioned, R>(
    place: Place<T>,
    stage: () => Staged<T, R>,
    signal?: AbortSignal,
    fence?: LeaseFence,
    dropLease?: (result: R) => string | undefined,
  ): Promise<R> =>
    locked(async () => {
      leases.check(fence);
      const staged = stage();
      const drop = dropLease?.(staged.result);
      if (drop === undefined) return persist(staged, place);
      const after = leases.clone();
      after.forget(drop);
      return persist(staged, place, after);
    }, signal);

  /** A lease change: staged on a copy, persisted with the documents as they are, then applied. */
  const leaseWrite = <R>(op: (table: LeaseTable) => R, signal?: AbortSignal): Promise<R> =>
    locked(async () => {
      const after = leases.clone();
      const result = op(after);
      await writeSnapshot({
        format: "mcpfleet-store",
        formatVersion: 1,
        ...current(),
        leases: after.values(),
      });
      leases.replaceAll(after.values());
      return result;
    }, signal);

  const read = async <R>(fn: () => R, signal?: AbortSignal): Promise<R> => {
    throwIfAborted(signal);
    if (closed) throw new FleetError("CLOSED", "[mcpfleet/file-store] store is closed");
    await chain;
    await refresh();
    return fn();
  };

  const repo = <T extends Revisioned>(table: DocumentTable<T>, place: Place<T>, leased = false): Repository<T> => ({
    get: (id: string, o?: CallOptions) => read(() => table.get(id), o?.signal),
    list: (o?: CallOptions) => read(() => table.values(), o?.signal),
    create: (doc, o) => write(place, () => table.stageCreate(doc), o?.signal),
    update: (doc, o) => write(place, () => table.stageUpdate(doc), o?.signal, o?.fence),
    delete: (id, o) =>
      write(
        place,
        () => table.stageDelete(id, o?.expectedRevision),
        o?.signal,
        o?.fence,
        (deleted) => (leased && deleted ? id : undefined),
      ),
    findByName: (name: string, o?: CallOptions) => read(() => table.byName(name), o?.signal),
    query: (q, o?: CallOptions) => read(() => queryDocuments(table.values(), q), o?.signal),
    watch: (listener) => table.watch(listener),
  });

  const fileLeases: LeaseStore = {
    acquire: (key, holder, ttlMs, o) => leaseWrite((t) => t.acquire(key, holder, ttlMs), o?.signal),
    renew: (holder, fences, ttlMs, o) => leaseWrite((t) => t.renew(holder, fences, ttlMs), o?.signal),
    release: (holder, fence, o) => leaseWrite((t) => t.release(holder, fence), o?.signal),
    list: (o) => read(() => leases.list(), o?.signal),
  };

  /** Every collection as it is now; a write replaces its own collection in this. */
  const current = (): Required<ReturnType<Place<never>>> => ({
    servers: servers.values(),
    instances: instances.values(),
    templates: templates.values(),
    keys: keys.values(),
    records: records.values(),
  });

  const store: FleetStore = {
    specificationVersion: "v1",
    name: "file",
    servers: repo(servers, (after) => ({ ...current(), servers: after })),
    instances: repo(instances, (after) => ({ ...current(), instances: after }), true),
    ...(parsed.data.leases ? { leases: fileLeases } : {}),
    templates: repo(templates, (after) => ({ ...current(), templates: after })),
    keys: repo(keys, (after) => ({ ...current(), keys: after })),
    records: repo(records, (after) => ({ ...current(), records: after })),
    ping: (o?: CallOptions) => read(() => undefined, o?.signal),
    async close() {
      if (closed) return;
      await chain;
      closed = true;
    },
    [Symbol.asyncDispose]: () => store.close(),
  };
  return store;
}
