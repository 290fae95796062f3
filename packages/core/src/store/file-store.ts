import { mkdir, open, readFile, rename, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { FleetError, throwIfAborted } from "../errors.js";
import type { Instance, ServerDefinition } from "../model/types.js";
import type { CallOptions } from "../plugins/common.js";
import type { FleetStore, Repository, Revisioned } from "../plugins/store.js";
import { withFileLock } from "./file-lock.js";
import { DocumentTable } from "./table.js";

const optionsSchema = z.object({
  path: z.string().min(1),
  lockStaleMs: z.number().int().positive().optional(),
  lockTimeoutMs: z.number().int().positive().optional(),
});

export type FileStoreOptions = z.input<typeof optionsSchema>;

interface Snapshot {
  format: "mcpfleet-store";
  formatVersion: 1;
  servers: ServerDefinition[];
  instances: Instance[];
}

/**
 * A durable store in one JSON file. Every write takes a cross-process lock, reloads when another
 * process changed the file, applies the change with revision checks, then writes a temp file,
 * fsyncs it and renames it over the old one: a crash mid-write leaves the previous file intact.
 * Several processes may share one file (api + workers on one machine).
 */
export function fileStore(options: FileStoreOptions): FleetStore {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FleetError(
      "OPTIONS_INVALID",
      `[mcpfleet/file-store] option "${issue?.path.join(".") || "path"}": ${issue?.message}`,
      {
        path: issue?.path.join("."),
      },
    );
  }
  const { path } = parsed.data;
  const lockPath = `${path}.lock`;
  const servers = new DocumentTable<ServerDefinition>("server");
  const instances = new DocumentTable<Instance>("instance");
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
        loadedStamp = "";
      }
      return;
    }
    if (stamp === loadedStamp) return;
    const text = await readFile(path, "utf8");
    let snap: Snapshot;
    try {
      snap = JSON.parse(text) as Snapshot;
      if (snap.format !== "mcpfleet-store" || !Array.isArray(snap.servers) || !Array.isArray(snap.instances)) {
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
    loadedStamp = stamp;
  };

  const persist = async (): Promise<void> => {
    await mkdir(dirname(path), { recursive: true });
    const snap: Snapshot = {
      format: "mcpfleet-store",
      formatVersion: 1,
      servers: servers.values(),
      instances: instances.values(),
    };
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    const handle = await open(tmp, "w", 0o600);
    try {
      await handle.writeFile(JSON.stringify(snap));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    try {
      const dir = await open(dirname(path), "r");
      await dir.sync().finally(() => dir.close());
    } catch {
      // some filesystems refuse fsync on directories
    }
    loadedStamp = (await stampOf()) ?? "";
  };

  /** In-process serialization plus the cross-process lock. */
  const write = <R>(fn: () => R, signal?: AbortSignal): Promise<R> => {
    const run = async () => {
      if (closed) throw new FleetError("CLOSED", "[mcpfleet/file-store] store is closed");
      throwIfAborted(signal);
      return withFileLock(
        lockPath,
        async () => {
          await refresh();
          const result = fn();
          await persist();
          return result;
        },
        { staleMs: parsed.data.lockStaleMs, timeoutMs: parsed.data.lockTimeoutMs, signal },
      );
    };
    const next = chain.then(run, run);
    chain = next.catch(() => undefined);
    return next;
  };

  const read = async <R>(fn: () => R, signal?: AbortSignal): Promise<R> => {
    throwIfAborted(signal);
    if (closed) throw new FleetError("CLOSED", "[mcpfleet/file-store] store is closed");
    await chain;
    await refresh();
    return fn();
  };

  const repo = <T extends Revisioned>(table: DocumentTable<T>): Repository<T> => ({
    get: (id: string, o?: CallOptions) => read(() => table.get(id), o?.signal),
    list: (o?: CallOptions) => read(() => table.values(), o?.signal),
    create: (doc, o) => write(() => table.create(doc), o?.signal),
    update: (doc, o) => write(() => table.update(doc), o?.signal),
    delete: (id, o) => write(() => table.delete(id, o?.expectedRevision), o?.signal),
    findByName: (name: string, o?: CallOptions) => read(() => table.byName(name), o?.signal),
    watch: (listener) => table.watch(listener),
  });

  const store: FleetStore = {
    specificationVersion: "v1",
    name: "file",
    servers: repo(servers),
    instances: repo(instances),
    async close() {
      if (closed) return;
      await chain;
      closed = true;
    },
    [Symbol.asyncDispose]: () => store.close(),
  };
  return store;
}
