/**
 * store: create / update / get / list-page on `postgresStore` against the same SQL sent through raw
 * `pg` (same table layout and trigger, same pool size, same run; ratio = store / raw), and the file
 * store's create with 1,000 and 10,000 instances already stored (the whole file is rewritten and
 * fsynced per create, so the measured creates are bounded). Needs PostgreSQL (PG_BENCH_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres); a throwaway database is created and dropped.
 * One JSON line per measurement on stdout; progress on stderr.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fileStore, type Instance } from "@mcpfleet/core";
import { sampleInstance } from "@mcpfleet/core/testing";
import { postgresStore } from "@mcpfleet/store-postgres";

// pg is a dependency of @mcpfleet/store-postgres, not of the root: resolve it from there (the same copy)
const fromStore = createRequire(new URL("../packages/store-postgres/package.json", import.meta.url));
const pg = ((await import(pathToFileURL(fromStore.resolve("pg")).href)) as { default: typeof import("pg") }).default;

const ADMIN = process.env.PG_BENCH_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const N = Number(process.env.BENCH_STORE_OPS ?? 1000);
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ bench: "store", ...o })}\n`);
const log = (m: string) => process.stderr.write(`${m}\n`);

async function timed(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return n / ((performance.now() - start) / 1000);
}

const ROUNDS = 10;
/**
 * Both sides in alternating rounds of n / ROUNDS calls (a shared machine's noise and the table's
 * growth hit both alike); ops/s over all rounds of each side.
 */
async function paired(
  n: number,
  a: (i: number) => Promise<unknown>,
  b: (i: number) => Promise<unknown>,
): Promise<[number, number]> {
  const per = Math.ceil(n / ROUNDS);
  let ta = 0;
  let tb = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const from = r * per;
    const to = Math.min(n, from + per);
    let t = performance.now();
    for (let i = from; i < to; i++) await a(i);
    ta += performance.now() - t;
    t = performance.now();
    for (let i = from; i < to; i++) await b(i);
    tb += performance.now() - t;
  }
  return [n / (ta / 1000), n / (tb / 1000)];
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function postgresRows(): Promise<void> {
  const dbName = `mcpfleet_bench_${randomBytes(4).toString("hex")}`;
  await admin(`CREATE DATABASE "${dbName}"`);
  const u = new URL(ADMIN);
  u.pathname = `/${dbName}`;
  const url = u.toString();
  const store = postgresStore({ connectionString: url }, { schema: "bench", maxConnections: 4 });
  const rawSchema = postgresStore({ connectionString: url }, { schema: "raw" });
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  try {
    await store.migrate();
    await rawSchema.migrate();
    await rawSchema.close();
    const docs = Array.from({ length: N }, (_, i) => sampleInstance({ name: `bench-${String(i).padStart(6, "0")}` }));
    const rawDocs = docs.map((d) => ({ ...d, id: randomUUID() }));
    const stored: Instance[] = [];
    const t = '"raw"."instances"';
    const cols = (d: Omit<Instance, "revision">) => [d.name, d.status, d.desired_state, d.server_spec_id ?? null];

    // warm both paths
    for (let i = 0; i < 50; i++) {
      await store.instances.get(randomUUID());
      await pool.query(`SELECT doc, revision FROM ${t} WHERE id = $1`, [randomUUID()]);
    }
    const results: Array<[string, number, number]> = [];

    const [createOps, createRaw] = await paired(
      N,
      async (i) => {
        stored[i] = await store.instances.create(docs[i]!);
      },
      async (i) => {
        const d = rawDocs[i]!;
        const { revision: _r, ...rest } = d as Instance;
        await pool.query(
          `INSERT INTO ${t} (id, name, status, desired_state, server_id, revision, doc) VALUES ($1, $2, $3, $4, $5, 1, $6::jsonb)`,
          [d.id, ...cols(d), JSON.stringify(rest)],
        );
      },
    );
    results.push(["create", createOps, createRaw]);

    const [updateOps, updateRaw] = await paired(
      N,
      async (i) => {
        stored[i] = await store.instances.update({ ...stored[i]!, status: "running" });
      },
      async (i) => {
        const d = { ...rawDocs[i]!, status: "running" as const };
        const { revision: _r, ...rest } = d as Instance;
        const r = await pool.query(
          `UPDATE ${t} SET name = $3, status = $4, desired_state = $5, server_id = $6, doc = $7::jsonb,
           revision = revision + 1, updated_at = now() WHERE id = $1 AND revision = $2 RETURNING revision`,
          [d.id, 1, ...cols(d), JSON.stringify(rest)],
        );
        if (r.rowCount !== 1) throw new Error("raw update lost");
      },
    );
    results.push(["update", updateOps, updateRaw]);

    const [getOps, getRaw] = await paired(
      N,
      (i) => store.instances.get(stored[i]!.id),
      (i) => pool.query(`SELECT doc, revision FROM ${t} WHERE id = $1`, [rawDocs[i]!.id]).then((r) => r.rows[0]),
    );
    results.push(["get", getOps, getRaw]);

    const pages = Math.max(20, Math.floor(N / 10));
    const [pageOps, pageRaw] = await paired(
      pages,
      () => store.instances.query!({ filter: { status: "running" }, limit: 100 }),
      () => pool.query(`SELECT doc, revision FROM ${t} WHERE status = $1 ORDER BY name, id LIMIT $2`, ["running", 101]),
    );
    results.push(["list-page-100", pageOps, pageRaw]);

    for (const [op, ops, raw] of results) {
      log(`postgres ${op}: store ${Math.round(ops)} ops/s, raw pg ${Math.round(raw)} ops/s`);
      out({
        store: "postgres",
        op,
        ops_per_s: Math.round(ops),
        baseline: "raw pg, same SQL",
        baseline_ops_per_s: Math.round(raw),
        ratio: Number((ops / raw).toFixed(3)),
        ops: op.startsWith("list") ? pages : N,
        target_ratio: 0.8,
      });
    }
  } finally {
    await store.close();
    await pool.end();
    await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  }
}

async function fileCreates(existing: number, measured: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mcpfleet-bench-store-"));
  const path = join(dir, "store.json");
  try {
    const instances = Array.from({ length: existing }, (_, i) => ({
      ...sampleInstance({ name: `pre-${i}` }),
      revision: 1,
    }));
    writeFileSync(path, JSON.stringify({ format: "mcpfleet-store", formatVersion: 1, servers: [], instances }));
    const store = fileStore({ path });
    await store.instances.get("warm");
    const ops = await timed(measured, () => store.instances.create(sampleInstance()));
    await store.close();
    log(`file create with ${existing} stored: ${(1000 / ops).toFixed(1)} ms per create`);
    out({
      store: "file",
      op: "create",
      instances: existing,
      ops_per_s: Number(ops.toFixed(2)),
      ms_per_op: Number((1000 / ops).toFixed(2)),
      ops: measured,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await postgresRows();
await fileCreates(1000, Number(process.env.BENCH_FILE_OPS_1K ?? 50));
await fileCreates(10_000, Number(process.env.BENCH_FILE_OPS_10K ?? 10));
