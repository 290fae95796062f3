import {
  type CallOptions,
  FleetError,
  type Logger,
  type SecretRef,
  type SecretStore,
  silentLogger,
} from "@mcpfleet/core";
import {
  checkSecretScope,
  checkSecretValue,
  decryptSecretsBlob,
  encryptSecretsBlob,
  guardSecretCall,
  type KdfParams,
  readSecretsBlobParams,
  type SecretKeyring,
  type SecretKeySource,
  secretKeyring,
  secretNotFound,
  secretRefString,
} from "@mcpfleet/core/adapter";
import { z } from "zod";
import { checkout, isConnectionError, withSignal } from "./errors.js";
import { migrate } from "./migrations.js";
import { type PostgresConnection, resolveConnection } from "./options.js";

const NAME = "secrets-postgres";

export type PostgresSecretsOptions = PostgresConnection &
  SecretKeySource & {
    /** Schema holding the `secrets` table (shared with `postgresStore`); default `mcpfleet`. */
    schema?: string;
    /** scrypt cost (log2 N) for a passphrase; default 15. */
    scryptCost?: number;
    maxConnections?: number;
    connectTimeoutMs?: number;
    logger?: Logger;
  };

export interface PostgresSecrets extends SecretStore {
  /**
   * Re-encrypts every row with a new key in one transaction, then uses it. Other processes still on
   * the old key fail to decrypt (`SECRET_STORE_UNAVAILABLE`) until they restart with the new one.
   */
  rotate(next: SecretKeySource, options?: CallOptions): Promise<{ rows: number }>;
}

const extraSchema = z
  .object({
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case SQL identifier")
      .optional(),
    scryptCost: z.number().int().min(10).max(20).optional(),
    maxConnections: z.number().int().min(1).max(1000).optional(),
    connectTimeoutMs: z.number().int().min(1).optional(),
    logger: z.custom<Logger>((v) => typeof v === "object" && v !== null).optional(),
    key: z.union([z.instanceof(Uint8Array), z.string()]).optional(),
    passphrase: z.string().min(8, "must be at least 8 characters").optional(),
    keyFile: z.string().min(1).optional(),
  })
  .passthrough();

function optionError(option: string, message: string): FleetError {
  return new FleetError("OPTIONS_INVALID", `[mcpfleet/${NAME}] option "${option}" ${message}`, { path: option });
}

function keySource(o: Record<string, unknown>): SecretKeySource {
  const given = ["key", "passphrase", "keyFile"].filter((k) => o[k] !== undefined);
  if (given.length !== 1) throw optionError("key", "exactly one of key, passphrase or keyFile is required");
  const k = given[0] as "key" | "passphrase" | "keyFile";
  return { [k]: o[k] } as SecretKeySource;
}

/**
 * A `SecretStore` in a PostgreSQL table: one row per secret, the value AES-256-GCM encrypted (the
 * same authenticated format and key handling as `encryptedFileSecrets`: a 32-byte key, a key file
 * or a scrypt passphrase). The plaintext names its scope and key, so a ciphertext moved to another
 * row fails to decrypt. Values never reach logs or errors.
 */
