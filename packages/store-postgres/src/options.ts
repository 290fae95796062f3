import { FleetError, type Logger, silentLogger } from "@mcpfleet/core";
import pg from "pg";
import { z } from "zod";

export const ADAPTER = "store-postgres";

/** How to reach PostgreSQL: a connection string (the adapter owns its pool) or your own `pg.Pool`. */
export type PostgresConnection = { connectionString: string } | { pool: pg.Pool };

export interface PostgresStoreOptions {
  /** Schema holding the tables; created when missing. Default `mcpfleet`. */
  schema?: string;
  /** Adapter name reported by `store.name`; default `postgres`. */
  name?: string;
  /** Pool size when the adapter creates the pool; default 10. */
  maxConnections?: number;
  /** Connect timeout of new connections; default 5,000 ms. */
  connectTimeoutMs?: number;
  /** First reconnect delay of the watch listener; doubles up to 5 s. Default 100 ms. */
  reconnectDelayMs?: number;
  /** Apply migrations on first use (default true); false: refuse to run on an older schema. */
  migrate?: boolean;
  logger?: Logger;
}

const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63)");

const connectionSchema = z.union([
  z.object({ connectionString: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL") }).strict(),
  z.object({ pool: z.instanceof(pg.Pool, { message: "must be a pg.Pool" }) }).strict(),
]);

const optionsSchema = z
  .object({
    schema: identifier.optional(),
    name: z.string().min(1).max(100).optional(),
    maxConnections: z.number().int().min(1).max(1000).optional(),
    connectTimeoutMs: z.number().int().min(1).optional(),
    reconnectDelayMs: z.number().int().min(1).max(60_000).optional(),
    migrate: z.boolean().optional(),
    logger: z
      .custom<Logger>((v) => typeof v === "object" && v !== null && typeof (v as Logger).warn === "function", {
        message: "must be a pino-compatible logger",
      })
      .optional(),
  })
  .strict();

export interface Resolved {
  pool: pg.Pool;
  ownsPool: boolean;
  schema: string;
  name: string;
  reconnectDelayMs: number;
  migrate: boolean;
  logger: Logger;
}

function fail(adapter: string, error: z.ZodError, fallback: string): never {
  const issue = error.issues[0];
  const path =
    issue?.path.join(".") ||
    (issue && "keys" in issue ? String((issue.keys as string[])[0]) : "") ||
    (issue?.code === "invalid_union" ? fallback : "");
  const message = issue?.code === "unrecognized_keys" ? "is not known" : (issue?.message ?? "is invalid");
  // never echo values: a connection string holds credentials
  throw new FleetError("OPTIONS_INVALID", `[mcpfleet/${adapter}] option "${path}" ${message}`, { path });
}

/** Validates the connection (exactly one of `connectionString` or `pool`); names the option, never its value. */
export function resolveConnection(
  connection: PostgresConnection,
  adapter: string,
  pool: { max: number; connectTimeoutMs: number },
): { pool: pg.Pool; ownsPool: boolean } {
  if (typeof connection !== "object" || connection === null) {
    throw new FleetError("OPTIONS_INVALID", `[mcpfleet/${adapter}] option "connectionString" or "pool" is required`, {
      path: "connectionString",
    });
  }
  const c = connectionSchema.safeParse(connection);
  if (!c.success) {
    const given = ["connectionString", "pool"].filter((k) => (connection as Record<string, unknown>)[k] !== undefined);
    if (given.length !== 1) {
      throw new FleetError(
        "OPTIONS_INVALID",
        `[mcpfleet/${adapter}] option "connectionString" or "pool": exactly one is required`,
        { path: "connectionString" },
      );
    }
    fail(adapter, c.error, given[0] as string);
  }
  if ("pool" in c.data) return { pool: c.data.pool, ownsPool: false };
  return {
    pool: new pg.Pool({
      connectionString: c.data.connectionString,
      max: pool.max,
      connectionTimeoutMillis: pool.connectTimeoutMs,
    }),
    ownsPool: true,
  };
}

export function resolveOptions(connection: PostgresConnection, options: PostgresStoreOptions = {}): Resolved {
  const o = optionsSchema.safeParse(options ?? {});
  if (!o.success) fail(ADAPTER, o.error, "");
  const { pool, ownsPool } = resolveConnection(connection, ADAPTER, {
    max: o.data.maxConnections ?? 10,
    connectTimeoutMs: o.data.connectTimeoutMs ?? 5000,
  });
  return {
    pool,
    ownsPool,
    schema: o.data.schema ?? "mcpfleet",
    name: o.data.name ?? "postgres",
    reconnectDelayMs: o.data.reconnectDelayMs ?? 100,
    migrate: o.data.migrate ?? true,
    logger: (o.data.logger ?? silentLogger()).child({ component: ADAPTER }),
  };
}
