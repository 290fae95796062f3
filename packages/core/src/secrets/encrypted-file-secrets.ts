import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { optionsError as kitOptionsError } from "../adapter/options.js";
import { FleetError } from "../errors.js";
import type { CallOptions } from "../plugins/common.js";
import type { SecretRef, SecretStore } from "../plugins/secret-store.js";
import { withFileLock } from "../store/file-lock.js";
import { decrypt, encrypt, type KdfParams, readParams, type SecretsData } from "./encrypted-file-format.js";
import { secretKeyring } from "./secret-key.js";
import { checkScope, checkValue, guard, notFound, refString } from "./store-common.js";

export type EncryptedFileSecretsOptions = { path: string; scryptCost?: number } & (
  | { key: Uint8Array | string }
  | { passphrase: string }
  | { keyFile: string }
);

const NAME = "secrets-file";
const base = { path: z.string().min(1), scryptCost: z.number().int().min(10).max(20).optional() };
const optionsSchema = z.union([
  z.object({ ...base, key: z.union([z.instanceof(Uint8Array), z.string()]) }).strict(),
  z.object({ ...base, passphrase: z.string().min(8) }).strict(),
  z.object({ ...base, keyFile: z.string().min(1) }).strict(),
]);

function optionsError(option: string, message: string): FleetError {
  return kitOptionsError(NAME, option, message);
}

/**
 * Secrets in one local file encrypted with AES-256-GCM. The key is a 32-byte `key` (bytes, hex or
 * base64), a `keyFile` holding one, or a `passphrase` stretched with scrypt (N = 2^scryptCost,
 * default 2^15, r 8, p 1; a random salt is stored in the file header). A missing file is an empty
 * store; a file that is not this format, was changed, or does not decrypt with this key throws
 * `SECRET_STORE_UNAVAILABLE` (not retryable) rather than reading as empty.
 * Writes are serialized in-process and across processes (a `<path>.lock` file, broken when its
 * holder died), re-read the file under the lock and are atomic (temp file in the same directory,
 * mode 0600, fsync, rename): several processes may share one file (an API host and its workers).
 * Reads re-read the file when its inode, size or mtime changes.
 */
