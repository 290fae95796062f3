import { FleetError, type SecretRef, type SecretStore, silentLogger } from "@mcpfleet/core";
import { secretRefText as refText, sleep, throwIfAborted, writableSecretStore } from "@mcpfleet/core/adapter";
import { TokenManager } from "./auth.js";
import { parseVaultOptions, type VaultSecretsOptions } from "./options.js";
import {
  type CallSpec,
  createNodeVaultClient,
  type VaultResponse,
  VaultTransport,
  vaultErrorText,
} from "./transport.js";

interface ScopeData {
  fields: Record<string, string>;
  /** KV v2 version to pass as `cas` on the next write (0 = the secret does not exist). */
  version: number;
}

function toText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * A `SecretStore` on HashiCorp Vault KV v2. One Vault secret per scope at
 * `<mount>/data/<prefix>/<scope>`, one field per key. Writes are read-modify-write with
 * check-and-set on the KV version, retried on conflict, so concurrent writers never lose updates.
 */
export function vaultSecrets(options: VaultSecretsOptions): SecretStore {
  const opts = parseVaultOptions(options);
  const logger = (opts.logger ?? silentLogger()).child({ component: "secrets-vault" });
  const now = opts.now ?? Date.now;
  const client = opts.client ?? createNodeVaultClient(opts);
  const transport = new VaultTransport(client, opts, logger);
  const tokens = new TokenManager(opts.auth, transport, opts.renewFraction, now, logger);
  const dataPath = (scope: string) => `/${opts.mount}/data/${opts.prefix}/${scope}`;
  const metadataPath = (scope: string) => `/${opts.mount}/metadata/${opts.prefix}/${scope}`;

  /** An authenticated call; a rejected AppRole/Kubernetes token is replaced by a fresh login once. */
  const call = async (spec: Omit<CallSpec, "token">): Promise<VaultResponse> => {
    const token = await tokens.token(spec.signal);
    try {
      return await transport.call({ ...spec, token });
    } catch (err) {
      if (!(FleetError.isInstance(err) && err.code === "SECRET_ACCESS_DENIED" && tokens.canLogin)) throw err;
      tokens.invalidate(token);
      const fresh = await tokens.token(spec.signal);
      if (fresh === token) throw err;
      logger.debug({}, "vault rejected the token, retrying with a fresh login");
      return transport.call({ ...spec, token: fresh });
    }
  };

  const readScope = async (scope: string, signal?: AbortSignal): Promise<ScopeData> => {
    const res = await call({
      method: "GET",
      path: dataPath(scope),
      accept: [404],
      subject: `scope "${scope}"`,
      signal,
    });
    if (res.status === 404) {
      // A soft-deleted latest version answers 404 but still carries its metadata (and version).
      const version = res.body?.data?.metadata?.version;
      return { fields: {}, version: typeof version === "number" ? version : 0 };
    }
    const data = res.body?.data;
    const raw = (data?.data ?? {}) as Record<string, unknown>;
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) if (v !== null && v !== undefined) fields[k] = toText(v);
    const version = data?.metadata?.version;
    return { fields, version: typeof version === "number" ? version : 0 };
  };

  /** Writes `fields` if the scope is still at `cas`; false on a check-and-set mismatch. */
  const writeScope = async (
    scope: string,
    fields: Record<string, string>,
    cas: number,
    signal?: AbortSignal,
  ): Promise<boolean> => {
    const res = await call({
      method: "POST",
      path: dataPath(scope),
      body: { options: { cas }, data: fields },
      accept: [400],
      subject: `scope "${scope}"`,
      signal,
    });
    if (res.status === 400) {
      const text = vaultErrorText(res.body);
      if (/check-and-set/i.test(text)) return false;
      throw new FleetError("INTERNAL", `vault rejected the write to scope "${scope}" (HTTP 400: ${text})`, {
        details: { status: 400 },
      });
    }
    return true;
  };

  /** Read-modify-write under CAS; `change` returns undefined when nothing needs writing. */
  const modify = async (
    scope: string,
    change: (fields: Record<string, string>) => Record<string, string> | undefined,
    signal?: AbortSignal,
  ): Promise<void> => {
    for (let attempt = 1; attempt <= opts.casRetries; attempt++) {
      throwIfAborted(signal);
      const current = await readScope(scope, signal);
      const next = change({ ...current.fields });
      if (!next) return;
      if (await writeScope(scope, next, current.version, signal)) return;
      logger.debug({ scope, attempt }, "vault check-and-set conflict, retrying");
      // Jitter breaks the lockstep of writers that keep reading the same version.
      await sleep(Math.random() * Math.min(500, Math.max(5, opts.backoffMs) * attempt), signal);
    }
    throw new FleetError("CONFLICT", `scope "${scope}" kept changing under concurrent writers`, {
      isRetryable: true,
    });
  };

  // set and delete are modify (scope invalidated after), reads go through the cache
  return writableSecretStore<ScopeData>(
    { adapter: "secrets-vault", name: "vault", cacheTtlMs: opts.cacheTtlMs, now },
    (cache) => {
      const cachedScope = (scope: string, signal?: AbortSignal): Promise<ScopeData> =>
        cache.get(scope, () => readScope(scope), signal);
      return {
        async get({ scope, key }, callOptions) {
          try {
            const data = await cachedScope(scope, callOptions?.signal);
            const value = data.fields[key];
            if (value === undefined)
              throw new FleetError("SECRET_NOT_FOUND", `secret not found: ${refText({ scope, key })}`);
            return value;
          } catch (err) {
            throw withRef(err, { scope, key });
          }
        },

        async set({ scope, key }, value, callOptions) {
          await modify(
            scope,
            (fields) => (fields[key] === value ? undefined : { ...fields, [key]: value }),
            callOptions?.signal,
          ).catch((err) => {
            throw withRef(err, { scope, key });
          });
        },

        async delete({ scope, key }, callOptions) {
          await modify(
            scope,
            (fields) => {
              if (!(key in fields)) return undefined;
              delete fields[key];
              return fields;
            },
            callOptions?.signal,
          ).catch((err) => {
            throw withRef(err, { scope, key });
          });
        },

        async list(s, callOptions) {
          const data = await cachedScope(s, callOptions?.signal);
          return Object.keys(data.fields).sort();
        },

        async deleteScope(s, callOptions) {
          // Deleting the metadata removes every version of the scope's secret.
          await call({
            method: "DELETE",
            path: metadataPath(s),
            accept: [404],
            subject: `scope "${s}"`,
            signal: callOptions?.signal,
          });
        },

        close() {
          tokens.close();
        },
      };
    },
  );
}

/** Errors about a ref name the ref (never the value). */
function withRef(err: unknown, ref: SecretRef): FleetError {
  if (!FleetError.isInstance(err)) return new FleetError("INTERNAL", `vault call failed for ${refText(ref)}`);
  if (err.code === "SECRET_NOT_FOUND" && !err.message.includes(refText(ref))) {
    return new FleetError("SECRET_NOT_FOUND", `secret not found: ${refText(ref)}`, { details: err.details });
  }
  return err;
}
