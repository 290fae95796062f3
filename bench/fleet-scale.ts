/**
 * pnpm bench fleet-scale: N instances on the memory runtime (memory bus + store + secrets).
 * converge_s: create all until every one is running; resync_ms: one full reconcile pass over the
 * converged fleet (median of several); heap_bytes_per_instance: heap growth / N after GC, from a started
 * fleet to the converged one at steady state (bus drained; the marginal cost of an instance); heap_bytes_per_instance_incl_fleet also
 * counts the fleet's own fixed cost (runtime, engine, compiled code), amortised over N.
 * Baseline measured side by side: the same N documents written straight into a memory store
 * (no validation, no events, no reconcile), so the ratio shows what the engine adds.
 * Sizes 1k, 5k, 10k show how each figure grows. Requires --expose-gc for the heap figure.
 */
import { createFleet, memoryBus, memoryRuntime, memoryStore } from "@mcpfleet/core";
import { convergeAll, timeResyncs } from "./lib/converge.js";
import { postgresRow } from "./lib/fleet-scale-postgres.js";

const SIZES = (process.env.FLEET_SCALE_SIZES ?? "1000,5000,10000").split(",").map(Number);
const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spec = (i: number) => ({
  type: "docker",
  image: "mcp/filesystem:latest",
  port: 8001,
  environment: { ALLOWED_DIRECTORIES: "/tmp", INDEX: String(i) },
  resources: { memory_limit: "256m", cpu_limit: "0.5" },
});

async function baseline(n: number): Promise<number> {
  const store = memoryStore();
  const t0 = performance.now();
  const now = new Date().toISOString();
  for (let i = 0; i < n; i++) {
    await store.instances.create({
      id: `b${i}`,
      name: `b${i}`,
      server_spec_id: null,
      json_spec: spec(i),
      status: "running",
      status_reason: null,
      desired_state: "running",
      generation: 1,
      observed_generation: 1,
      spec_hash: "h",
      endpoint: null,
      observed_by: null,
      restart_count: 0,
      created_at: now,
      updated_at: now,
    });
  }
  return (performance.now() - t0) / 1000;
}

async function measure(n: number) {
  const beforeFleet = heap();
  const runtime = memoryRuntime({ recordRequests: false, logLimit: 1 });
  const bus = memoryBus();
  const fleet = createFleet({
    runtimes: { docker: runtime },
    bus,
    reconciler: { concurrency: 64, resyncIntervalMs: 3_600_000 },
  });
  await fleet.start();
  const before = heap();
  const convergeS = await convergeAll(fleet, n, spec);
  await fleet.idle();
  const resyncs = await timeResyncs(fleet, 5);
  // steady state: the status events of the burst still queued for the reconciler's group are drained
  while (bus.pending() > 0) await new Promise((r) => setTimeout(r, 20));
  const after = heap();
  const heapPer = (after - before) / n;
  const heapPerInclFleet = (after - beforeFleet) / n;
  const deploys = runtime.totalDeploys;
  await fleet.close();
  await bus.close();
  const baseS = await baseline(n);
  return {
    n,
    converge_s: +convergeS.toFixed(3),
    resync_ms: +median(resyncs).toFixed(1),
    heap_bytes_per_instance: Math.round(heapPer),
    heap_bytes_per_instance_incl_fleet: Math.round(heapPerInclFleet),
    deploys,
    baseline_store_s: +baseS.toFixed(3),
  };
}

const rows = [];
for (const n of SIZES) {
  const row = await measure(n);
  rows.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
}
const last = rows.at(-1)!;
console.log(
  JSON.stringify({
    bench: "fleet-scale",
    instances: last.n,
    converge_s: last.converge_s,
    resync_ms: last.resync_ms,
    heap_bytes_per_instance: last.heap_bytes_per_instance,
    heap_bytes_per_instance_incl_fleet: last.heap_bytes_per_instance_incl_fleet,
    baseline_store_only_s: last.baseline_store_s,
    converge_ratio_vs_store_only: +(last.converge_s / last.baseline_store_s).toFixed(1),
    duplicate_deploys: last.deploys - last.n,
    gc_exposed: Boolean(gc),
    growth: rows.map((r) => ({
      n: r.n,
      converge_s: r.converge_s,
      resync_ms: r.resync_ms,
      heap_bytes_per_instance: r.heap_bytes_per_instance,
      heap_bytes_per_instance_incl_fleet: r.heap_bytes_per_instance_incl_fleet,
    })),
    targets: { converge_s: 5, resync_ms: 100, heap_bytes_per_instance: 4096 },
  }),
);
// the PostgreSQL row (issue 13): FLEET_SCALE_PG=0 leaves it out
if (process.env.FLEET_SCALE_PG !== "0") {
  const pgN = Number(process.env.FLEET_SCALE_PG_SIZE ?? last.n);
  const memoryS = rows.find((r) => r.n === pgN)?.converge_s ?? (await measure(pgN)).converge_s;
  console.log(JSON.stringify(await postgresRow(pgN, spec, memoryS)));
}
