import { FleetError } from "../errors.js";
import type { CallOptions } from "../plugins/common.js";
import type { SecretRef, SecretStore } from "../plugins/secret-store.js";
import { ScopeCache } from "../util/scope-cache.js";
import { adapterTag } from "./options.js";
import { checkSecretName, checkSecretRef, secretRefText } from "./secret-refs.js";

/** What a writable, listable store implements: refs, scopes and values arrive checked, and never after close. */
export interface SecretStoreSteps {
  get(ref: SecretRef, options?: CallOptions): Promise<string>;
  set(ref: SecretRef, value: string, options?: CallOptions): Promise<void>;
  delete(ref: SecretRef, options?: CallOptions): Promise<void>;
  list(scope: string, options?: CallOptions): Promise<string[]>;
  deleteScope(scope: string, options?: CallOptions): Promise<void>;
  /** Runs once, on the first `close()`. */
  close(): void | Promise<void>;
}

/** A `SecretStore` whose `list` and `deleteScope` are always there. */
export type WritableSecretStore = SecretStore & Required<Pick<SecretStore, "list" | "deleteScope">>;

export interface WritableSecretStoreOptions {
  /** `[mcpfleet/<adapter>]` in messages. */
  adapter: string;
  /** The store's `name`. */
  name: string;
  /** How long a scope read stays cached (0: nothing kept, concurrent reads still shared). */
  cacheTtlMs: number;
  now?: () => number;
}

/**
 * A writable store around `steps`: `CLOSED` after `close()` (`[mcpfleet/<adapter>] store is
 * closed`), then the ref (`checkSecretRef`) or scope (`checkSecretName`) is checked, and for `set` a
 * string value (`SPEC_INVALID` at `value`, naming the ref, never the value). `steps` gets the store's
 * per-scope read cache: every `set`, `delete` and `deleteScope` invalidates its scope when it ends
 * (also on failure), `close()` clears it. Capabilities `{ write: true, list: true }`; dispose closes.
 */
export function writableSecretStore<T>(
  kit: WritableSecretStoreOptions,
  steps: (cache: ScopeCache<T>) => SecretStoreSteps,
): WritableSecretStore {
  const { adapter, name } = kit;
  const cache = new ScopeCache<T>(kit.cacheTtlMs, kit.now ?? Date.now);
  const s = steps(cache);
  let closed = false;
  const writing = async (scope: string, write: Promise<void>): Promise<void> => {
    try {
      await write;
    } finally {
      cache.invalidate(scope);
    }
  };
  const ensureOpen = (): void => {
    if (closed) throw new FleetError("CLOSED", `${adapterTag(adapter)} store is closed`);
  };
  const store: WritableSecretStore = {
    specificationVersion: "v1",
    name,
    capabilities: { write: true, list: true },

    async get(ref, options) {
      ensureOpen();
      return s.get(checkSecretRef(ref), options);
    },

    async set(ref, value, options) {
      ensureOpen();
      const r = checkSecretRef(ref);
      if (typeof value !== "string") {
        throw new FleetError("SPEC_INVALID", `secret value for ${secretRefText(r)} must be a string`, {
          path: "value",
          isRetryable: false,
        });
      }
      return writing(r.scope, s.set(r, value, options));
    },

    async delete(ref, options) {
      ensureOpen();
      const r = checkSecretRef(ref);
      return writing(r.scope, s.delete(r, options));
    },

    async list(scope, options) {
      ensureOpen();
      return s.list(checkSecretName(scope, "scope"), options);
    },

    async deleteScope(scope, options) {
      ensureOpen();
      const checked = checkSecretName(scope, "scope");
      return writing(checked, s.deleteScope(checked, options));
    },

    async close() {
      if (closed) return;
      closed = true;
      await s.close();
      cache.clear();
    },

    [Symbol.asyncDispose]() {
      return store.close();
    },
  };
  return store;
}