export function encryptedFileSecrets(options: EncryptedFileSecretsOptions): SecretStore {
  const r = optionsSchema.safeParse(options);
  if (!r.success) {
    if (typeof options !== "object" || options === null || typeof (options as { path?: unknown }).path !== "string") {
      throw optionsError("path", "is required (a file path)");
    }
    const o = options as Record<string, unknown>;
    const given = ["key", "passphrase", "keyFile"].filter((k) => o[k] !== undefined);
    if (given.length !== 1) throw optionsError("key", "exactly one of key, passphrase or keyFile is required");
    throw optionsError(given[0] as string, "is invalid (passphrase: at least 8 characters; scryptCost: 10..20)");
  }
  const opts = r.data;
  const path = opts.path;
  const logN = opts.scryptCost ?? 15;
  const ring = secretKeyring(opts, NAME, logN);

  function unavailable(why: string, cause?: unknown, retryable = false): FleetError {
    return new FleetError("SECRET_STORE_UNAVAILABLE", `[mcpfleet/${NAME}] secrets file ${path} ${why}`, {
      isRetryable: retryable,
      cause,
    });
  }

  let cache: { data: SecretsData; params: KdfParams; stamp: string } | undefined;
  const stampOf = (st: { ino: number | bigint; size: number | bigint; mtimeMs: number | bigint }) =>
    `${st.ino}:${st.size}:${st.mtimeMs}`;
  let empty: { data: SecretsData; params: KdfParams } | undefined;
  let writing: Promise<unknown> = Promise.resolve();
  let closed = false;

  async function load(): Promise<{ data: SecretsData; params: KdfParams }> {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        cache = undefined;
        empty ??= { data: Object.create(null), params: ring.freshParams() };
        return empty;
      }
      throw unavailable("cannot be read", err, true);
    }
    if (cache && cache.stamp === stampOf(st)) return cache;
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (err) {
      throw unavailable("cannot be read", err, true);
    }
    const params = readParams(buf);
    if (!params) throw unavailable("is not an mcpfleet encrypted secrets file (bad header)");
    const data = decrypt(buf, await ring.keyFor(params));
    if (!data) throw unavailable("cannot be decrypted: wrong key or passphrase, or the file was modified");
    cache = { data, params, stamp: stampOf(st) };
    return cache;
  }

  async function persist(data: SecretsData, params: KdfParams): Promise<void> {
    const buf = encrypt(data, await ring.keyFor(params), params);
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      const fh = await open(tmp, "wx", 0o600);
      try {
        await fh.writeFile(buf);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw unavailable("cannot be written", err, true);
    }
    try {
      const d = await open(dir, "r");
      await d.sync().catch(() => {});
      await d.close();
    } catch {
      // directory fsync is best effort (not supported everywhere)
    }
    empty = undefined;
    cache = { data, params, stamp: stampOf(await stat(path)) };
  }

  /** Read-modify-write, serialized in-process and (through the lock file) across processes. */
  function mutate(change: (data: SecretsData) => boolean, signal?: AbortSignal): Promise<void> {
    const run = writing.then(async () => {
      try {
        await mkdir(dirname(path), { recursive: true });
      } catch (err) {
        throw unavailable("cannot be written (its directory cannot be created)", err, true);
      }
      try {
        await withFileLock(
          `${path}.lock`,
          async () => {
            const cur = await load(); // under the lock: sees every other writer's last change
            const data: SecretsData = Object.create(null);
            for (const s of Object.keys(cur.data)) data[s] = Object.assign(Object.create(null), cur.data[s]);
            if (change(data)) await persist(data, cur.params);
          },
          { ...(signal ? { signal } : {}) },
        );
      } catch (err) {
        if (FleetError.isInstance(err) && (err.code === "TIMEOUT" || err.code === "INTERNAL"))
          throw unavailable(`cannot be written: ${err.message}`, err, true);
        throw err;
      }
    });
    writing = run.catch(() => {});
    return run;
  }

  const store: SecretStore = {
    specificationVersion: "v1",
    name: "encrypted-file",
    capabilities: { write: true, list: true },
    async get(ref: SecretRef, o?: CallOptions) {
      guard(closed, NAME, o);
      refString(ref);
      await writing;
      const v = (await load()).data[ref.scope]?.[ref.key];
      if (v === undefined) throw notFound(ref, "the encrypted secrets file");
      return v;
    },
    async set(ref: SecretRef, value: string, o?: CallOptions) {
      guard(closed, NAME, o);
      refString(ref);
      checkValue(value);
      await mutate((d) => {
        d[ref.scope] ??= Object.create(null);
        (d[ref.scope] as Record<string, string>)[ref.key] = value;
        return true;
      }, o?.signal);
    },
    async delete(ref: SecretRef, o?: CallOptions) {
      guard(closed, NAME, o);
      refString(ref);
      await mutate((d) => {
        const s = d[ref.scope];
        if (!s || !(ref.key in s)) return false;
        delete s[ref.key];
        if (Object.keys(s).length === 0) delete d[ref.scope];
        return true;
      }, o?.signal);
    },
    async list(scope: string, o?: CallOptions) {
      guard(closed, NAME, o);
      checkScope(scope);
      await writing;
      return Object.keys((await load()).data[scope] ?? {}).sort();
    },
    async deleteScope(scope: string, o?: CallOptions) {
      guard(closed, NAME, o);
      checkScope(scope);
      await mutate((d) => {
        if (!d[scope]) return false;
        delete d[scope];
        return true;
      }, o?.signal);
    },
    async close() {
      if (closed) return;
      closed = true;
      await writing;
      cache = undefined;
    },
    async [Symbol.asyncDispose]() {
      await store.close();
    },
  };
  return store;
}
