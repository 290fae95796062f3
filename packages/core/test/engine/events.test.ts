import { afterEach, describe, expect, it } from "vitest";
import { createEvent, memoryBus, memoryRuntime, memoryStore } from "../../src/index.js";
import { sampleInstance } from "../../src/testing/index.js";
import { dockerSpec, eventually, type Harness, harness } from "./harness.js";

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.fleet.close();
});

describe("events: duplicates, reordering, api + worker", () => {
  it("duplicate Created events never cause duplicate deploys", async () => {
    const bus = memoryBus();
    const h = await harness({ bus });
    open.push(h);
    const inst = await h.fleet.instances.create({ name: "dup", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "running");
    const created = h.events.find((e) => e.type === "MCPServerInstanceCreated")!;
    for (let i = 0; i < 5; i++) await bus.publish({ ...created });
    for (let i = 0; i < 5; i++) await bus.publish(createEvent("MCPServerInstanceCreated", inst.id, created.data));
    await eventually(async () => true);
    await h.fleet.idle();
    expect(h.runtime.deployCount(inst.id)).toBe(1);
    expect((await h.fleet.instances.get(inst.id)).status).toBe("running");
  });

  it("reordered events (Deleted before a late Created) converge to the store's state", async () => {
    const bus = memoryBus();
    const h = await harness({ bus });
    open.push(h);
    const inst = await h.fleet.instances.create({ name: "late", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "running");
    const created = h.events.find((e) => e.type === "MCPServerInstanceCreated")!;
    await h.fleet.instances.delete(inst.id);
    await eventually(async () => (await h.fleet.instances.list()).length === 0);
    await bus.publish(createEvent("MCPServerInstanceCreated", inst.id, created.data));
    await eventually(async () => true);
    await h.fleet.idle();
    expect(h.runtime.ids()).toEqual([]);
    expect(h.runtime.deployCount(inst.id)).toBe(1);
  });

  it("api + worker sharing one bus and store: the api creates, the worker converges, the api sees it", async () => {
    const bus = memoryBus();
    const store = memoryStore();
    const runtime = memoryRuntime();
    const api = await harness({ bus, store, runtime, role: "api" });
    const worker = await harness({ bus, store, runtime, role: "worker", workerId: "w1" });
    open.push(api, worker);
    const inst = await api.fleet.instances.create({ name: "split", json_spec: dockerSpec() });
    const running = await api.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
    expect(running.observed_by).toBe("w1");
    expect(api.events.some((e) => e.subject === inst.id && e.data.status === "running")).toBe(true);
    await api.fleet.instances.stop(inst.id);
    await api.fleet.instances.waitFor(inst.id, "stopped");
    expect(runtime.ids()).toEqual([]);
  });

  it("role api starts neither reconciler nor health monitor", async () => {
    const h = await harness({ role: "api" });
    open.push(h);
    const inst = await h.fleet.instances.create({ name: "idle", json_spec: dockerSpec() });
    await new Promise((r) => setTimeout(r, 50));
    expect((await h.fleet.instances.get(inst.id)).status).toBe("pending");
    expect(h.runtime.deployCount(inst.id)).toBe(0);
  });

  it("two workers share the load; each instance is deployed exactly once", async () => {
    const bus = memoryBus();
    const store = memoryStore();
    const rt1 = memoryRuntime();
    const rt2 = memoryRuntime();
    const api = await harness({ bus, store, role: "api" });
    const w1 = await harness({ bus, store, runtime: rt1, role: "worker", workerId: "w1" });
    const w2 = await harness({ bus, store, runtime: rt2, role: "worker", workerId: "w2" });
    open.push(api, w1, w2);
    const ids = [];
    for (let i = 0; i < 40; i++)
      ids.push((await api.fleet.instances.create({ name: `n${i}`, json_spec: dockerSpec() })).id);
    for (const id of ids) await api.fleet.instances.waitFor(id, "running", { timeoutMs: 5000 });
    for (const id of ids) expect(rt1.deployCount(id) + rt2.deployCount(id)).toBe(1);
    await w1.fleet.resync();
    await w2.fleet.resync();
    for (const id of ids) expect(rt1.deployCount(id) + rt2.deployCount(id)).toBe(1);
    expect(rt1.totalDeploys).toBeGreaterThan(0);
    expect(rt2.totalDeploys).toBeGreaterThan(0);
  });

  it("a dead worker's unfinished claim is taken over after claimTtlMs; a fresh one is left alone (store without leases)", async () => {
    const bus = memoryBus();
    const { leases: _leases, ...store } = memoryStore();
    const api = await harness({ bus, store, role: "api" });
    open.push(api);
    const stale = await api.fleet.instances.create({ name: "stale", json_spec: dockerSpec() });
    const fresh = await api.fleet.instances.create({ name: "fresh", json_spec: dockerSpec() });
    // worker w1 claimed both, then died: one claim is old, the other was made just now
    const old = new Date(Date.now() - 60_000).toISOString();
    for (const [id, at] of [
      [stale.id, old],
      [fresh.id, new Date().toISOString()],
    ] as const) {
      const cur = (await store.instances.get(id))!;
      await store.instances.update({ ...cur, status: "provisioning", observed_by: "w1", updated_at: at });
    }
    const w2 = await harness({ bus, store, role: "worker", workerId: "w2", reconciler: { claimTtlMs: 30_000 } });
    open.push(w2);
    await w2.fleet.resync();
    const took = await api.fleet.instances.waitFor(stale.id, "running");
    expect(took.observed_by).toBe("w2");
    expect((await api.fleet.instances.get(fresh.id)).status).toBe("provisioning");
    expect(w2.runtime.deployCount(fresh.id)).toBe(0);
  });

  it("leases: a dead worker's expired lease is taken over with a higher token; a live one is left alone", async () => {
    const bus = memoryBus();
    const store = memoryStore();
    const api = await harness({ bus, store, role: "api" });
    open.push(api);
    const stale = await api.fleet.instances.create({ name: "stale", json_spec: dockerSpec() });
    const fresh = await api.fleet.instances.create({ name: "fresh", json_spec: dockerSpec() });
    // worker w1 leased both and moved them to provisioning, then died: one lease expired, one is live
    const w1Leases = {
      [stale.id]: (await store.leases!.acquire(stale.id, "w1", 1))!,
      [fresh.id]: (await store.leases!.acquire(fresh.id, "w1", 600_000))!,
    };
    for (const id of [stale.id, fresh.id]) {
      const cur = (await store.instances.get(id))!;
      await store.instances.update(
        { ...cur, status: "provisioning", observed_by: "w1" },
        { fence: { key: id, token: w1Leases[id]!.token } },
      );
    }
    await waitUntil(async () => !(await store.leases!.list()).find((l) => l.key === stale.id)?.live);
    const w2 = await harness({ bus, store, role: "worker", workerId: "w2", reconciler: { leaseTtlMs: 30_000 } });
    open.push(w2);
    await w2.fleet.resync();
    const took = await api.fleet.instances.waitFor(stale.id, "running");
    expect(took.observed_by).toBe("w2");
    const leases = await store.leases!.list();
    expect(leases.find((l) => l.key === stale.id)).toMatchObject({
      holder: "w2",
      token: w1Leases[stale.id]!.token + 1,
    });
    expect(leases.find((l) => l.key === fresh.id)).toMatchObject({ holder: "w1", live: true });
    expect((await api.fleet.instances.get(fresh.id)).status).toBe("provisioning");
    expect(w2.runtime.deployCount(fresh.id)).toBe(0);
    // w1's late write with its old token is refused and changes nothing
    const cur = (await store.instances.get(stale.id))!;
    await expect(
      store.instances.update(
        { ...cur, status: "failed" },
        { fence: { key: stale.id, token: w1Leases[stale.id]!.token } },
      ),
    ).rejects.toMatchObject({ code: "FENCED" });
    expect((await store.instances.get(stale.id))?.revision).toBe(cur.revision);
  });
});

describe("resync paging", () => {
  it("a resync pass reads pages through query, never the whole collection through list()", async () => {
    const bus = memoryBus();
    const base = memoryStore();
    let pages = 0;
    let listing = false;
    const instances = {
      ...base.instances,
      list: async (o?: Parameters<typeof base.instances.list>[0]) => {
        if (listing) throw new Error("resync must not load every document");
        return base.instances.list(o);
      },
      query: async (...a: Parameters<NonNullable<typeof base.instances.query>>) => {
        if (listing) pages++;
        return base.instances.query!(...a);
      },
    };
    const store = { ...base, instances };
    const api = await harness({ bus, store, role: "api" });
    open.push(api);
    for (let i = 0; i < 1100; i++) await base.instances.create(sampleInstance({ name: `p-${i}` }));
    const w = await harness({ bus, store, role: "worker", workerId: "w1" });
    open.push(w);
    listing = true;
    await w.fleet.resync();
    listing = false;
    expect(pages).toBe(3); // 500 + 500 + 100
  });
});

async function waitUntil(pred: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
