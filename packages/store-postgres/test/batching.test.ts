import { FleetError, type Instance, type StoreChange } from "@mcpfleet/core";
import { describeWith, sampleInstance } from "@mcpfleet/core/testing";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Batcher } from "../src/batcher.js";
import { postgresStore } from "../src/index.js";
import { postgresService, schemaName, testPool, throwawayDatabase } from "./helpers.js";

const pgService = await postgresService();

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => (FleetError.isInstance(e) ? e.code : `not a FleetError: ${String(e)}`),
  );

async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Counts the statements sent through a pool whose text matches `re`. */
function counting(pool: pg.Pool) {
  const seen: string[] = [];
  const query = pool.query.bind(pool) as (...a: unknown[]) => Promise<unknown>;
  (pool as { query: unknown }).query = (text: unknown, ...rest: unknown[]) => {
    if (typeof text === "string") seen.push(text);
    return query(text, ...rest);
  };
  return { count: (re: RegExp) => seen.filter((s) => re.test(s)).length, reset: () => seen.splice(0) };
}

describe("Batcher", () => {
  it("sends calls made together as one batch, and keeps one key out of two batches at once", async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const b = new Batcher<string, string>(
      async (batch) => {
        batches.push(batch.map((e) => e.item));
        if (batches.length === 1) await gate;
        for (const e of batch) e.resolve(e.item.toUpperCase());
      },
      { maxBatch: 10, maxInFlight: 2, keysOf: (i) => [i[0]!] },
    );
    const first = Promise.all(["a1", "b1", "a2"].map((i) => b.run(i)));
    await new Promise((r) => setImmediate(r));
    // a2 shares a key with a1 (in flight): it waits; c1 is free and goes out beside it
    const second = b.run("c1");
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([["a1", "b1"], ["c1"]]);
    release();
    expect(await first).toEqual(["A1", "B1", "A2"]);
    expect(await second).toBe("C1");
    expect(batches[2]).toEqual(["a2"]);
  });

  it("an exec that throws fails the entries it left unsettled", async () => {
    const b = new Batcher<number, number>(
      async (batch) => {
        batch[0]!.resolve(1);
        throw new Error("boom");
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const results = await Promise.allSettled([b.run(1), b.run(2)]);
    expect(results[0]).toEqual({ status: "fulfilled", value: 1 });
    expect(results[1]).toMatchObject({ status: "rejected", reason: { message: "boom" } });
  });
});

describeWith([pgService], "postgresStore batches concurrent calls (real PostgreSQL)", () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  beforeAll(async () => {
    db = await throwawayDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("concurrent updates go out as one statement, each with its own outcome (ok, CONFLICT, FENCED, NOT_FOUND, ALREADY_EXISTS)", async () => {
    const pool = testPool(db.url, 4);
    const store = postgresStore({ pool }, { schema: schemaName("batchupd") });
    const leases = store.leases!;
    const docs: Instance[] = [];
    for (let i = 0; i < 8; i++) docs.push(await store.instances.create(sampleInstance({ name: `b-${i}` })));
    const taken = await store.instances.create(sampleInstance({ name: "taken" }));
    const [ok1, ok2, stale, fenced, fencedOk, renamed, dupA, dupB] = docs as [Instance, ...Instance[]];
    const lease = (await leases.acquire(fenced!.id, "wa", 60_000))!;
    await leases.release("wa", { key: fenced!.id, token: lease.token });
    await leases.acquire(fenced!.id, "wb", 60_000); // taken over: token + 1
    const good = (await leases.acquire(fencedOk!.id, "wa", 60_000))!;
    const bumped = await store.instances.update({ ...stale!, status: "provisioning" });
    const stmts = counting(pool);
    const results = await Promise.all([
      outcome(store.instances.update({ ...ok1, status: "running" })),
      outcome(store.instances.update({ ...ok2!, status: "starting" })),
      outcome(store.instances.update({ ...stale!, status: "failed" })), // revision 1, stored 2
      outcome(
        store.instances.update({ ...fenced!, status: "running" }, { fence: { key: fenced!.id, token: lease.token } }),
      ),
      outcome(
        store.instances.update(
          { ...fencedOk!, status: "running" },
          { fence: { key: fencedOk!.id, token: good.token } },
        ),
      ),
      outcome(store.instances.update({ ...sampleInstance(), revision: 1 } as Instance)),
      // the same document twice with one revision: exactly one wins
      outcome(store.instances.update({ ...dupA!, status: "running" })),
      outcome(store.instances.update({ ...dupA!, status: "failed" })),
      outcome(store.instances.update({ ...dupB!, status: "running" })),
    ]);
    expect(results).toEqual(["ok", "ok", "CONFLICT", "FENCED", "ok", "NOT_FOUND", "ok", "CONFLICT", "ok"]);
    expect(stmts.count(/unnest/)).toBeGreaterThanOrEqual(1);
    // a statement failing as a whole (one of them takes a live name) fails only the guilty one
    const again = await Promise.all([
      outcome(store.instances.update({ ...renamed!, name: "taken" })),
      outcome(store.instances.update({ ...(await store.instances.get(ok2!.id))!, status: "running" })),
    ]);
    expect(again).toEqual(["ALREADY_EXISTS", "ok"]);
    // what was refused changed nothing; what was written is stored
    expect(await store.instances.get(stale!.id)).toEqual(bumped);
    expect((await store.instances.get(fenced!.id))!.revision).toBe(1);
    expect((await store.instances.get(renamed!.id))!.name).toBe("b-5");
    expect(await store.instances.get(ok1.id)).toMatchObject({ status: "running", revision: 2 });
    expect(await store.instances.get(fencedOk!.id)).toMatchObject({ status: "running", revision: 2 });
    expect(await store.instances.get(dupA!.id)).toMatchObject({ status: "running", revision: 2 });
    expect(await store.instances.get(taken.id)).toEqual(taken);
    await store.close();
    await pool.end();
  });

  it("concurrent creates and updates share one statement; a taken id or live name fails only its own create", async () => {
    const pool = testPool(db.url, 4);
    const store = postgresStore({ pool }, { schema: schemaName("batchins") });
    const a = await store.instances.create(sampleInstance({ name: "live" }));
    const b = await store.instances.create(sampleInstance());
    const stmts = counting(pool);
    const fresh = [sampleInstance(), sampleInstance(), sampleInstance()];
    const results = await Promise.all([
      ...fresh.map((d) => outcome(store.instances.create(d))),
      outcome(store.instances.update({ ...b, status: "running" })),
    ]);
    expect(results).toEqual(["ok", "ok", "ok", "ok"]);
    expect(stmts.count(/WITH ins AS/)).toBe(1);
    for (const d of fresh) expect(await store.instances.get(d.id)).toMatchObject({ id: d.id, revision: 1 });
    expect(await store.instances.get(b.id)).toMatchObject({ status: "running", revision: 2 });
    const clash = await Promise.all([
      store.instances.create(sampleInstance({ name: "live" })).catch((e: FleetError) => `${e.code}:${e.path}`),
      store.instances.create({ ...sampleInstance(), id: a.id }).catch((e: FleetError) => `${e.code}:${e.path}`),
      outcome(store.instances.create(sampleInstance({ name: "other" }))),
    ]);
    expect(clash).toEqual(["ALREADY_EXISTS:name", "ALREADY_EXISTS:id", "ok"]);
    expect(await store.instances.get(a.id)).toEqual(a);
    await store.close();
    await pool.end();
  });

  it("many concurrent gets, acquires and renewals cost a few statements and answer each call", async () => {
    const pool = testPool(db.url, 4);
    const store = postgresStore({ pool }, { schema: schemaName("batchread") });
    const docs: Instance[] = [];
    for (let i = 0; i < 50; i++) docs.push(await store.instances.create(sampleInstance()));
    const stmts = counting(pool);
    const ids = [...docs.map((d) => d.id), "absent", docs[0]!.id];
    const got = await Promise.all(ids.map((id) => store.instances.get(id)));
    expect(got).toEqual([...docs, undefined, docs[0]]);
    expect(stmts.count(/ANY/)).toBe(1);
    stmts.reset();
    // two holders race for every key: exactly one winner per key
    const keys = docs.map((d) => d.id);
    const claims = await Promise.all(
      keys.flatMap((k) => [k, k].map((_, i) => store.leases!.acquire(k, `w${i}`, 60_000))),
    );
    for (let i = 0; i < keys.length; i++) {
      const pair = [claims[2 * i], claims[2 * i + 1]].filter(Boolean);
      expect(pair).toHaveLength(1);
      expect(pair[0]).toMatchObject({ key: keys[i], token: 1 });
    }
    expect(stmts.count(/INSERT INTO/)).toBeLessThan(keys.length);
    stmts.reset();
    // each renewal returns only the leases its holder holds
    const renewals = await Promise.all(
      claims
        .filter((c) => c !== undefined)
        .map((c) => store.leases!.renew(c!.holder === "w0" ? "w1" : "w0", [{ key: c!.key, token: c!.token }], 60_000)),
    );
    expect(renewals.every((r) => r.length === 0)).toBe(true);
    const mine = await Promise.all(
      claims
        .filter((c) => c !== undefined)
        .map((c) => store.leases!.renew(c!.holder, [{ key: c!.key, token: 1 }], 60_000)),
    );
    expect(mine.every((r, i) => r.length === 1 && r[0]!.key === claims.filter(Boolean)[i]!.key)).toBe(true);
    expect(stmts.count(/UPDATE/)).toBeLessThan(2 * keys.length);
    await store.close();
    await pool.end();
  });

  it("watch on another handle sees every change of a batched write", async () => {
    const schema = schemaName("batchwatch");
    const watcher = postgresStore({ connectionString: db.url }, { schema });
    const writer = postgresStore({ connectionString: db.url }, { schema });
    await watcher.migrate();
    const seen: StoreChange<unknown>[] = [];
    const stop = watcher.instances.watch!((c) => seen.push(c));
    // the listener connects in the background: write until it hears one
    await until(async () => {
      const probe = await writer.instances.create(sampleInstance());
      await new Promise((r) => setTimeout(r, 50));
      return seen.some((c) => c.id === probe.id);
    });
    const docs = await Promise.all(Array.from({ length: 40 }, () => writer.instances.create(sampleInstance())));
    const updated = await Promise.all(docs.map((d) => writer.instances.update({ ...d, status: "running" })));
    expect(updated.every((d) => d.revision === 2)).toBe(true);
    await until(() => docs.every((d) => seen.filter((c) => c.id === d.id && c.type === "put").length === 2));
    stop();
    await watcher.close();
    await writer.close();
  });
});
