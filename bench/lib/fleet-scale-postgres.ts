/**
 * The PostgreSQL row of `pnpm bench fleet-scale`: N instances (default 10,000) converge on the memory
 * runtime with `postgresStore` (a throwaway schema on DATABASE_URL, default the machine's
 * PostgreSQL), then full resync passes, counting how the engine read the instances: pages through
 * `query` (keyset), never one `list()` of the whole table. Baseline side by side: the same fleet on
 * the memory store in the same run (the caller passes its figure), so the ratio is what the
 * database adds.
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

export async function postgresRow(n: number, spec: (i: number) => object, memoryConvergeS: number) {
  const schema = `bench_scale_${process.pid}_${Date.now().toString(36)}`;
  const store = postgresStore({ connectionString: URL_ }, { schema });
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
    const convergeS = await convergeAll(fleet, n, spec);
    await fleet.idle();
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
      targets: { converge_s: 30, resync_whole_table_lists: 0 },
    };
  } finally {
    await fleet.close();
    await bus.close();
    await dropSchema(schema);
  }
}

async function dropSchema(schema: string): Promise<void> {
  // pg through the store package (the bench's own dependency list stays the workspace packages)
  const require = createRequire(import.meta.resolve("@mcpfleet/store-postgres"));
  const pg = require("pg") as typeof import("pg");
  const c = new pg.Client({ connectionString: URL_ });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}
