import {
  type ApiKeyRecord,
  type CallOptions,
  FleetError,
  type FleetStore,
  type Instance,
  type ServerDefinition,
  type StoredRecord,
  type StoredTemplate,
} from "@mcpfleet/core";
import { ChangeFeed } from "./change-feed.js";
import { translate, withSignal } from "./errors.js";
import { postgresLeases } from "./leases.js";
import { type MigrationResult, migrate } from "./migrations.js";
import { ADAPTER, type PostgresConnection, type PostgresStoreOptions, resolveOptions } from "./options.js";
import { type RepositoryContext, runner, sqlRepository } from "./sql-repository.js";

export interface PostgresStore extends FleetStore {
  /** Applies pending migrations now (otherwise the first call does); resolves with what ran. */
  migrate(options?: CallOptions): Promise<MigrationResult>;
  readonly schema: string;
}

/**
 * A `FleetStore` on PostgreSQL: servers, instances, templates, managed API keys and records as jsonb documents with indexed
 * columns, optimistic concurrency by revision, unique live names, keyset-paged queries and a
 * LISTEN/NOTIFY change feed. Migrations run on first use under an advisory lock.
 */
export function postgresStore(connection: PostgresConnection, options: PostgresStoreOptions = {}): PostgresStore {
  const o = resolveOptions(connection, options);
  let closed = false;
  let migration: Promise<MigrationResult> | undefined;
  const runMigrations = () => {
    migration ??= migrate(o.pool, o.schema, o.logger, ADAPTER, o.migrate);
    // a connection failure is retried on the next call; a refused schema stays refused
    migration.catch((err: FleetError) => {
      if (err.code === "STORE_UNAVAILABLE") migration = undefined;
    });
    return migration;
  };
  const ready = async () => {
    await runMigrations();
  };
  const assertOpen = () => {
    if (closed) throw new FleetError("CLOSED", `[mcpfleet/${ADAPTER}] store is closed`, { isRetryable: false });
  };
  const feed = new ChangeFeed({
    pool: o.pool,
    schema: o.schema,
    logger: o.logger,
    reconnectDelayMs: o.reconnectDelayMs,
    ready,
  });
  const ctx: RepositoryContext = { pool: o.pool, schema: o.schema, adapter: ADAPTER, ready, assertOpen, feed };
  // an idle pooled connection that dies emits 'error' on the pool (fatal without a listener): log
  // it, the pool replaces the connection on the next call
  const onPoolError = (err: Error) => o.logger.warn({ reason: err.message }, "idle database connection lost");
  o.pool.on("error", onPoolError);

  const store: PostgresStore = {
    specificationVersion: "v1",
    name: o.name,
    schema: o.schema,
    servers: sqlRepository<ServerDefinition>(ctx, "servers", "server"),
    instances: sqlRepository<Instance>(ctx, "instances", "instance", true),
    leases: postgresLeases(ctx, runner(ctx, "")),
    templates: sqlRepository<StoredTemplate>(ctx, "templates", "template"),
    keys: sqlRepository<ApiKeyRecord>(ctx, "api_keys", "api key"),
    records: sqlRepository<StoredRecord>(ctx, "records", "record"),
    migrate: (co) => {
      assertOpen();
      return withSignal(co?.signal, runMigrations);
    },
    ping: (co) => {
      assertOpen();
      return withSignal(co?.signal, async () => {
        await ready();
        try {
          await o.pool.query("SELECT 1");
        } catch (err) {
          throw translate(err, ADAPTER, "ping");
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      feed.close();
      // an owned pool keeps its listener: a connection dying while the pool ends (or after) stays logged,
      // never an unhandled 'error' event
      if (o.ownsPool) await o.pool.end().catch(() => {});
      else o.pool.off("error", onPoolError);
    },
    [Symbol.asyncDispose]: () => store.close(),
  };
  return store;
}
