/**
 * The PostgreSQL row of `pnpm bench fleet-scale`: N instances (default 10,000) converge on the memory
 * runtime with `postgresStore` (a throwaway schema on DATABASE_URL, default the machine's
 * PostgreSQL), then full resync passes, counting how the engine read the instances: pages through
 * `query` (keyset), never one `list()` of the whole table. Baseline side by side: the same fleet on
 * the memory store in the same run (the caller passes its figure), so the ratio is what the
 * database adds. Also reported: statements sent per converged instance, and the database's
 * single-commit latency measured in the same run (the floor under every durable create).
 */
import { createRequire } from "node:module";
import { createFleet, type FleetStore, memoryBus, memoryRuntime } from "@mcpfleet/core";
import { postgresStore } from "@mcpfleet/store-postgres";
import { convergeAll, timeResyncs } from "./converge.js";

const URL_ = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Counts the instance reads the engine makes (pages vs whole-table lists). */
function counted(store: FleetStore) {
  const reads = { list: 0, query: 0 };
  const inst = store.instances;
  const list = inst.list.bind(inst);
  inst.list = (...a: Parameters<typeof list>) => {
    reads.list++;
    return list(...a);
  };
  if (inst.query) {
    const query = inst.query.bind(inst);
    inst.query = (...a: Parameters<typeof query>) => {
      reads.query++;
      return query(...a);
    };
  }
  return reads;
}

/** pg through the store package (the bench's own dependency list stays the workspace packages). */
function pgModule(): typeof import("pg") {
  const require = createRequire(import.meta.resolve("@mcpfleet/store-postgres"));
  return require("pg") as typeof import("pg");
}

/** A pool like the store's own (10 connections) that counts the statements sent through it. */
function countingPool() {
  const pool = new (pgModule().Pool)({ connectionString: URL_, max: 10 });
  const counter = { statements: 0 };
  const query = pool.query.bind(pool) as (...a: unknown[]) => Promise<unknown>;
  (pool as { query: unknown }).query = (...a: unknown[]) => {
    counter.statements++;
    return query(...a);
  };
  return { pool, counter };
}

/**
 * Median latency of one committed single-row write on this database, measured in the same run:
 * the converge figure is bound by it (every create is a durable commit), and it varies with the
 * disk's load, so the row carries it.
 */
async function commitMs(schema: string): Promise<number> {
  const c = new (pgModule().Client)({ connectionString: URL_ });
  await c.connect();
  try {
    await c.query(`CREATE TABLE "${schema}".bench_commit (id integer PRIMARY KEY)`);
    const xs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await c.query(`INSERT INTO "${schema}".bench_commit VALUES ($1)`, [i]);
      xs.push(performance.now() - t);
    }
    return +median(xs).toFixed(3);
  } finally {
    await c.end();
  }
}

export async function postgresRow(n: number, spec: (i: number) => object, memoryConvergeS: number) {
  const schema = `bench_scale_${process.pid}_${Date.now().toString(36)}`;
  const { pool, counter } = countingPool();
  const store = postgresStore({ pool }, { schema });
  const reads = counted(store);
  const runtime = memoryRuntime({ recordRequests: false, logLimit: 1 });
  const bus = memoryBus();
  const fleet = createFleet({
    runtimes: { docker: runtime },
    bus,
    store,
    reconciler: { concurrency: 64, resyncIntervalMs: 3_600_000 },
  });
  try {
    await fleet.start();
    await store.migrate();
    const commitBefore = await commitMs(schema);
    const s0 = counter.statements;
    const convergeS = await convergeAll(fleet, n, spec);
    await fleet.idle();
    const statements = counter.statements - s0;
    const before = { ...reads };
    const resyncs = await timeResyncs(fleet, 3);
    return {
      bench: "fleet-scale-postgres",
      instances: n,
      converge_s: +convergeS.toFixed(3),
      baseline_memory_store_converge_s: memoryConvergeS,
      converge_ratio_vs_memory_store: +(convergeS / memoryConvergeS).toFixed(2),
      resync_ms: +median(resyncs).toFixed(1),
      resync_pages_per_pass: (reads.query - before.query) / 3,
      resync_whole_table_lists: reads.list - before.list,
      duplicate_deploys: runtime.totalDeploys - n,
      statements_per_instance: +(statements / n).toFixed(2),
      pg_commit_ms: commitBefore,
      targets: { converge_s: 30, resync_whole_table_lists: 0 },
    };
  } finally {
    await fleet.close();
    await bus.close();
    await store.close();
    await pool.end();
    await dropSchema(schema);
  }
}

async function dropSchema(schema: string): Promise<void> {
  const c = new (pgModule().Client)({ connectionString: URL_ });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}
