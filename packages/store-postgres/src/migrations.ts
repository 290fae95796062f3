import { FleetError, type Logger } from "@mcpfleet/core";
import type pg from "pg";
import { checkout, translate } from "./errors.js";

/** The change feed's NOTIFY channel for a schema. */
export const channelOf = (schema: string) => `${schema}_changes`;

/** Document tables: the JSON document plus the columns queries filter, order and index on. */
const documentTable = (s: string, table: string, liveNameIndex: string | undefined) => [
  `CREATE TABLE "${s}"."${table}" (
    id text COLLATE "C" PRIMARY KEY,
    name text COLLATE "C" NOT NULL DEFAULT '',
    status text,
    desired_state text,
    server_id text,
    revision integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    doc jsonb NOT NULL
  )`,
  `CREATE INDEX "${table}_name_id" ON "${s}"."${table}" (name, id)`,
  `CREATE INDEX "${table}_status" ON "${s}"."${table}" (status, name, id)`,
  `CREATE INDEX "${table}_updated_at" ON "${s}"."${table}" (updated_at)`,
  ...(liveNameIndex ? [liveNameIndex] : []),
  `CREATE TRIGGER "${table}_notify" AFTER INSERT OR UPDATE OR DELETE ON "${s}"."${table}"
     FOR EACH ROW EXECUTE FUNCTION "${s}".notify_change('${channelOf(s)}')`,
];

export interface Migration {
  version: number;
  name: string;
  statements: (schema: string) => string[];
}

/** Append only: a released migration never changes; a new one gets the next version. */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "documents, change feed, secrets",
    statements: (s) => [
      `CREATE FUNCTION "${s}".notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           PERFORM pg_notify(TG_ARGV[0], json_build_object('t', TG_TABLE_NAME, 'op', 'd', 'id', OLD.id, 'r', OLD.revision)::text);
           RETURN OLD;
         END IF;
         PERFORM pg_notify(TG_ARGV[0], json_build_object('t', TG_TABLE_NAME, 'op', 'p', 'id', NEW.id, 'r', NEW.revision)::text);
         RETURN NEW;
       END $$`,
      ...documentTable(s, "servers", `CREATE UNIQUE INDEX "servers_live_name" ON "${s}"."servers" (name)`),
      ...documentTable(
        s,
        "instances",
        `CREATE UNIQUE INDEX "instances_live_name" ON "${s}"."instances" (name) WHERE desired_state IS DISTINCT FROM 'deleted'`,
      ),
      `CREATE INDEX "instances_server" ON "${s}"."instances" (server_id, name, id)`,
      `CREATE INDEX "instances_desired" ON "${s}"."instances" (desired_state, name, id)`,
      `CREATE INDEX "instances_labels" ON "${s}"."instances" USING gin ((doc -> 'json_spec' -> 'labels'))`,
      ...documentTable(s, "templates", undefined),
      `CREATE TABLE "${s}"."secrets" (
         scope text COLLATE "C" NOT NULL,
         key text COLLATE "C" NOT NULL,
         value bytea NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (scope, key)
       )`,
    ],
  },
  {
    version: 2,
    name: "leases with fencing tokens",
    statements: (s) => [
      `CREATE TABLE "${s}"."leases" (
         key text COLLATE "C" PRIMARY KEY,
         holder text NOT NULL,
         token bigint NOT NULL,
         expires_at timestamptz NOT NULL
       )`,
      `CREATE INDEX "leases_holder" ON "${s}"."leases" (holder)`,
    ],
  },
  {
    version: 3,
    name: "managed API keys",
    statements: (s) => [...documentTable(s, "api_keys", undefined)],
  },
  {
    version: 4,
    name: "records (catalog entries, id mappings)",
    statements: (s) => [...documentTable(s, "records", undefined)],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Advisory lock class shared by every mcpfleet schema ("mcpf"); the object id hashes the schema name. */
const LOCK_CLASS = 0x6d637066;

export interface MigrationResult {
  from: number;
  to: number;
  applied: number[];
}

function tooNew(adapter: string, schema: string, found: number): FleetError {
  return new FleetError(
    "UNSUPPORTED",
    `[mcpfleet/${adapter}] schema "${schema}" is at version ${found}, newer than this code supports (${SCHEMA_VERSION}): upgrade @mcpfleet/store-postgres before using this database`,
    { path: "schema", isRetryable: false, details: { found, supported: SCHEMA_VERSION } },
  );
}

/**
 * Brings `schema` to `SCHEMA_VERSION` under a session advisory lock, so processes starting together
 * migrate once (the others wait, then find nothing to do). Each migration runs in its own
 * transaction with its row in `schema_migrations`. A schema newer than this code is refused with
 * `UNSUPPORTED`, never used; with `apply: false` an older one is refused too.
 */
export async function migrate(
  pool: pg.Pool,
  schema: string,
  logger: Logger,
  adapter: string,
  apply = true,
): Promise<MigrationResult> {
  let lease: Awaited<ReturnType<typeof checkout>>;
  try {
    lease = await checkout(pool);
  } catch (err) {
    throw translate(err, adapter, "connect");
  }
  const { client } = lease;
  let broken = false;
  try {
    await client.query("SELECT pg_advisory_lock($1, hashtext($2))", [LOCK_CLASS, schema]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS "${schema}".schema_migrations (
           version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query<{ v: number }>(
        `SELECT coalesce(max(version), 0)::int AS v FROM "${schema}".schema_migrations`,
      );
      const from = rows[0]?.v ?? 0;
      if (from > SCHEMA_VERSION) throw tooNew(adapter, schema, from);
      const pending = MIGRATIONS.filter((m) => m.version > from);
      if (pending.length > 0 && !apply) {
        throw new FleetError(
          "UNSUPPORTED",
          `[mcpfleet/${adapter}] schema "${schema}" is at version ${from}, this code needs ${SCHEMA_VERSION} (migrate is off)`,
          { path: "schema", isRetryable: false },
        );
      }
      const applied: number[] = [];
      for (const m of pending) {
        await client.query("BEGIN");
        try {
          for (const sql of m.statements(schema)) await client.query(sql);
          await client.query(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES ($1, $2)`, [
            m.version,
            m.name,
          ]);
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => {});
          throw err;
        }
        applied.push(m.version);
        logger.info({ schema, version: m.version, migration: m.name }, "applied migration");
      }
      return { from, to: Math.max(from, SCHEMA_VERSION), applied };
    } finally {
      await client.query("SELECT pg_advisory_unlock($1, hashtext($2))", [LOCK_CLASS, schema]).catch(() => {
        broken = true; // the session ends with the connection, which releases the lock
      });
    }
  } catch (err) {
    if (!FleetError.isInstance(err)) broken = true;
    throw translate(err, adapter, `migrating schema "${schema}"`);
  } finally {
    lease.release(broken);
  }
}
