import { z } from "zod";
import { FleetError } from "../errors.js";
import type { CallOptions } from "../plugins/common.js";
import type { SecretRef, SecretStore } from "../plugins/secret-store.js";
import { isSecretRefPart, parseSecretRef } from "./secret-ref.js";
import { checkScope, checkValue, guard, notFound, refString } from "./store-common.js";

/**
 * Initial content: `{ "<scope>": { "<key>": "value" } }`, or `{ "secret_ref:<scope>:<key>": "value" }`
 * (both forms may be mixed).
 */
export type MemorySecretsInitial = Record<string, string | Record<string, string>>;

const initialSchema = z.record(z.string(), z.union([z.string(), z.record(z.string(), z.string())]));

/** Secrets in process memory (tests, single-process demos). Values are lost on exit. */
export function memorySecrets(initial?: MemorySecretsInitial): SecretStore & { readonly size: number } {
  const scopes = new Map<string, Map<string, string>>();
  const put = (scope: string, key: string, value: string) => {
    let m = scopes.get(scope);
    if (!m) {
      m = new Map();
      scopes.set(scope, m);
    }
    m.set(key, value);
  };
  if (initial !== undefined) {
    const r = initialSchema.safeParse(initial);
    if (!r.success)
      throw new FleetError(
        "OPTIONS_INVALID",
        '[mcpfleet/secrets-memory] option "initial" must map scopes to {key: value} or refs to values',
      );
    for (const [k, v] of Object.entries(r.data)) {
      if (typeof v === "string") {
        let ref: SecretRef;
        try {
          ref = parseSecretRef(k);
        } catch {
          throw new FleetError(
            "OPTIONS_INVALID",
            '[mcpfleet/secrets-memory] option "initial": string entries must be keyed by secret_ref:<scope>:<key>',
          );
        }
        put(ref.scope, ref.key, v);
      } else {
        for (const [key, value] of Object.entries(v)) {
          if (!isSecretRefPart(k) || !isSecretRefPart(key)) {
            throw new FleetError(
              "OPTIONS_INVALID",
              '[mcpfleet/secrets-memory] option "initial": scopes and keys must match [A-Za-z0-9_.-]+',
            );
          }
          put(k, key, value);
        }
      }
    }
  }
  let closed = false;
  const NAME = "secrets-memory";
  const store = {
    specificationVersion: "v1" as const,
    name: "memory",
    capabilities: { write: true, list: true },
    get size() {
      let n = 0;
      for (const m of scopes.values()) n += m.size;
      return n;
    },
    async get(ref: SecretRef, o?: CallOptions) {
      guard(closed, NAME, o);
      refString(ref);
      const v = scopes.get(ref.scope)?.get(ref.key);
      if (v === undefined) throw notFound(ref, "the memory secret store");
      return v;
    },
    async set(ref: SecretRef, value: string, o?: CallOptions) {
      guard(closed, NAME, o);
      refString(ref);
      checkValue(value);
      put(ref.scope, ref.key, value);
    },
    async delete(ref: SecretRef, o?: CallOptions) {
      guard(closed, NAME, o);
      refString(ref);
      const m = scopes.get(ref.scope);
      m?.delete(ref.key);
      if (m?.size === 0) scopes.delete(ref.scope);
    },
    async list(scope: string, o?: CallOptions) {
      guard(closed, NAME, o);
      checkScope(scope);
      return [...(scopes.get(scope)?.keys() ?? [])].sort();
    },
    async deleteScope(scope: string, o?: CallOptions) {
      guard(closed, NAME, o);
      checkScope(scope);
      scopes.delete(scope);
    },
    async close() {
      closed = true;
      scopes.clear();
    },
    async [Symbol.asyncDispose]() {
      await store.close();
    },
  };
  return store;
}
