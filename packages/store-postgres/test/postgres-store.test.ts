import { FleetError, recordingLogger, type StoreChange } from "@mcpfleet/core";
import { describeWith, sampleInstance } from "@mcpfleet/core/testing";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresStore, SCHEMA_VERSION } from "../src/index.js";
import { postgresService, schemaName, testPool, throwawayDatabase } from "./helpers.js";

const pgService = await postgresService();

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => (FleetError.isInstance(e) ? e.code : `not a FleetError: ${String(e)}`),
  );

async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("postgresStore options", () => {
  it("names the bad option and never echoes a value", () => {
    expect(() => postgresStore({ connectionString: "mysql://u:hunter2@x/db" })).toThrow(
      /\[mcpfleet\/store-postgres\] option "connectionString" must be a postgres:\/\/ URL/,
    );
    try {
      postgresStore({ connectionString: "mysql://u:hunter2@x/db" });
    } catch (err) {
      expect(String((err as Error).message)).not.toContain("hunter2");
    }
    expect(() => postgresStore({ connectionString: "postgres://x/db" }, { schema: "Bad-Name" })).toThrow(
      /option "schema"/,
    );
    expect(() => postgresStore({ connectionString: "postgres://x/db" }, { bogus: 1 } as never)).toThrow(
      /option "bogus" is not known/,
    );
    expect(() => postgresStore({} as never)).toThrow(/exactly one is required/);
  });

  it("an unreachable database is a retryable STORE_UNAVAILABLE", async () => {
    const store = postgresStore(
      { connectionString: "postgres://postgres@127.0.0.1:1/none" },
      { connectTimeoutMs: 500 },
    );
    const err = (await store.instances.list().catch((e: FleetError) => e)) as FleetError;
    expect(err.code).toBe("STORE_UNAVAILABLE");
    expect(err.isRetryable).toBe(true);
    await store.close();
  });
});

describeWith([pgService], "postgresStore on a real PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  let admin: pg.Pool;
  beforeAll(async () => {
    db = await throwawayDatabase();
    admin = testPool(db.url);
  });
  afterAll(async () => {
    await admin?.end();
    await db?.drop();
  });

  it("two processes starting together migrate once", async () => {
    const schema = schemaName("race");
    const logs = [recordingLogger(), recordingLogger(), recordingLogger()];
    const pools = logs.map(() => testPool(db.url));
    const stores = logs.map((l, i) => postgresStore({ pool: pools[i]! }, { schema, logger: l }));
    const results = await Promise.all(stores.map((s) => s.migrate()));
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, SCHEMA_VERSION]);
    const applied = logs.flatMap((l) => l.lines.filter((x) => x.msg === "applied migration"));
    expect(applied).toHaveLength(SCHEMA_VERSION);
    const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    const doc = await stores[0]!.instances.create(sampleInstance());
    expect(await stores[2]!.instances.get(doc.id)).toEqual(doc);
    for (const s of stores) await s.close();
    // pools passed in stay the caller's to close
    expect(pools[0]!.ended).toBe(false);
    for (const p of pools) await p.end();
  });

  it("refuses a database whose schema is newer than the code", async () => {
    const schema = schemaName("newer");
    const first = postgresStore({ connectionString: db.url }, { schema });
    await first.migrate();
    await first.close();
    await admin.query(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES ($1, 'from the future')`, [
      SCHEMA_VERSION + 1,
    ]);
    const store = postgresStore({ connectionString: db.url }, { schema });
    const err = (await store.instances.list().catch((e: FleetError) => e)) as FleetError;
    expect(err.code).toBe("UNSUPPORTED");
    expect(err.message).toMatch(/newer than this code supports/);
    expect(await codeOf(store.instances.create(sampleInstance()))).toBe("UNSUPPORTED");
    await store.close();
  });

  it("names are unique among live instances (a race loses with ALREADY_EXISTS)", async () => {
    const store = postgresStore({ connectionString: db.url }, { schema: schemaName("names") });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => store.instances.create(sampleInstance({ name: "same" }))),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect((r.reason as FleetError).code).toBe("ALREADY_EXISTS");
    const winner = (results.find((r) => r.status === "fulfilled") as PromiseFulfilledResult<{ id: string }>).value;
    const cur = (await store.instances.get(winner.id))!;
    await store.instances.update({ ...cur, desired_state: "deleted" });
    // once the first is being deleted, the name is free again
    expect((await store.instances.create(sampleInstance({ name: "same" }))).name).toBe("same");
    await store.close();
  });

  it("the stored row holds the document as jsonb and the indexed columns", async () => {
    const schema = schemaName("rows");
    const store = postgresStore({ connectionString: db.url }, { schema });
    const doc = await store.instances.create(sampleInstance({ status: "running", server_spec_id: "srv-1" }));
    const { rows } = await admin.query(
      `SELECT name, status, desired_state, server_id, revision, doc FROM "${schema}".instances WHERE id = $1`,
      [doc.id],
    );
    expect(rows[0]).toMatchObject({
      name: doc.name,
      status: "running",
      desired_state: "running",
      server_id: "srv-1",
      revision: 1,
    });
    expect(rows[0].doc.json_spec).toEqual(doc.json_spec);
    await store.close();
  });

  it("watch sees other processes' changes, and after a dropped listener reconnects with a reset", async () => {
    const schema = schemaName("watch");
    const watcher = postgresStore({ connectionString: db.url }, { schema, reconnectDelayMs: 20 });
    const writer = postgresStore({ connectionString: db.url }, { schema });
    await watcher.migrate();
    const seen: StoreChange<unknown>[] = [];
    const stop = watcher.instances.watch!((c) => seen.push(c));
    const listenerPids = async () =>
      (
        await admin.query(
          "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
          [`mcpfleet-listen:${schema}`],
        )
      ).rows.map((r) => r.pid as number);
    await until(async () => (await listenerPids()).length === 1);
    const a = await writer.instances.create(sampleInstance());
    await until(() => seen.some((c) => c.type === "put" && c.id === a.id));
    // drop the listener's connection from the server side
    const [pid] = await listenerPids();
    await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    await until(() => seen.some((c) => c.type === "reset"));
    await until(async () => {
      const pids = await listenerPids();
      return pids.length === 1 && pids[0] !== pid;
    });
    const b = await writer.instances.create(sampleInstance());
    await writer.instances.delete(b.id);
    await until(() => seen.some((c) => c.type === "delete" && c.id === b.id));
    expect(seen.filter((c) => c.id === b.id).map((c) => c.type)).toEqual(["put", "delete"]);
    // this store's own writes are reported once, with the document
    const own = await watcher.instances.create(sampleInstance());
    await new Promise((r) => setTimeout(r, 200));
    const mine = seen.filter((c) => c.id === own.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.doc).toEqual(own);
    stop();
    await watcher.close();
    await writer.close();
  });

  it("a read aborted mid-flight answers ABORTED", async () => {
    const store = postgresStore({ connectionString: db.url }, { schema: schemaName("abort") });
    await store.migrate();
    const ctrl = new AbortController();
    const p = store.instances.list({ signal: ctrl.signal });
    ctrl.abort();
    expect(await codeOf(p)).toBe("ABORTED");
    await store.close();
    expect(await codeOf(store.instances.list())).toBe("CLOSED");
  });
});
