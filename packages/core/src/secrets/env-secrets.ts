import { z } from "zod";
import { parseOptions } from "../adapter/options.js";
import type { CallOptions } from "../plugins/common.js";
import type { SecretRef, SecretStore } from "../plugins/secret-store.js";
import { guard, notFound, readOnly, refString } from "./store-common.js";

export interface EnvSecretsOptions {
  /** Variables to read (default `process.env`, read live on every `get`). */
  env?: Record<string, string | undefined>;
  /** Variable name prefix (default `MCPFLEET_SECRET_`). Must be `[A-Z0-9_]*`. */
  prefix?: string;
}

const optionsSchema = z.object({
  env: z.record(z.string(), z.union([z.string(), z.undefined()])).optional(),
  prefix: z
    .string()
    .regex(/^[A-Z0-9_]*$/)
    .optional(),
});

const part = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, "_");

/**
 * The environment variable that holds `ref` for `envSecrets`:
 * `<prefix><SCOPE>__<KEY>` where scope and key are upper-cased and every character other than
 * `A-Z0-9` becomes `_`. Example: `secret_ref:instance_123:API_KEY` ->
 * `MCPFLEET_SECRET_INSTANCE_123__API_KEY`. (Scopes/keys differing only in case or punctuation
 * share a variable.)
 */
export function envSecretVariable(ref: SecretRef, prefix = "MCPFLEET_SECRET_"): string {
  return `${prefix}${part(ref.scope)}__${part(ref.key)}`;
}

/**
 * Read-only secret store over environment variables, named as `envSecretVariable` documents
 * (`MCPFLEET_SECRET_<SCOPE>__<KEY>`). `set`, `delete` throw `SECRET_STORE_READ_ONLY`; a missing
 * variable is `SECRET_NOT_FOUND`; an empty variable is an empty secret. No `list` (variable names
 * cannot be mapped back to keys).
 */
export function envSecrets(options: EnvSecretsOptions = {}): SecretStore {
  const r = { data: parseOptions("secrets-env", optionsSchema, options) };
  const env = options.env ?? process.env;
  const prefix = r.data.prefix ?? "MCPFLEET_SECRET_";
  let closed = false;
  const NAME = "secrets-env";
  const store: SecretStore = {
    specificationVersion: "v1",
    name: "env",
    capabilities: { write: false, list: false },
    async get(ref: SecretRef, o?: CallOptions) {
      guard(closed, NAME, o);
      refString(ref);
      const v = env[envSecretVariable(ref, prefix)];
      if (v === undefined) throw notFound(ref, `the environment (variable ${envSecretVariable(ref, prefix)})`);
      return v;
    },
    async set(_ref: SecretRef, _value: string, o?: CallOptions) {
      guard(closed, NAME, o);
      throw readOnly(NAME, "set");
    },
    async delete(_ref: SecretRef, o?: CallOptions) {
      guard(closed, NAME, o);
      throw readOnly(NAME, "delete");
    },
    async close() {
      closed = true;
    },
    async [Symbol.asyncDispose]() {
      await store.close();
    },
  };
  return store;
}