export function postgresSecrets(options: PostgresSecretsOptions): PostgresSecrets {
  if (typeof options !== "object" || options === null) throw optionError("connectionString", "is required");
  const extra = extraSchema.safeParse(options);
  if (!extra.success) {
    const issue = extra.error.issues[0];
    throw optionError(issue?.path.join(".") || "", issue?.message ?? "is invalid");
  }
  const raw = options as unknown as Record<string, unknown>;
  if (raw.pool !== undefined && raw.connectionString !== undefined) {
    throw optionError("connectionString", "or pool: exactly one is required");
  }
  const connection = (
    raw.pool !== undefined ? { pool: raw.pool } : { connectionString: raw.connectionString }
  ) as PostgresConnection;
  const { pool, ownsPool } = resolveConnection(connection, NAME, {
    max: extra.data.maxConnections ?? 5,
    connectTimeoutMs: extra.data.connectTimeoutMs ?? 5000,
  });
  const schema = extra.data.schema ?? "mcpfleet";
  const cost = extra.data.scryptCost ?? 15;
  const logger = (extra.data.logger ?? silentLogger()).child({ component: NAME });
  let keyring: SecretKeyring = secretKeyring(keySource(raw), NAME, cost);
  let params: KdfParams = keyring.freshParams();
  const table = `"${schema}"."secrets"`;
  let closed = false;
  let migrated: Promise<unknown> | undefined;
  const onPoolError = (err: Error) => logger.warn({ reason: err.message }, "idle database connection lost");
  pool.on("error", onPoolError);

  const unavailable = (why: string, cause?: unknown, retryable = true) =>
    new FleetError("SECRET_STORE_UNAVAILABLE", `[mcpfleet/${NAME}] ${why}`, { isRetryable: retryable, cause });

  const ready = () => {
    migrated ??= migrate(pool, schema, logger, NAME).catch((err: FleetError) => {
      migrated = undefined;
      throw err;
    });
    return migrated;
  };

  /** Runs a call: closed/aborted checks, migrations, pg errors as SECRET_STORE_UNAVAILABLE. */
  const run = <R>(o: CallOptions | undefined, fn: () => Promise<R>): Promise<R> => {
    guardSecretCall(closed, NAME, o);
    return withSignal(o?.signal, async () => {
      try {
        await ready();
        return await fn();
      } catch (err) {
        if (FleetError.isInstance(err)) {
          if (err.code === "STORE_UNAVAILABLE") throw unavailable("database unreachable", err);
          throw err;
        }
        if (isConnectionError(err)) throw unavailable("database unreachable", err);
        const code = (err as { code?: unknown }).code;
        throw unavailable(`query failed${typeof code === "string" ? ` (${code})` : ""}`, err, false);
      }
    });
  };

  const seal = async (ring: SecretKeyring, p: KdfParams, ref: SecretRef, value: string): Promise<Buffer> =>
    encryptSecretsBlob({ [ref.scope]: { [ref.key]: value } }, await ring.keyFor(p), p);

  const open = async (ring: SecretKeyring, ref: SecretRef, blob: Buffer): Promise<string> => {
    const p = readSecretsBlobParams(blob);
    if (!p)
      throw unavailable(`secret ${secretRefString(ref)} is not in the mcpfleet encrypted format`, undefined, false);
    const data = decryptSecretsBlob(blob, await ring.keyFor(p));
    const value = data?.[ref.scope]?.[ref.key];
    if (data === undefined || typeof value !== "string" || Object.keys(data).length !== 1) {
      throw unavailable(
        `secret ${secretRefString(ref)} cannot be decrypted: wrong key, or the row was modified or moved`,
        undefined,
        false,
      );
    }
    return value;
  };

  const store: PostgresSecrets = {
    specificationVersion: "v1",
    name: "postgres",
    capabilities: { write: true, list: true },

    get: (ref, o) => {
      secretRefString(ref);
      return run(o, async () => {
        const { rows } = await pool.query<{ value: Buffer }>(
          `SELECT value FROM ${table} WHERE scope = $1 AND key = $2`,
          [ref.scope, ref.key],
        );
        if (!rows[0]) throw secretNotFound(ref, NAME);
        return open(keyring, ref, rows[0].value);
      });
    },

    set: (ref, value, o) => {
      secretRefString(ref);
      checkSecretValue(value);
      return run(o, async () => {
        const blob = await seal(keyring, params, ref, value);
        await pool.query(
          `INSERT INTO ${table} (scope, key, value) VALUES ($1, $2, $3)
           ON CONFLICT (scope, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
          [ref.scope, ref.key, blob],
        );
      });
    },

    delete: (ref, o) => {
      secretRefString(ref);
      return run(o, async () => {
        await pool.query(`DELETE FROM ${table} WHERE scope = $1 AND key = $2`, [ref.scope, ref.key]);
      });
    },

    list: (scope, o) => {
      checkSecretScope(scope);
      return run(o, async () => {
        const { rows } = await pool.query<{ key: string }>(`SELECT key FROM ${table} WHERE scope = $1 ORDER BY key`, [
          scope,
        ]);
        return rows.map((r) => r.key);
      });
    },

    deleteScope: (scope, o) => {
      checkSecretScope(scope);
      return run(o, async () => {
        await pool.query(`DELETE FROM ${table} WHERE scope = $1`, [scope]);
      });
    },

    rotate: (next, o) =>
      run(o, async () => {
        const ring = secretKeyring(keySource(next as unknown as Record<string, unknown>), NAME, cost);
        const nextParams = ring.freshParams();
        const lease = await checkout(pool);
        const { client } = lease;
        let broken = false;
        try {
          await client.query("BEGIN");
          try {
            const { rows } = await client.query<{ scope: string; key: string; value: Buffer }>(
              `SELECT scope, key, value FROM ${table} ORDER BY scope, key FOR UPDATE`,
            );
            for (const r of rows) {
              const ref = { scope: r.scope, key: r.key };
              const blob = await seal(ring, nextParams, ref, await open(keyring, ref, r.value));
              await client.query(`UPDATE ${table} SET value = $3, updated_at = now() WHERE scope = $1 AND key = $2`, [
                r.scope,
                r.key,
                blob,
              ]);
            }
            await client.query("COMMIT");
            keyring = ring;
            params = nextParams;
            logger.info({ rows: rows.length }, "secrets re-encrypted with a new key");
            return { rows: rows.length };
          } catch (err) {
            await client.query("ROLLBACK").catch(() => {
              broken = true;
            });
            throw err;
          }
        } finally {
          lease.release(broken);
        }
      }),

    async close() {
      if (closed) return;
      closed = true;
      // an owned pool keeps its listener: a connection dying while the pool ends stays logged
      if (ownsPool) await pool.end().catch(() => {});
      else pool.off("error", onPoolError);
    },
    [Symbol.asyncDispose]: () => store.close(),
  };
  return store;
}
